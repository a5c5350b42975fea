"""sync --delete: the destination's extras, in bounded memory.

Extras are met while the two listings are merged, long before the copies end, and --max-delete
must be checked against their number before the first delete. So they are not held in a list
(which grows with the number of extras) but spooled to an anonymous temporary file, one JSON
string per line (keys may hold newlines), and only their count stays in memory. Once the
copies are done the count is checked, then the file is read back and the deletes run, many at
a time. Deleting after the copies, not as extras are met, also means an interrupted or failed
sync never leaves the destination with less than it had: only the copies happened.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO

import anyio
from anyio import to_thread

from s3ferry.core.errors import S3FerryError
from s3ferry.core.locations import S3Location
from s3ferry.core.results import Summary, TransferResult
from s3ferry.local import files as fileio
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import failed


class DeleteSpool:
    """The keys to delete, on disk. Memory: one buffered file and a counter."""

    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self.count = 0

    def add(self, key: str) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile("w+", encoding="utf-8", errors="surrogateescape")
        self._file.write(json.dumps(key) + "\n")
        self.count += 1

    def keys(self) -> Iterator[str]:
        if self._file is None:
            return
        self._file.seek(0)
        for line in self._file:
            yield json.loads(line)

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def run_deletes(ctx: Context, dest: Path | S3Location, spool: DeleteSpool, *, trash: str | None,
                      max_delete: int | None, dry_run: bool, summary: Summary) -> int:
    """Delete (or trash) every spooled key; returns how many went. Refuses all of them when
    there are more than ``max_delete``, or when any copy failed."""
    if not spool.count:
        return 0
    why = None
    if max_delete is not None and spool.count > max_delete:
        why = f"refusing to delete {spool.count} objects (more than --max-delete {max_delete})"
    elif summary.failed:  # as rclone does: a source that half-failed to list or copy is no guide
        why = f"not deleting {spool.count} extra objects because {summary.failed} transfer(s) failed; re-run to finish"
    if why is not None:
        error = S3FerryError(why)
        refused = TransferResult("delete", str(dest), "", error=str(error), exit_code=1)
        summary.add(refused)
        ctx.progress.finished(refused)
        return 0
    deleted = 0
    limit = anyio.Semaphore(ctx.config.max_concurrency)

    async def one(key: str) -> None:
        nonlocal deleted
        try:
            result = await _delete_one(ctx, dest, key, trash, dry_run)
        finally:
            limit.release()
        if result.ok and not dry_run:
            deleted += 1
        if not result.ok:
            summary.add(result)
        ctx.progress.finished(result)

    async with anyio.create_task_group() as tg:
        for key in spool.keys():
            await limit.acquire()
            tg.start_soon(one, key)
    return deleted


async def _delete_one(ctx: Context, dest: Path | S3Location, key: str, trash: str | None,
                      dry_run: bool) -> TransferResult:
    target = str(dest / key) if isinstance(dest, Path) else str(dest.as_prefix().child(key))
    if dry_run:
        return TransferResult("delete (dry run)", target, "", detail="only at the destination")
    try:
        if isinstance(dest, Path):
            await to_thread.run_sync(fileio.remove_quietly, dest / key)
            return TransferResult("delete", target, "")
        loc = dest.as_prefix().child(key)
        if trash is None:
            await ctx.store.delete(loc)
            return TransferResult("delete", target, "")
        trashed = dest.as_prefix().child(trash + key)
        await ctx.store.copy(loc, trashed)
        await ctx.store.delete(loc)
        return TransferResult("trash", target, str(trashed))
    except Exception as exc:  # noqa: BLE001
        return failed("delete", target, "", exc, time.monotonic())
