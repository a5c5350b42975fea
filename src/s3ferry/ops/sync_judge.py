"""sync's content comparison: do a local file and an object of the same size hold the same
bytes? The hash cache answers for files already seen unchanged; verify's comparison otherwise."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path

from anyio import to_thread

from s3ferry.core.config import CACHE_BATCH
from s3ferry.core.etag import parse_etag
from s3ferry.core.locations import S3Location
from s3ferry.core.results import Verdict
from s3ferry.core.sync_plan import Action, Item, Step
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
        info, known = await to_thread.run_sync(self._lookup, path, str(etag))  # one hop for both
        if known:
            return True
        verdict, _ = await self.verifier.compare(path, item.size, RemoteObject(loc, item.size, item.etag or "", None))
        if verdict is Verdict.MATCH:
            await self.remember_unchanged(path, str(etag), info)
        return {Verdict.MATCH: True, Verdict.MISMATCH: False}.get(verdict)

    def _lookup(self, path: Path, etag: str) -> tuple[os.stat_result, bool]:
        info = os.stat(path)
        return info, self.cache is not None and self.cache.knows(path, info, etag)

    async def known(self, pairs: list[tuple[Path, str | None]]) -> list[bool]:
        """For each (file, object ETag): does the hash cache vouch that the file, as it is
        now, holds those bytes? All stat'ed and looked up in one worker-thread hop: a no-op
        sync is nothing but these lookups, and a hop per file cost more than the lookup."""
        if self.cache is None:
            return [False] * len(pairs)
        return await to_thread.run_sync(self._known_all, pairs)

    def _known_all(self, pairs: list[tuple[Path, str | None]]) -> list[bool]:
        found = []
        for path, raw in pairs:
            etag = parse_etag(raw)
            try:
                found.append(etag is not None and self.cache.knows(path, os.stat(path), str(etag)))  # type: ignore[union-attr]
            except OSError:  # gone or unreadable: the ordinary comparison reports it
                found.append(False)
        return found

    async def remember_unchanged(self, path: Path, etag: str, before: os.stat_result | None) -> None:
        """Remember ``etag`` for ``path`` as it was stat'ed ``before`` its bytes were read (None:
        a file this sync just wrote), and only if it did not change since: a file edited during
        its upload must not be recorded with the old bytes' ETag (and skipped forever)."""
        if self.cache is None:
            return
        after = await stat_or_none(path)
        if after is None or before is not None and not same_file(before, after):
            return
        self.cache.remember(path, before or after, etag)  # only queues the row: no hop needed


# What a COMPARE step compares: the local file and the object's ETag (None: not batched).
Sides = Callable[[Step], tuple[Path, str | None] | None]


async def vouched(judge: ContentJudge, steps: AsyncIterator[Step], sides: Sides,
                  batch: int = CACHE_BATCH) -> AsyncIterator[tuple[Step, bool]]:
    """``steps`` with, for each, whether the hash cache already vouches for its file (only
    COMPARE steps can be). Compare steps wait in a batch of up to ``batch`` and are looked up
    together in one hop (``ContentJudge.known``); the others pass straight through."""
    waiting: list[tuple[Step, tuple[Path, str | None]]] = []
    async for step in steps:
        pair = sides(step) if step.action is Action.COMPARE and judge.cache is not None else None
        if pair is None:
            yield step, False
            continue
        waiting.append((step, pair))
        if len(waiting) >= batch:
            for item in await _looked_up(judge, waiting):
                yield item
            waiting = []
    for item in await _looked_up(judge, waiting):
        yield item


async def _looked_up(judge: ContentJudge, waiting: list[tuple[Step, tuple[Path, str | None]]]
                     ) -> list[tuple[Step, bool]]:
    if not waiting:
        return []
    found = await judge.known([pair for _, pair in waiting])
    return [(step, hit) for (step, _), hit in zip(waiting, found)]
