"""The driver's progress for sharded runs (--cluster, --workers): one rich bar on a terminal,
fed per object (the workers' batched ticks) and per finished shard; off a terminal, a line
per finished shard with running totals (only failed shards with --quiet)."""

from __future__ import annotations

import sys
import threading
import time
from typing import Any, Self, TextIO

from s3ferry.cli.lines import human_size
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.shards import ShardResult


class ShardLines:
    """One line per finished shard attempt, with running totals."""

    def __init__(self, quiet: bool, err: TextIO | None = None):
        self.quiet = quiet
        self.err = err
        self.started = time.monotonic()

    def __call__(self, result: ShardResult, report: MigrationReport) -> None:
        if self.quiet and result.ok:
            return
        totals = report.totals()
        rate = totals["objects"] / max(time.monotonic() - self.started, 1e-9)
        print(f"shard {result.number} {_state(result)}: {result.objects} objects ({result.copied} copied), "
              f"{human_size(result.bytes)} | {len(report.finals())}/{len(report.records)} shards, "
              f"{totals['objects']} objects, {human_size(totals['bytes'])}, {rate:.0f} objects/s, "
              f"{totals['shards_retried']} retried", file=self.err or sys.stderr, flush=True)


def _state(result: ShardResult) -> str:
    return "done" if result.ok else f"attempt {result.attempt} failed: {result.cause or result.causes[:1]}"


class ShardProgress:
    """Both feeds of the driver's progress: ``tick`` (any thread) with (shard, attempt,
    objects, bytes) batches from the workers, and ``shard_done`` (the driver's loop) with
    each attempt's result, which supersedes that attempt's ticks, so a retried shard is not
    counted twice. Draws a bar only on a terminal, never with --quiet or --json."""

    def __init__(self, *, quiet: bool, json_lines: bool, err: TextIO | None = None):
        err = err or sys.stderr
        self.lines = ShardLines(quiet or json_lines, err)
        self._lock = threading.Lock()
        self._moving: dict[tuple[int, int], list[int]] = {}  # (shard, attempt) -> [objects, bytes]
        self._settled: set[tuple[int, int]] = set()  # attempts whose result is in
        self._total: int | None = None  # the items the shards take, once the driver has counted them
        # Finished shards, as of the last result: objects, bytes, shards finished, planned,
        # failing (a snapshot: the report itself is the driver loop's, not the tick thread's).
        self._done = (0, 0, 0, 0, 0)
        self._bar: Any = None  # a rich Progress, loaded only for a terminal (as cli/bar.py is)
        self._task = None
        self._started = time.monotonic()
        if not quiet and not json_lines and err.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn

            from s3ferry.cli.bar import AmountColumn, RateColumn

            self._bar = Progress(TextColumn("{task.description}"), BarColumn(), AmountColumn(), RateColumn(),
                                 console=Console(file=err), transient=True)
            self._task = self._bar.add_task("", total=None)
        self._live = False  # started with the first progress: a quick failure draws no bar

    @property
    def drawing(self) -> bool:
        return self._bar is not None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None and self._live:
            self._bar.stop()

    def tick(self, tick: tuple[int, int, int, int]) -> None:
        number, attempt, objects, nbytes = tick
        with self._lock:
            if (number, attempt) in self._settled:  # a last batch that came after its result
                return
            moving = self._moving.setdefault((number, attempt), [0, 0])
            moving[0] += objects
            moving[1] += nbytes
        self._refresh()

    def total(self, items: int, nbytes: int) -> None:
        """The driver's count of what the shards take: the bar then says N/M and fills."""
        with self._lock:
            self._total = items
        if self._bar is not None and self._task is not None:
            self._bar.update(self._task, total=nbytes)
        self._refresh()

    def shard_done(self, result: ShardResult, report: MigrationReport) -> None:
        totals, finals = report.totals(), report.finals()
        with self._lock:
            self._moving.pop((result.number, result.attempt), None)
            self._settled.add((result.number, result.attempt))
            self._done = (totals["objects"], totals["bytes"], len(finals), len(report.records),
                          sum(not r.ok for r in finals))
        if self._bar is None:
            self.lines(result, report)
        elif not result.ok:
            self._bar.console.print(f"shard {result.number} {_state(result)}", markup=False, highlight=False)
        self._refresh()

    def counts(self) -> tuple[int, int]:
        """Objects and bytes done so far: finished shards' totals plus running ones' ticks."""
        with self._lock:
            objects = self._done[0] + sum(m[0] for m in self._moving.values())
            nbytes = self._done[1] + sum(m[1] for m in self._moving.values())
        return objects, nbytes

    def _refresh(self) -> None:
        if self._bar is None or self._task is None:
            return
        objects, nbytes = self.counts()
        _, _, finished, planned, failing = self._done
        shards = f", {finished}/{planned} shards" if planned else ""
        shards += f", {failing} failed" if failing else ""
        rate = objects / max(time.monotonic() - self._started, 1e-9)
        done = f"{objects}" if self._total is None else f"{objects}/{self._total}"
        self._bar.update(self._task, completed=nbytes, description=f"{done} objects {rate:.0f}/s{shards}")
        with self._lock:
            start, self._live = not self._live, True
        if start:
            self._bar.start()
