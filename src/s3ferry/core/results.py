"""Typed results the operations return and the progress events they emit."""

from __future__ import annotations

import enum
import logging
from dataclasses import dataclass, field
from typing import Protocol

log = logging.getLogger("s3ferry")


class Verdict(str, enum.Enum):
    """What verification concluded. ``unverifiable`` is never a pass (rclone's hash.None)."""

    MATCH = "match"
    MISMATCH = "mismatch"
    MISSING_LOCAL = "missing-local"
    MISSING_REMOTE = "missing-remote"
    UNVERIFIABLE = "unverifiable"
    SKIPPED = "skipped"  # --no-verify


@dataclass(frozen=True, slots=True)
class TransferResult:
    op: str  # "put", "get", ...
    source: str
    destination: str
    size: int = 0
    etag: str | None = None
    verdict: Verdict = Verdict.SKIPPED
    detail: str = ""  # why unverifiable, the layout used, ...
    seconds: float = 0.0
    error: str | None = None
    exit_code: int = 0

    @property
    def ok(self) -> bool:
        return self.error is None

    @property
    def moves_bytes(self) -> bool:
        """False for a sync's unchanged file and for a dry run's would-be actions: their size
        is reported, but no byte moved."""
        return self.op != "skip" and not self.op.endswith(DRY_RUN)


# The op suffix of a dry run's would-be actions ("copy (dry run)", "delete (dry run)").
DRY_RUN = " (dry run)"


@dataclass(slots=True)
class Summary:
    """Counters only, so a run over millions of files keeps constant memory."""

    op: str
    files: int = 0
    bytes: int = 0
    failed: int = 0
    unverified: int = 0
    verified: int = 0  # done and proven equal (verdict match)
    seconds: float = 0.0
    exit_code: int = 0
    errors: list[str] = field(default_factory=list)  # the first few, for the API caller
    counters: dict[str, int] = field(default_factory=dict)  # operation-specific, e.g. sync's copied/skipped

    MAX_ERRORS_KEPT = 100

    def add(self, result: TransferResult) -> None:
        if result.ok:
            self.files += 1
            if result.moves_bytes:
                self.bytes += result.size
            if result.verdict is Verdict.UNVERIFIABLE:
                self.unverified += 1
            elif result.verdict is Verdict.MATCH:
                self.verified += 1
            return
        self.failed += 1
        # One failure kind keeps its specific code; a mix of kinds is a plain failure.
        self.exit_code = result.exit_code if self.exit_code in (0, result.exit_code) else 1
        if len(self.errors) < self.MAX_ERRORS_KEPT:
            self.errors.append(result.error or "")

    @property
    def ok(self) -> bool:
        return self.failed == 0

    @property
    def mib_per_second(self) -> float:
        return self.bytes / 1048576 / self.seconds if self.seconds > 0 else 0.0


class Progress(Protocol):
    """Receives events from the engine. Called on the event loop: keep it cheap."""

    def started(self, source: str, size: int) -> None: ...
    def advanced(self, nbytes: int) -> None: ...
    def finished(self, result: TransferResult) -> None: ...


def report_totals(progress: Progress, files: int | None, nbytes: int | None) -> None:
    """Tell a progress display how much a tree holds, once its listing is complete (None:
    still counting). Optional, like ``kept``: a progress object without ``totals`` ignores it."""
    totals = getattr(progress, "totals", None)
    if totals is not None:
        totals(files, nbytes)


def wants_totals(progress: Progress) -> bool:
    """Does this progress object show totals (a bar), so that counting a tree ahead is worth
    a second pass over its listing?"""
    return bool(getattr(progress, "wants_totals", False))


def report_kept(progress: Progress, text: str) -> None:
    """Tell the user what was kept for a resume (``--keep-partial``). A progress object may
    have an optional ``kept(text)`` method; otherwise the warning goes to the log."""
    kept = getattr(progress, "kept", None)
    if kept is not None:
        kept(text)
    else:
        log.warning("kept: %s", text)


class NoProgress:
    def started(self, source: str, size: int) -> None:
        pass

    def advanced(self, nbytes: int) -> None:
        pass

    def finished(self, result: TransferResult) -> None:
        pass
