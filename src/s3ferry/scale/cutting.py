"""The driver's side of sharding: cut the source's key space into shards as it is listed,
without holding the listing (core.shards does the cutting; this module only lists)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from pathlib import Path

from anyio import to_thread

from s3ferry.core.config import KEYS_PER_SHARD, MAX_UNITS, UNIT_EXPANSIONS
from s3ferry.core.locations import S3Location
from s3ferry.core.manifests import manifest_keys, parse_manifest
from s3ferry.core.shards import (
    KeyRange,
    Migration,
    StreamCutter,
    cut_units,
    sort_keys,
    target_shards,
)
from s3ferry.ops.listing import local_items, remote_items
from s3ferry.store.s3 import ObjectStore

from .shard import shard_filter, side


async def cut_listing(store: ObjectStore, base: S3Location, workers: int) -> AsyncIterator[KeyRange]:
    """Shards of the prefix ``base``: its delimiter prefixes, grouped, when there are enough of
    them; otherwise ranges of KEYS_PER_SHARD keys cut from the streamed listing, each handed
    out as soon as its last key is listed."""
    target = target_shards(workers)

    async def level(below: str) -> list[str] | None:
        found: list[str] = []
        async for item in store.list_objects(S3Location(base.bucket, base.key + below), delimiter="/"):
            found.append((item.get("Prefix") or item["Key"])[len(base.key):])
            if len(found) > MAX_UNITS:
                return None
        return found

    units = await _units(level, target)
    if units is not None:
        for span in cut_units(units, target):
            yield span
        return
    cutter = StreamCutter(KEYS_PER_SHARD)
    async for item in store.list_objects(base):
        done = cutter.feed(item["Key"][len(base.key):])
        if done is not None:
            yield done
    yield cutter.close()


async def cut_tree(root: Path, workers: int) -> AsyncIterator[KeyRange]:
    """Shards of a local tree, by folder: its entries (folders as "name/"), opened while
    there are fewer than shards wanted. A top folder of more than MAX_UNITS entries is cut by
    its sorted names, about KEYS_PER_SHARD a shard (held once, as the walk itself does)."""
    target = target_shards(workers)

    async def level(below: str) -> list[str] | None:
        return await to_thread.run_sync(_entries, root / below, below)

    units = await _units(level, target)
    if units is None:  # a huge flat folder: cut its sorted names without opening anything
        units = sort_keys(await to_thread.run_sync(_entries, root, "", None) or [])
        target = max(target, len(units) // KEYS_PER_SHARD)
    for span in cut_units(units, target):
        yield span


def _entries(folder: Path, below: str, limit: int | None = MAX_UNITS) -> list[str] | None:
    found = []
    with os.scandir(folder) as scan:
        for entry in scan:
            found.append(below + entry.name + ("/" if entry.is_dir(follow_symlinks=True) else ""))
            if limit is not None and len(found) > limit:
                return None
    return found


async def _units(level: Callable[[str], Awaitable[list[str] | None]], target: int) -> list[str] | None:
    """The delimiter units (relative), with the folders opened one level deeper while there
    are fewer units than shards wanted; None when there are more than MAX_UNITS (a flat
    namespace: cut from the listing instead)."""
    units = await level("")
    for _ in range(UNIT_EXPANSIONS):
        if units is None or len(units) >= target or not any(u.endswith("/") for u in units):
            break
        deeper: list[str] = []
        for unit in units:
            inside = await level(unit) if unit.endswith("/") else [unit]
            if inside is None or len(deeper) + len(inside) > MAX_UNITS:
                return None
            deeper.extend(inside or [unit])
        units = deeper
    return None if units is None else sort_keys(units)


async def at_least(store: ObjectStore | None, source: S3Location | Path, count: int) -> bool:
    """Does the source tree hold ``count`` files or objects? Stops as soon as it knows: a
    listing page or a partial walk, to decide whether worker processes are worth starting."""
    if count <= 0:
        return True
    if isinstance(source, Path):
        return await to_thread.run_sync(_tree_has, source, count)
    assert store is not None
    seen = 0
    async for _ in store.list_objects(source):
        seen += 1
        if seen >= count:
            return True
    return False


def _tree_has(root: Path, count: int) -> bool:
    seen = 0
    for _, _, names in os.walk(root, followlinks=True):
        seen += len(names)
        if seen >= count:
            return True
    return False


async def count_items(store: ObjectStore, job: Migration) -> tuple[int, int]:
    """The items the shards of ``job`` take from its source (the same listing or walk, the same
    filter), counted with their bytes for the driver's bar; a second pass, as the one-process
    bar makes."""
    source = side(job.source)
    keys = shard_filter(job, source)
    if isinstance(source, S3Location):
        items = remote_items(store, source.as_prefix(), keys)
    else:
        items = local_items(source, keys, follow_links=job.config.follow_symlinks)
    count = total = 0
    async for item in items:
        count, total = count + 1, total + item.size
    return count, total


def cut_manifest(lines: Iterable[str], schema: str, base: S3Location) -> Iterable[tuple[str, ...]]:
    return manifest_keys(parse_manifest(lines, schema), base.bucket, base.key)


def read_lines(path: Path) -> Iterable[str]:
    with open(path, newline="", encoding="utf-8") as handle:
        yield from handle
