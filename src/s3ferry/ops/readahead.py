"""One listing of a tree get's prefix for both the progress bar's count and the transfer.

With a bar, the tree's totals are wanted early, so a count runs ahead of the transfer (which
lists only as fast as files finish). It used to be a second listing of the whole prefix: one
more ListObjectsV2 page, XML parse and entry per object (~1-2% of a small get's CPU). Now the
count keeps the first ``AHEAD`` entries it lists and the transfer takes them from it; only a
prefix larger than that is listed a second time, from the last kept key on, so memory stays
bounded (at most ``AHEAD`` entries held) and the totals still come as early as a listing can
give them."""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable

from s3ferry.core.locations import S3Location
from s3ferry.core.results import Progress, report_totals
from s3ferry.ops.listing import RemoteEntry, list_remote
from s3ferry.store.s3 import ObjectStore

# Entries kept for the transfer (~150 bytes each): ten listing pages.
AHEAD = 10_000


class Ahead:
    """The count's listing, its first ``limit`` entries handed on to ``entries()``."""

    def __init__(self, store: ObjectStore, where: S3Location, limit: int = AHEAD) -> None:
        self._store, self._where, self._limit = store, where, limit
        self._kept: deque[RemoteEntry] = deque()
        self._last_key: str | None = None  # the last entry kept
        self._ended = False  # the count's listing is over (or failed)
        self._beyond = False  # ... and it had more than ``limit`` entries
        self._error: BaseException | None = None
        self._wake: asyncio.Future[None] | None = None

    async def count(self, progress: Progress) -> None:
        """List the prefix to its end; tell ``progress`` the totals when it is known. A failed
        listing stops the count; the transfer lists the rest itself (and fails as it did)."""
        files = total = 0
        try:
            async for entry in list_remote(self._store, self._where):
                files, total = files + 1, total + entry.size
                if files <= self._limit:
                    self._kept.append(entry)
                    self._last_key = entry.key
                    self._signal()
                else:
                    self._beyond = True
        except Exception as exc:  # noqa: BLE001 - see above
            self._error = exc
            return
        finally:
            self._ended = True
            self._signal()
        report_totals(progress, files, total)

    async def entries(self) -> AsyncIterator[RemoteEntry]:
        """The prefix's entries in order, each once: the kept ones, then (for a prefix larger
        than ``limit``) a listing from the last kept key on."""
        while True:
            while self._kept:
                yield self._kept.popleft()
            if self._ended and not self._kept:
                break
            self._wake = asyncio.get_running_loop().create_future()
            await self._wake
        # Beyond the kept entries, or after a failed count: the transfer lists on by itself,
        # from the last kept key (its own failure is then the transfer's, as before).
        if self._beyond or self._error is not None:
            async for entry in list_remote(self._store, self._where, start_after=self._last_key):
                yield entry

    def _signal(self) -> None:
        wake, self._wake = self._wake, None
        if wake is not None and not wake.done():
            wake.set_result(None)


def counted_entries(store: ObjectStore, where: S3Location, limit: int = AHEAD
                    ) -> tuple[Callable[[Progress], Awaitable[None]], AsyncIterator[RemoteEntry]]:
    """(count, entries) for ``trees._counted``: run ``count(progress)`` beside a transfer
    that takes its entries from ``entries``."""
    ahead = Ahead(store, where, limit)
    return ahead.count, ahead.entries()
