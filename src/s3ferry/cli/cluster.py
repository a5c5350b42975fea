"""`sync --cluster`: run a sharded migration, print a line per finished shard (the driver's
aggregate: objects, bytes, rate, retried and failed shards), the summary and where the
report went, and exit with sync's code."""

from __future__ import annotations

import functools
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import typer

from s3ferry.cli.render import human_size
from s3ferry.core.errors import EXIT_INTERRUPTED, EXIT_USAGE, S3FerryError
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.shards import ShardResult


def default_report_path() -> Path:
    return Path(f"s3ferry-migration-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json")


class ShardLines:
    """The driver's progress: one line per finished shard attempt, with running totals."""

    def __init__(self, quiet: bool):
        self.quiet = quiet
        self.started = time.monotonic()

    def __call__(self, result: ShardResult, report: MigrationReport) -> None:
        if self.quiet and result.ok:
            return
        totals = report.totals()
        rate = totals["objects"] / max(time.monotonic() - self.started, 1e-9)
        state = "done" if result.ok else f"attempt {result.attempt} failed: {result.cause or result.causes[:1]}"
        print(f"shard {result.number} {state}: {result.objects} objects ({result.copied} copied), "
              f"{human_size(result.bytes)} | {len(report.finals())}/{len(report.records)} shards, "
              f"{totals['objects']} objects, {human_size(totals['bytes'])}, {rate:.0f} objects/s, "
              f"{totals['shards_retried']} retried", file=sys.stderr, flush=True)


def refuse(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_USAGE)


def run_migration(api: Any, source: str, destination: str, *, report_path: Path | None, quiet: bool,
                  as_json: bool, **options: Any) -> None:
    path = report_path or default_report_path()
    call = functools.partial(api.migrate, source, destination, report_path=path, on_shard=ShardLines(quiet),
                             **options)
    try:
        report: MigrationReport = anyio.run(call, backend="asyncio",
                                            backend_options={"use_uvloop": sys.platform != "win32"})
    except KeyboardInterrupt:
        print(f"interrupted: workers stopped; report in {path}; re-run the same command to finish",
              file=sys.stderr)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except S3FerryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    for number in report.failed_shards:
        final = report.records[number].final
        causes = "; ".join(final.causes[:3]) or final.cause if final else "never ran"
        print(f"error: shard {number} {report.records[number].spec.label}: {causes}", file=sys.stderr)
    if as_json:
        print(json.dumps({"summary": report.totals(), "complete": report.complete, "verified": report.verified,
                          "exit_code": report.exit_code, "report": str(path)}))
    elif not quiet:
        print(report.summary_line())
        print(f"report: {path}")
    raise typer.Exit(report.exit_code)
