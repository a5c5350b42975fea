"""Sharded runs: `sync --cluster` and `put/get/cp -r/sync --workers N`. The driver shows one
progress bar (cli/shard_bar.py; a line per finished shard off a terminal), then failed shards,
the summary and where the report went, and exits with the one-process command's code."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio
import typer

from s3ferry.cli.running import LOOP
from s3ferry.cli.shard_bar import ShardLines, ShardProgress
from s3ferry.cli.signals import Signalled, until_signalled
from s3ferry.core.config import AUTO_WORKERS_MIN_ITEMS
from s3ferry.core.errors import EXIT_INTERRUPTED, EXIT_USAGE, S3FerryError, exit_for_signal
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.shards import WorkerCount

__all__ = ["ShardLines", "default_report_path", "refuse", "run_migration", "run_workers"]


def default_report_path() -> Path:
    return Path(f"s3ferry-migration-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json")


def refuse(message: str) -> None:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_USAGE)


def run_migration(api: Any, source: str, destination: str, *, report_path: Path | None, quiet: bool,
                  as_json: bool, **options: Any) -> None:
    """``--cluster``: the report always goes to a file (default ./s3ferry-migration-TIME.json)."""
    from s3ferry.scale.migrate import NotATree, TooSmall

    path = report_path or default_report_path()
    try:
        report = _drive(api, source, destination, report_path=path, quiet=quiet, as_json=as_json, **options)
    except (NotATree, TooSmall) as exc:
        refuse(str(exc))
    _finish(report, path, quiet=quiet, as_json=as_json)


def run_workers(api: Any, action: str, source: str, destination: str, workers: WorkerCount, *,
                one_process: Callable[[], None], quiet: bool, as_json: bool, report_path: Path | None = None,
                **options: Any) -> None:
    """``--workers``: ``action`` of a tree on local worker processes. With ``auto`` (or when
    there are not several cores), a source that is one file or object, or a tree of fewer than
    AUTO_WORKERS_MIN_ITEMS items, takes ``one_process`` instead (starting workers would cost
    more than they gain); an explicit count of two or more on one file is a usage error."""
    count = workers.count or (os.cpu_count() or 1)
    if count < 2:
        one_process()
        return
    min_items = AUTO_WORKERS_MIN_ITEMS if workers.auto else 0
    from s3ferry.scale.migrate import NotATree, TooSmall

    try:
        report = _drive(api, source, destination, report_path=report_path, quiet=quiet, as_json=as_json,
                        cluster=f"local:{count}", engine="processes", action=action, min_items=min_items,
                        **options)
    except (TooSmall, NotATree) as exc:
        if isinstance(exc, NotATree) and not workers.auto:
            refuse(str(exc))
        one_process()
        return
    _finish(report, report_path, quiet=quiet, as_json=as_json)


def _drive(api: Any, source: str, destination: str, *, report_path: Path | None, quiet: bool, as_json: bool,
           **options: Any) -> MigrationReport:
    from s3ferry.scale.migrate import NotATree, TooSmall

    progress = ShardProgress(quiet=quiet, json_lines=as_json)
    # The bar's total costs a second pass over the source: only when a bar is drawn.
    counting = {"on_total": progress.total} if progress.drawing else {}
    call = functools.partial(api.migrate, source, destination, report_path=report_path,
                             on_shard=progress.shard_done, ticks=progress.tick, **counting, **options)
    try:
        with progress:
            return anyio.run(until_signalled, call, **LOOP)
    except (KeyboardInterrupt, Signalled) as exc:
        where = f"; report in {report_path}" if report_path is not None else ""
        print(f"interrupted: workers stopped, their uploads aborted{where}; re-run the same command to finish",
              file=sys.stderr)
        raise typer.Exit(exit_for_signal(exc.signum) if isinstance(exc, Signalled) else EXIT_INTERRUPTED) from None
    except (TooSmall, NotATree):
        raise
    except S3FerryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None


def _finish(report: MigrationReport, path: Path | None, *, quiet: bool, as_json: bool) -> None:
    for number in report.failed_shards:
        final = report.records[number].final
        causes = "; ".join(final.causes[:3]) or final.cause if final else "never ran"
        print(f"error: shard {number} {report.records[number].spec.label}: {causes}", file=sys.stderr)
    if as_json:
        print(json.dumps({"summary": report.totals(), "complete": report.complete, "verified": report.verified,
                          "exit_code": report.exit_code, "report": None if path is None else str(path)}))
    elif not quiet:
        print(report.summary_line())
        if path is not None:
            print(f"report: {path}")
    raise typer.Exit(report.exit_code)
