"""The migration report, pure: every attempt at every shard, the totals, the exit code, and
the JSON written at the end (per shard: range, attempts with their causes, counts, bytes,
ETag checks, failures)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from s3ferry.core.errors import EXIT_FAILED
from s3ferry.core.shards import ShardResult, ShardSpec

REPORT_VERSION = 1


@dataclass
class ShardRecord:
    spec: ShardSpec
    attempts: list[ShardResult] = field(default_factory=list)

    @property
    def final(self) -> ShardResult | None:
        return self.attempts[-1] if self.attempts else None

    @property
    def retried(self) -> bool:
        return len(self.attempts) > 1

    def as_dict(self) -> dict[str, Any]:
        final = self.final
        entry: dict[str, Any] = {"shard": self.spec.number, "range": _span(self.spec),
                                 "status": "pending" if final is None else "done" if final.ok else "failed",
                                 "attempts": len(self.attempts)}
        if final is not None:
            entry.update(worker=final.worker, objects=final.objects, copied=final.copied, skipped=final.skipped,
                         deleted=final.deleted, failed=final.failed, bytes=final.bytes,
                         etag_match=final.etag_match, unverifiable=final.unverifiable, hashed=final.hashed,
                         verified=final.verified,
                         seconds=round(final.seconds, 3), failures=list(final.causes))
        entry["retries"] = [{"attempt": r.attempt, "worker": r.worker, "cause": r.cause or _objects_failed(r)}
                            for r in self.attempts[:-1]]
        return entry


def _objects_failed(result: ShardResult) -> str:
    return f"{result.failed} object(s) failed: " + "; ".join(result.causes[:3])


def _span(spec: ShardSpec) -> dict[str, Any]:
    if spec.keys is not None:
        return {"manifest_keys": len(spec.keys), "first": spec.keys[0] if spec.keys else None,
                "last": spec.keys[-1] if spec.keys else None}
    return {"after": spec.span.after, "upto": spec.span.upto}


class MigrationReport:
    """Filled by the driver as attempts come in; holds one record per shard (not per object),
    so a migration of millions of objects keeps a report of thousands of lines."""

    def __init__(self, command: str, source: str, destination: str, cluster: str):
        self.command, self.source, self.destination, self.cluster = command, source, destination, cluster
        self.records: dict[int, ShardRecord] = {}
        self.seconds = 0.0
        self.error: str | None = None  # the driver itself failed (cutting, listing)

    def planned(self, spec: ShardSpec) -> None:
        self.records[spec.number] = ShardRecord(spec)

    def attempted(self, result: ShardResult) -> None:
        self.records[result.number].attempts.append(result)

    def finals(self) -> list[ShardResult]:
        return [r.final for r in self.records.values() if r.final is not None]

    @property
    def retried(self) -> list[int]:
        return sorted(n for n, r in self.records.items() if r.retried)

    @property
    def failed_shards(self) -> list[int]:
        return sorted(n for n, r in self.records.items() if r.final is None or not r.final.ok)

    @property
    def complete(self) -> bool:
        return self.error is None and not self.failed_shards

    @property
    def verified(self) -> bool:
        return self.complete and all(r.verified for r in self.finals())

    def totals(self) -> dict[str, int]:
        finals = self.finals()
        names = ("copied", "skipped", "deleted", "failed", "bytes", "etag_match", "unverifiable", "hashed")
        sums = {name: sum(getattr(r, name) for r in finals) for name in names}
        return {"shards": len(self.records), "shards_failed": len(self.failed_shards),
                "shards_retried": len(self.retried), "objects": sums["copied"] + sums["skipped"], **sums}

    @property
    def exit_code(self) -> int:
        """As sync's: 0 when all is done; one kind of failure keeps its code, a mix is 1."""
        if self.error is not None:
            return EXIT_FAILED
        codes = {r.final.exit_code or EXIT_FAILED for r in self.records.values()
                 if r.final is not None and not r.final.ok}
        if any(r.final is None for r in self.records.values()):
            codes.add(EXIT_FAILED)
        return 0 if not codes else codes.pop() if len(codes) == 1 else EXIT_FAILED

    def as_dict(self) -> dict[str, Any]:
        return {"version": REPORT_VERSION, "command": self.command, "source": self.source,
                "destination": self.destination, "cluster": self.cluster, "seconds": round(self.seconds, 3),
                "complete": self.complete, "verified": self.verified, "exit_code": self.exit_code,
                "error": self.error, "totals": self.totals(), "retried_shards": self.retried,
                "failed_shards": self.failed_shards,
                "shards": [self.records[n].as_dict() for n in sorted(self.records)]}

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=1, ensure_ascii=False)

    def summary_line(self) -> str:
        t = self.totals()
        state = "verified" if self.verified else "complete, not all verified" if self.complete else "INCOMPLETE"
        rate = t["objects"] / self.seconds if self.seconds > 0 else 0.0
        return (f"{self.command}: {state}: {t['objects']} objects ({t['copied']} copied, {t['skipped']} skipped, "
                f"{t['failed']} failed), {t['bytes']} bytes, {t['etag_match']} ETags equal, "
                f"{t['shards']} shards ({t['shards_retried']} retried, {t['shards_failed']} failed) "
                f"in {self.seconds:.1f} s, {rate:.0f} objects/s")
