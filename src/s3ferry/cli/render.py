"""Where results go: a progress bar on a terminal's stderr, result lines and the summary on
stdout, JSON lines for CI, one line per failure on stderr. The words are lines.py's; no
transfer logic lives here."""

from __future__ import annotations

import json
import sys
from pathlib import PurePosixPath
from typing import TYPE_CHECKING, TextIO

from s3ferry.cli import lines
from s3ferry.cli.lines import Tally, human_size, result_dict, summary_dict  # noqa: F401 - human_size: cli/cluster.py imports it from here
from s3ferry.core.results import DRY_RUN, Summary, TransferResult, Verdict

if TYPE_CHECKING:
    from rich.progress import Progress, TaskID


class Reporter:
    """Implements the engine's Progress protocol for the CLI."""

    def __init__(self, *, json_lines: bool, quiet: bool, verbose: int = 0, out: TextIO = sys.stdout,
                 err: TextIO = sys.stderr):
        self.json_lines = json_lines
        self.quiet = quiet
        self.verbose = verbose
        self.out = out
        self.err = err
        self.tally = Tally()
        self._bar: Progress | None = None
        self._task: TaskID | None = None
        self._live = False
        self._started = 0  # files whose bytes began to move
        self._total = 0  # their bytes
        self._files_total: int | None = None  # known once a tree's listing is complete
        self._bytes_total: int | None = None  # likewise
        self._shown_total: int | None = None
        self._tree = False
        self._name = ""
        if not json_lines and not quiet and err.isatty():
            from s3ferry.cli.bar import progress_bar  # rich: only for a terminal (~30 ms of imports)

            self._bar = progress_bar(err)

    @property
    def wants_totals(self) -> bool:
        return self._bar is not None

    def __enter__(self) -> Reporter:
        return self

    def __exit__(self, *exc: object) -> None:
        if self._bar is not None and self._live:
            self._bar.stop()

    # ---- Progress protocol ----------------------------------------------------------------
    def started(self, source: str, size: int) -> None:
        self._started += 1
        self._total += size
        if self._started == 1:
            self._name = PurePosixPath(source).name or source
        self._refresh()

    def advanced(self, nbytes: int) -> None:
        if self._bar is not None and self._task is not None:
            self._bar.advance(self._task, nbytes)

    def totals(self, files: int | None, nbytes: int | None) -> None:
        """A tree: None while its listing is still counting, then its files and bytes."""
        self._tree = True
        self._files_total = files
        if nbytes is not None:
            self._bytes_total = nbytes
        self._refresh()

    def finished(self, result: TransferResult) -> None:
        self.tally.add(result)
        self._refresh()
        if self.json_lines:
            print(json.dumps(result_dict(result)), file=self.out, flush=True)
            if result.error:
                self._err(f"error: {result.error}")
            return
        if result.op == "verify" and result.verdict is not Verdict.SKIPPED:
            if not self.quiet or result.verdict is not Verdict.MATCH:
                self._say(lines.verdict_line(result))
        elif result.error:
            self._err(f"error: {result.error}")
        elif result.op.endswith(DRY_RUN):
            if not self.quiet:
                self._say(lines.plan_line(result))
        elif result.verdict is Verdict.UNVERIFIABLE and not self.verbose:
            self._err(f"warning: {result.op} {result.source} -> {result.destination}: unverifiable ({result.detail})")
        elif self.verbose and not self.quiet:
            self._say(lines.sync_line(result))

    def warn(self, text: str) -> None:
        """Something skipped on purpose (a symbolic link not followed): always shown."""
        self._err(f"warning: {text}")

    def kept(self, text: str) -> None:
        """What --keep-partial kept, and how to resume or abort it (always shown)."""
        self._err(f"kept: {text}")

    def summary(self, summary: Summary) -> None:
        if self.json_lines:
            print(json.dumps(summary_dict(summary)), file=self.out, flush=True)
        elif not self.quiet:
            print(lines.human_summary(summary, self.tally), file=self.out, flush=True)

    # ---- the bar ------------------------------------------------------------------------
    def _label(self) -> str:
        done = self.tally.results
        if self._files_total is not None and done <= self._files_total:
            return f"{done}/{self._files_total} files"
        if self._tree:
            return f"counting… {self._started} files" if self._files_total is None else f"{done} files"
        return self._name

    def _refresh(self) -> None:
        if self._bar is None or not (self._started or self._tree):
            return  # nothing is moving yet: no bar, so a quick failure draws none
        total = self._bytes_total
        if total is None and (self._files_total is not None or not self._tree):
            total = self._total  # a single file, or a tree whose files have all started
        if not self._live:  # the first frame already says what moves
            self._shown_total = total
            self._task = self._bar.add_task(self._label(), total=total)
            self._bar.start()
            self._live = True
            return
        assert self._task is not None
        # rich forgets its speed samples whenever the total changes: pass it only then.
        changed = {"total": total} if total != self._shown_total else {}
        self._shown_total = total
        self._bar.update(self._task, description=self._label(), **changed)

    # ---- lines --------------------------------------------------------------------------
    def _say(self, text: str) -> None:
        """A result line on stdout; above the bar when both share the terminal."""
        if self._live and self._bar is not None and self.out.isatty():
            self._bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=self.out, flush=True)

    def _err(self, text: str) -> None:
        if self._live and self._bar is not None:
            self._bar.console.print(text, markup=False, highlight=False, soft_wrap=True)
        else:
            print(text, file=self.err, flush=True)
