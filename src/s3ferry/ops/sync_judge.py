"""sync's content comparison: do a local file and an object of the same size hold the same
bytes? The hash cache answers for files already seen unchanged; verify's comparison otherwise."""

from __future__ import annotations

import os
from pathlib import Path

from anyio import to_thread

from s3ferry.core.etag import parse_etag
from s3ferry.core.locations import S3Location
from s3ferry.core.results import Verdict
from s3ferry.core.sync_plan import Item
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.context import Context
from s3ferry.ops.remote import RemoteObject
from s3ferry.ops.sync_guards import same_file, stat_or_none
from s3ferry.ops.verify import Verifier


class ContentJudge:
    """Do a local file and an object of the same size hold the same bytes? The hash cache
    answers for files already seen unchanged; otherwise verify's comparison does (layout from
    metadata, part 1 or guessing), and a match is remembered."""

    def __init__(self, ctx: Context, cache: HashCache | None):
        self.verifier = Verifier(ctx)
        self.cache = cache

    @property
    def hashed(self) -> int:
        return self.verifier.hashed

    async def same(self, path: Path, loc: S3Location, item: Item) -> bool | None:
        """True or False; None when there is no comparable hash."""
        etag = parse_etag(item.etag)
        if etag is None:
            return None
        info = await to_thread.run_sync(os.stat, path)
        if self.cache is not None and await to_thread.run_sync(self.cache.knows, path, info, str(etag)):
            return True
        verdict, _ = await self.verifier.compare(path, item.size, RemoteObject(loc, item.size, item.etag or "", None))
        if verdict is Verdict.MATCH:
            await self.remember_unchanged(path, str(etag), info)
        return {Verdict.MATCH: True, Verdict.MISMATCH: False}.get(verdict)

    async def remember_unchanged(self, path: Path, etag: str, before: os.stat_result | None) -> None:
        """Remember ``etag`` for ``path`` as it was stat'ed ``before`` its bytes were read (None:
        a file this sync just wrote), and only if it did not change since: a file edited during
        its upload must not be recorded with the old bytes' ETag (and skipped forever)."""
        if self.cache is None:
            return
        after = await stat_or_none(path)
        if after is None or before is not None and not same_file(before, after):
            return
        await to_thread.run_sync(self.cache.remember, path, before or after, etag)
