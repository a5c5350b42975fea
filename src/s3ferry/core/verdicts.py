"""verify's verdicts, pure: one per (local, remote) pair, from the ETags computed for each
layout tried, and the exit code of a set of pairs. "No comparable hash" is a verdict
(unverifiable), never a pass."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from s3ferry.core.errors import EXIT_MISMATCH, EXIT_NOT_FOUND
from s3ferry.core.etag import ETag
from s3ferry.core.layout import part_text
from s3ferry.core.locations import S3Location
from s3ferry.core.results import Summary, TransferResult, Verdict

NOT_MD5 = "ETag is not an MD5 (SSE-KMS/SSE-C or non-AWS store)"


def decide_etag(etag: ETag | None, computed: Mapping[int | None, str], *, layout_known: bool = True,
                tried: str = "") -> tuple[Verdict, str]:
    """The verdict from the remote ETag and the local ETags computed for each layout tried
    (None: a single PUT). With an unknown layout, no candidate matching is not proof of a
    difference (the uploader may have used an unusual part size): unverifiable, not mismatch."""
    if etag is None:
        return Verdict.UNVERIFIABLE, NOT_MD5
    for part_size, local in computed.items():
        if local == str(etag):
            return Verdict.MATCH, part_text(part_size)
    if layout_known and computed:
        local = next(iter(computed.values()))
        return Verdict.MISMATCH, f"local ETag {local}, object has {etag}"
    why = f"no candidate part size gives {etag.parts} parts" if not computed else \
        "no candidate part size matched: the local file differs, or the object used an unusual part size"
    return Verdict.UNVERIFIABLE, f"unknown part layout for {etag}: {why}" + (f" ({tried})" if tried else "")


def verify_exit_code(summary: VerifySummary) -> int:
    if summary.mismatched or summary.unverified:
        return EXIT_MISMATCH
    if summary.missing:
        return EXIT_NOT_FOUND
    return summary.other_exit_code


@dataclass(slots=True)
class VerifySummary(Summary):
    """0 only when every pair matches; 3 any mismatch or unverifiable; else 4 any missing;
    else the code of the other failures (1 for a mix). Every pair lands in exactly one count:
    matched, mismatched, unverifiable (``unverified``), missing or unchecked."""

    matched: int = 0
    mismatched: int = 0
    missing: int = 0
    unchecked: int = 0  # pairs that could not be checked (access denied, a local I/O error, ...)
    other_exit_code: int = 0

    def add(self, result: TransferResult) -> None:
        if result.verdict is Verdict.MATCH:
            self.matched += 1
        elif result.verdict is Verdict.MISMATCH:
            self.mismatched += 1
        elif result.verdict in (Verdict.MISSING_LOCAL, Verdict.MISSING_REMOTE):
            self.missing += 1
        elif result.error is not None:
            self.unchecked += 1
            code = result.exit_code
            self.other_exit_code = code if self.other_exit_code in (0, code) else 1
        Summary.add(self, result)
        self.exit_code = verify_exit_code(self)

    @property
    def checked(self) -> int:
        return self.matched + self.mismatched + self.unverified + self.missing + self.unchecked


def verdict_result(local: Path, loc: S3Location, verdict: Verdict, detail: str, size: int,
                   etag: str | None, started: float) -> TransferResult:
    """A pair's result; anything but match/unverifiable carries an error line, so the CLI
    prints exactly one line for it."""
    error, code = None, 0
    if verdict is Verdict.MISMATCH:
        error, code = f"verify {local} -> {loc}: mismatch: {detail}", EXIT_MISMATCH
    elif verdict in (Verdict.MISSING_LOCAL, Verdict.MISSING_REMOTE):
        error, code = f"verify {local} -> {loc}: {verdict.value}: {detail}", EXIT_NOT_FOUND
    return TransferResult("verify", str(local), str(loc), size, etag, verdict, detail,
                          time.monotonic() - started, error, code)
