"""ops/readahead.py: a tree get's one listing for the bar's count and the transfer."""

from __future__ import annotations

from typing import Any

import anyio

from s3ferry.core.locations import S3Location
from s3ferry.ops.readahead import counted_entries


class Listing:
    """list_objects over ``keys``; the first listing may fail after ``fail_after`` entries."""

    def __init__(self, count: int, fail_after: int | None = None) -> None:
        self.keys = [f"p/k{i:04d}" for i in range(count)]
        self.fail_after = fail_after
        self.calls: list[str | None] = []

    async def list_objects(self, where: S3Location, *, start_after: str | None = None, **_: Any):
        first = not self.calls
        self.calls.append(start_after)
        for n, key in enumerate(k for k in self.keys if start_after is None or k > start_after):
            if first and self.fail_after is not None and n == self.fail_after:
                raise OSError("connection reset")
            await anyio.sleep(0)
            yield {"Key": key, "Size": 10, "ETag": '"e"', "LastModified": None}


class Bar:
    def __init__(self) -> None:
        self.seen: list[tuple[int | None, int | None]] = []

    def totals(self, files: int | None, nbytes: int | None) -> None:
        self.seen.append((files, nbytes))


def transfer(store: Listing, limit: int) -> tuple[list[str], Bar]:
    bar = Bar()
    got: list[str] = []

    async def main() -> None:
        count, entries = counted_entries(store, S3Location("b", "p/"), limit)  # type: ignore[arg-type]
        async with anyio.create_task_group() as tg:
            tg.start_soon(count, bar)
            async for entry in entries:
                got.append(entry.key)
                await anyio.sleep(0)  # slower than the listing, as transfers are

    anyio.run(main)
    return got, bar


def test_a_tree_within_the_limit_is_listed_once():
    store = Listing(30)
    got, bar = transfer(store, limit=100)
    assert got == store.keys
    assert store.calls == [None]
    assert bar.seen == [(30, 300)]


def test_a_larger_tree_lists_the_rest_after_the_last_kept_key():
    store = Listing(30)
    got, bar = transfer(store, limit=10)
    assert got == store.keys  # each once, in order
    assert store.calls == [None, "p/k0009"]
    assert bar.seen == [(30, 300)]


def test_a_failed_count_leaves_the_rest_to_the_transfers_own_listing():
    store = Listing(30, fail_after=5)
    got, bar = transfer(store, limit=100)
    assert got == store.keys
    assert store.calls == [None, "p/k0004"]
    assert bar.seen == []  # no totals: the count stopped
