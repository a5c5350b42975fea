"""The words a person reads: one line per result (a verdict, a file done, a would-be action)
and the closing summary. Pure text, no I/O; render.py decides where each line goes."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from typing import Any

from s3ferry.core.results import DRY_RUN, Summary, TransferResult, Verdict
from s3ferry.core.verdicts import VerifySummary

# The widest verdict ("missing-remote"), so verify's columns line up like sha256sum -c's.
VERDICT_WIDTH = max(len(v.value) for v in Verdict)
VERIFY_COUNTS = ("checked", "matched", "mismatched", "missing", "unverifiable", "errors", "skipped")


@dataclass
class Tally:
    """What the renderer saw go by, for a summary that names things: the only result of a
    one-file transfer, and the would-be bytes and trash of a dry run."""

    results: int = 0
    last: TransferResult | None = None
    would_copy_bytes: int = 0
    to_trash: bool = False

    def add(self, result: TransferResult) -> None:
        self.results += 1
        self.last = result
        if result.op == "copy" + DRY_RUN:
            self.would_copy_bytes += result.size
        if result.op == "trash" or result.op == "delete" + DRY_RUN and result.destination:
            self.to_trash = True


def human_size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if abs(n) < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def plural(count: int, word: str) -> str:
    return f"{count} {word}" if count == 1 else f"{count} {word}s"


# ---- one line per result ------------------------------------------------------------------

def verdict_line(result: TransferResult) -> str:
    """`match           LOCAL  s3://b/k  (layout: 8 MiB × 38, from metadata)`"""
    return f"{result.verdict.value:<{VERDICT_WIDTH}}  {result.source}  {result.destination}  ({result.detail})"


def proof(result: TransferResult) -> str:
    if result.verdict is Verdict.MATCH:
        return f"verified (ETag {result.etag})" if result.etag else f"verified ({result.detail})"
    if result.verdict is Verdict.UNVERIFIABLE:
        return f"unverifiable ({result.detail})"
    return "not verified (--no-verify)"


def done_line(result: TransferResult) -> str:
    """`put SRC -> DST: 1000 B, verified (ETag …)`, a file of a tree with -v."""
    return f"{result.op} {result.source} -> {result.destination}: {human_size(result.size)}, {proof(result)}"


def plan_line(result: TransferResult) -> str:
    """A dry run's would-be action, with its size."""
    if result.op == "copy" + DRY_RUN:
        return f"would copy  {result.source} -> {result.destination}  ({human_size(result.size)}, {result.detail})"
    what = "would delete (to trash)" if result.destination else "would delete"
    return f"{what}  {result.source}  ({human_size(result.size)})"


def sync_line(result: TransferResult) -> str:
    """A sync's result with -v: unchanged, deleted, or a file copied."""
    if result.op == "skip":
        return f"unchanged  {result.source} -> {result.destination}  ({result.detail})"
    if result.op == "trash":
        return f"deleted (to trash)  {result.source} -> {result.destination}"
    if result.op == "delete":
        return f"deleted  {result.source}"
    return done_line(result)


# ---- the summary --------------------------------------------------------------------------

def timing(summary: Summary) -> str:
    return f"{human_size(summary.bytes)} in {summary.seconds:.2f} s ({summary.mib_per_second:.1f} MiB/s)"


def verify_summary(summary: VerifySummary) -> str:
    counts = [f"{summary.matched} matched"]
    for count, word in ((summary.mismatched, "mismatched"), (summary.missing, "missing"),
                        (summary.unverified, "unverifiable"), (summary.unchecked, "failed")):
        if count:
            counts.append(f"{count} {word}")
    return (f"verify: {summary.checked} checked: {', '.join(counts)} "
            f"({human_size(summary.bytes)} compared in {summary.seconds:.2f} s)")


def transfer_summary(summary: Summary, tally: Tally) -> str:
    only = tally.last
    if tally.results == 1 and only is not None and only.ok and only.op == summary.op:
        return f"{only.op} {only.source} -> {only.destination}: {timing(summary)}, {proof(only)}"
    total = summary.files + summary.failed
    files = plural(total, "file") if not summary.failed else f"{summary.files} of {plural(total, 'file')}"
    unproven = summary.files - summary.verified - summary.unverified
    counts = [f"{count} {word}" for count, word in (
        (summary.verified, "verified"), (summary.unverified, "unverifiable"),
        (unproven, "not verified (--no-verify)"), (summary.failed, "failed")) if count]
    return f"{summary.op}: {files}, {timing(summary)}" + (f": {', '.join(counts)}" if counts else "")


def sync_summary(summary: Summary, tally: Tally) -> str:
    c = summary.counters
    trash = " (to trash)" if tally.to_trash else ""
    if "would_copy" in c:
        parts = [f"would copy {c['would_copy']} ({human_size(tally.would_copy_bytes)})"]
        if c.get("would_delete"):
            parts.append(f"would delete {c['would_delete']}{trash}")
        parts.append(f"{c.get('skipped', 0)} unchanged")
        if summary.failed:
            parts.append(f"{summary.failed} failed")
        return f"sync (dry run): {', '.join(parts)}; nothing changed"
    parts = [f"{c.get('copied', 0)} copied ({human_size(summary.bytes)})", f"{c.get('skipped', 0)} unchanged"]
    if c.get("deleted"):
        parts.append(f"{c['deleted']} deleted{trash}")
    if summary.failed:
        parts.append(f"{summary.failed} failed")
    return (f"sync: {', '.join(parts)}; {c.get('hashed', 0)} hashed, "
            f"{summary.seconds:.2f} s ({summary.mib_per_second:.1f} MiB/s)")


def human_summary(summary: Summary, tally: Tally | None = None) -> str:
    tally = tally or Tally()
    if isinstance(summary, VerifySummary):
        return verify_summary(summary)
    if summary.op == "sync":
        return sync_summary(summary, tally)
    return transfer_summary(summary, tally)


# ---- JSON ---------------------------------------------------------------------------------

def result_dict(result: TransferResult) -> dict[str, Any]:
    data = dataclasses.asdict(result)
    data["verdict"] = result.verdict.value
    data["seconds"] = round(result.seconds, 3)
    data.pop("exit_code")
    return data


def summary_dict(summary: Summary) -> dict[str, Any]:
    data: dict[str, Any] = {
        "op": summary.op, "files": summary.files, "bytes": summary.bytes, "failed": summary.failed,
        "unverified": summary.unverified, "verified": summary.verified, "seconds": round(summary.seconds, 3),
        "mib_per_second": round(summary.mib_per_second, 1), "exit_code": summary.exit_code}
    if isinstance(summary, VerifySummary):
        data.update(checked=summary.checked, matched=summary.matched, mismatched=summary.mismatched,
                    missing=summary.missing, unverifiable=summary.unverified, errors=summary.unchecked, skipped=0)
    return {"summary": {**data, **summary.counters}}
