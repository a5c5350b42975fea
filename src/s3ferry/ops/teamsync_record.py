"""The shared record under the prefix: ``.s3ferry-team/record.jsonl``, one JSON line per path
in path order: the version the team last synced there (size, ETag, who, when), or a
tombstone (``"deleted": true``) saying who deleted it and when. Readable with any pager.

A member merges its own changes in at the end of a run: read the record (and its ETag),
merge-join it with the changes this member pushed (kept in its local state until merged, so a
crash only delays them), and write it back with ``If-Match`` on the ETag read (``If-None-Match:
*`` for the first one). A 412 means another member merged first: read again and merge again.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Iterator
from typing import IO, Any

from anyio import to_thread

from s3ferry.core.errors import S3FerryError
from s3ferry.core.locations import S3Location
from s3ferry.core.twoway import STATE_DIR, unquote
from s3ferry.core.twoway_plan import order
from s3ferry.ops.context import Context
from s3ferry.ops.teamsync_lease import Lease, refused
from s3ferry.ops.teamsync_state import LocalState
from s3ferry.store.errors import is_missing

RECORD_KEY = STATE_DIR + "record.jsonl"
HEADER = {"s3ferry-team-record": 1}
MERGE_ATTEMPTS = 10


async def commit(ctx: Context, where: S3Location, state: LocalState, lease: Lease | None) -> bool:
    """Merge this member's pushed changes into the shared record; True when there were any."""
    if not state.has_pushed():
        return False
    key = where.child(RECORD_KEY)
    for _ in range(MERGE_ATTEMPTS):
        # Both versions stay on disk: the record grows with the tree, memory must not.
        with tempfile.TemporaryFile("w+b") as old, tempfile.TemporaryFile("w+b") as merged:
            etag = await _fetch(ctx, key, old)
            await to_thread.run_sync(_merge, old, state, merged)
            if lease is not None:
                lease.check()
            condition = {"IfMatch": etag} if etag else {"IfNoneMatch": "*"}
            try:
                await ctx.store.put_file(key, merged, ContentType="application/x-ndjson", **condition)
            except Exception as exc:
                if refused(exc) or is_missing(exc):
                    continue  # another member merged first: read theirs and merge again
                raise
        state.clear_pushed()
        return True
    raise S3FerryError(f"could not merge into the shared record in {MERGE_ATTEMPTS} attempts (busy prefix?); "
                       "the changes are kept and merged by the next run")


async def _fetch(ctx: Context, key: S3Location, out: IO[bytes]) -> str | None:
    try:
        reply = await ctx.store.read_into(key, out)
    except Exception as exc:
        if is_missing(exc):
            return None
        raise
    out.seek(0)
    return unquote(reply.get("ETag"))


def _merge(old: IO[bytes], state: LocalState, out: IO[bytes]) -> None:
    """Both streams are in path order; a pushed entry replaces the record's for its path."""
    out.write(_line(HEADER))
    theirs, ours = _entries(old), state.pushed()
    a, b = next(theirs, None), next(ours, None)
    while a is not None or b is not None:
        if b is None or (a is not None and order(a["path"]) < order(b["path"])):
            out.write(_line(a))
            a = next(theirs, None)
        else:
            if a is not None and a["path"] == b["path"]:
                a = next(theirs, None)
            out.write(_line(b))
            b = next(ours, None)
    out.flush()


def _line(entry: dict[str, Any]) -> bytes:
    return (json.dumps(entry, ensure_ascii=False) + "\n").encode("utf-8", "surrogateescape")


def _entries(old: IO[bytes]) -> Iterator[dict[str, Any]]:
    for raw in old:
        if raw.strip():
            entry = json.loads(raw)
            if "path" in entry:
                yield entry


def version(path: str, size: int, etag: str, user: str, when: float) -> dict[str, Any]:
    return {"path": path, "size": size, "etag": unquote(etag), "user": user, "time": round(when, 3)}


def tombstone(path: str, etag: str | None, user: str, when: float, moved_to: str) -> dict[str, Any]:
    return {"path": path, "deleted": True, "etag": unquote(etag), "user": user, "time": round(when, 3),
            "moved_to": moved_to}
