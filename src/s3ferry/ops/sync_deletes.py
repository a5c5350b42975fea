"""sync --delete: the destination's extras, in bounded memory.

Extras are met while the two listings are merged, long before the copies end, and --max-delete
must be checked against their number before the first delete. So they are not held in a list
(which grows with the number of extras) but spooled to an anonymous temporary file, one JSON
[key, size] per line (keys may hold newlines), and only their count stays in memory. Once the
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

from s3ferry.core.config import MAX_SINGLE_PUT
from s3ferry.core.deletes import DeleteLimit
from s3ferry.core.errors import S3FerryError
from s3ferry.core.locations import S3Location
from s3ferry.core.results import DRY_RUN, NoProgress, Summary, TransferResult
from s3ferry.local import files as fileio
from s3ferry.ops.context import Context
from s3ferry.ops.copy import Endpoints, copy_object
from s3ferry.ops.jobs import failed


class DeleteSpool:
    """The keys to delete, on disk. Memory: one buffered file and a counter."""

    def __init__(self) -> None:
        self._file: IO[str] | None = None
        self.count = 0

    def add(self, key: str, size: int = 0) -> None:
        if self._file is None:
            self._file = tempfile.TemporaryFile("w+", encoding="utf-8", errors="surrogateescape")
        self._file.write(json.dumps([key, size]) + "\n")
        self.count += 1

    def keys(self) -> Iterator[tuple[str, int]]:
        """(key, size) of each extra, in the order they were met."""
        if self._file is None:
            return
        self._file.seek(0)
        for line in self._file:
            key, size = json.loads(line)
            yield key, size

    def close(self) -> None:
        if self._file is not None:
            self._file.close()
            self._file = None


async def run_deletes(ctx: Context, dest: Path | S3Location, spool: DeleteSpool, *, trash: str | None,
                      max_delete: DeleteLimit | int | None, dry_run: bool, summary: Summary,
                      existing: int = 0) -> int:
    """Delete (or trash) every spooled key; returns how many went (with ``dry_run``: how many
    would go). Refuses all of them when there are more than ``max_delete`` (a count, or a
    share of the ``existing`` entries), or when any copy failed."""
    if not spool.count:
        return 0
    limit = max_delete if isinstance(max_delete, DeleteLimit) else DeleteLimit.parse(max_delete)
    why = limit.refusal(spool.count, max(existing, spool.count))
    if why is None and summary.failed:  # as rclone does: a source that half-failed to list or copy is no guide
        why = f"not deleting {spool.count} extra objects because {summary.failed} transfer(s) failed; re-run to finish"
    if why is not None:
        error = S3FerryError(why)
        refused = TransferResult("delete", str(dest), "", error=str(error), exit_code=1)
        summary.add(refused)
        ctx.progress.finished(refused)
        return 0
    deleted = 0
    limit = anyio.Semaphore(ctx.config.max_concurrency)

    async def one(key: str, size: int) -> None:
        nonlocal deleted
        try:
            result = await _delete_one(ctx, dest, key, size, trash, dry_run)
        finally:
            limit.release()
        if result.ok:
            deleted += 1
        if not result.ok:
            summary.add(result)
        ctx.progress.finished(result)

    async with anyio.create_task_group() as tg:
        for key, size in spool.keys():
            await limit.acquire()
            tg.start_soon(one, key, size)
    return deleted


async def _delete_one(ctx: Context, dest: Path | S3Location, key: str, size: int, trash: str | None,
                      dry_run: bool) -> TransferResult:
    target = str(dest / key) if isinstance(dest, Path) else str(dest.as_prefix().child(key))
    trashed = dest.as_prefix().child(trash + key) if trash is not None and isinstance(dest, S3Location) else None
    if dry_run:
        return TransferResult("delete" + DRY_RUN, target, str(trashed or ""), size, detail="only at the destination")
    try:
        if isinstance(dest, Path):
            await to_thread.run_sync(fileio.check_inside, dest, key)  # never through a folder link
            await to_thread.run_sync(fileio.remove_quietly, dest / key)
            return TransferResult("delete", target, "", size)
        loc = dest.as_prefix().child(key)
        if trashed is None:
            await ctx.store.delete(loc)
            return TransferResult("delete", target, "", size)
        await _copy_to_trash(ctx, loc, trashed, size)
        await ctx.store.delete(loc)
        return TransferResult("trash", target, str(trashed), size)
    except Exception as exc:  # noqa: BLE001
        return failed("delete", target, "", exc, time.monotonic())


async def _copy_to_trash(ctx: Context, loc: S3Location, trashed: S3Location, size: int) -> None:
    """CopyObject takes at most 5 GiB; a bigger extra goes to the trash in part copies, verified
    like any S3 -> S3 copy. Its progress is not a transfer of the sync's, so it is not shown."""
    if size <= MAX_SINGLE_PUT:
        await ctx.store.copy(loc, trashed)
        return
    quiet = Context(ctx.store, ctx.config, NoProgress(), ctx.slots, ctx.buffers, ctx.journal)
    result = await copy_object(Endpoints(quiet, quiet), loc, trashed)
    if not result.ok:
        raise S3FerryError(f"could not move to the trash: {result.error}")
