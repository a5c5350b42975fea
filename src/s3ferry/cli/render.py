"""How results reach a person or a pipeline: rich progress on a terminal, JSON lines for CI,
one line per failure on stderr. No transfer logic lives here."""

from __future__ import annotations

import dataclasses
import json
import sys
from typing import Any, TextIO

from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
    TransferSpeedColumn,
)

from s3ferry.core.results import Summary, TransferResult, Verdict


def result_dict(result: TransferResult) -> dict[str, Any]:
    data = dataclasses.asdict(result)
    data["verdict"] = result.verdict.value
    data["seconds"] = round(result.seconds, 3)
    data.pop("exit_code")
    return data


def summary_dict(summary: Summary) -> dict[str, Any]:
    return {"summary": {"op": summary.op, "files": summary.files, "bytes": summary.bytes,
                        "failed": summary.failed, "unverified": summary.unverified,
                        "seconds": round(summary.seconds, 3),
                        "mib_per_second": round(summary.mib_per_second, 1),
                        "exit_code": summary.exit_code, **summary.counters}}


class Reporter:
    """Implements the engine's Progress protocol for the CLI."""

    def __init__(self, *, json_lines: bool, quiet: bool, out: TextIO = sys.stdout, err: TextIO = sys.stderr):
        self.json_lines = json_lines
        self.quiet = quiet
        self.out = out
        self.err = err
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._total = 0
        self._done = 0
        if not json_lines and not quiet and err.isatty():
            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), DownloadColumn(binary_units=True),
                                 TransferSpeedColumn(), TimeRemainingColumn(),
                                 console=Console(file=err), transient=True)
            self._task = self._bar.add_task("starting", total=0)

    def __enter__(self) -> Reporter:
        if self._bar is not None:
            self._bar.start()
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None:
            self._bar.stop()

    # Progress protocol
    def started(self, source: str, size: int) -> None:
        self._total += size
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, total=self._total)

    def advanced(self, nbytes: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, nbytes)

    def finished(self, result: TransferResult) -> None:
        self._done += 1
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, description=f"{self._done} files")
        if self.json_lines:
            print(json.dumps(result_dict(result)), file=self.out, flush=True)
        if result.error:
            self._line(f"error: {result.error}")
        elif result.verdict is Verdict.UNVERIFIABLE:
            self._line(f"warning: {result.op} {result.source} -> {result.destination}: unverifiable ({result.detail})")

    def kept(self, text: str) -> None:
        """What --keep-partial kept, and how to resume or abort it (always shown)."""
        self._line(f"kept: {text}")

    def _line(self, text: str) -> None:
        if self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False)
        else:
            print(text, file=self.err, flush=True)

    def summary(self, summary: Summary) -> None:
        if self.json_lines:
            print(json.dumps(summary_dict(summary)), file=self.out, flush=True)
        elif not self.quiet:
            print(human_summary(summary), file=self.out, flush=True)


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def human_summary(summary: Summary) -> str:
    text = (f"{summary.op}: {summary.files} file(s), {human_size(summary.bytes)} in {summary.seconds:.2f} s "
            f"({summary.mib_per_second:.1f} MiB/s)")
    if summary.counters:
        text += ", " + ", ".join(f"{name} {value}" for name, value in summary.counters.items())
    if summary.unverified:
        text += f", {summary.unverified} unverifiable"
    if summary.failed:
        text += f", {summary.failed} FAILED"
    return text
