"""A get's side of resume: which ranges of a download are in its temporary file, mirrored
to the journal as they land, so a re-run fetches only the rest."""

from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from anyio import to_thread

from s3ferry.core.etag import normalize
from s3ferry.core.locations import S3Location
from s3ferry.core.parts import part_count
from s3ferry.core.resume import RangeSet
from s3ferry.ops.context import Context
from s3ferry.ops.resume.journal import GetRecord


async def ranges_for(ctx: Context, loc: S3Location, size: int, etag: str | None, dest: Path, tmp: Path,
                     range_size: int) -> RangeLog | None:
    """The journal of a download in several ranges, resumed when it describes this very
    object (same ETag, size and range size) and the temporary file is still there. Only a
    download whose result is verified resumes (an ETag, verification on): the final check
    covers the reused ranges."""
    count = part_count(size, range_size)
    if count < 2 or not etag or not ctx.config.verify:
        return None
    entry = ctx.journal.entry("get", loc.bucket, loc.key, dest)
    record = await to_thread.run_sync(ctx.journal.load, entry, GetRecord)
    fresh = GetRecord(loc.bucket, loc.key, size, normalize(etag), str(dest), range_size, RangeSet(count).encode())
    if record is not None and _identity(record) == _identity(fresh) \
            and await to_thread.run_sync(_size_of, tmp) == size:
        return RangeLog(ctx, entry, record, RangeSet.decode(record.done, count), resumed=True)
    # Written before the temporary file is truncated, so no entry ever vouches for lost bytes.
    log_ = RangeLog(ctx, entry, fresh, RangeSet(count), resumed=False)
    await log_.flush(changed=True)
    return log_


def _identity(record: GetRecord) -> dict[str, object]:
    return {name: getattr(record, name) for name in ("bucket", "key", "size", "etag", "destination", "range_size")}


def _size_of(path: Path) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return -1


class RangeLog:
    """Which ranges are in the temporary file, mirrored to the journal as they land. Writes
    coalesce: the task that finds the entry stale writes it until it is current, the others
    only mark it stale, so the journal never falls behind by more than one write."""

    def __init__(self, ctx: Context, entry: Path, record: GetRecord, done: RangeSet, resumed: bool):
        self.ctx, self.entry, self.record, self.done, self.resumed = ctx, entry, record, done, resumed
        self._stale = False
        self._writing = False

    async def add(self, number: int) -> None:
        self.done.add(number)
        await self.flush(changed=True)

    async def clear(self) -> None:
        self.done.clear()
        await self.flush(changed=True)

    async def flush(self, changed: bool = False) -> None:
        """Bring the journal up to date (``changed``: the set just changed)."""
        self._stale = self._stale or changed
        if self._writing:
            return
        self._writing = True
        try:
            while self._stale:
                self._stale = False
                record = dataclasses.replace(self.record, done=self.done.encode())
                await to_thread.run_sync(self.ctx.journal.save, self.entry, record)
        finally:
            self._writing = False

    async def forget(self) -> None:
        await to_thread.run_sync(self.ctx.journal.remove, self.entry)
