"""Streaming listings of both sides as sync_plan Items, keyed by the path below the root,
in key order and in bounded memory, ready to be merge-joined."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import anyio

from s3ferry.core.config import TRASH_ROOT
from s3ferry.core.locations import S3Location
from s3ferry.core.shards import KeyRange
from s3ferry.core.sync_plan import Item, KeyFilter
from s3ferry.local.walk import LocalEntry, iter_local
from s3ferry.store.s3 import ObjectStore


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    key: str
    size: int
    etag: str
    last_modified: object


async def list_remote(store: ObjectStore, where: S3Location, span: KeyRange | None = None,
                      markers: bool = False, start_after: str | None = None) -> AsyncIterator[RemoteEntry]:
    """Objects under the prefix ``where`` (not "folder" markers, unless ``markers``: cp -r on
    shards copies them, as the one-process cp -r does), in UTF-8 byte order; with a
    ``span`` (a shard's key range, relative to ``where``) only those, listed from its start;
    with ``start_after`` (a whole key) those after it."""
    start = span.start_after(where.key) if span is not None else start_after
    async for item in store.list_objects(where, start_after=start):
        if span is not None and span.beyond(item["Key"][len(where.key):]):
            break
        if not markers and item["Key"].endswith("/") and int(item["Size"]) == 0:
            continue  # a "folder" marker object, not a file
        yield RemoteEntry(item["Key"], int(item["Size"]), item.get("ETag", ""), item.get("LastModified"))


async def local_items(root: Path, keys: KeyFilter, span: KeyRange | None = None, *, follow_links: bool = True,
                      follow_dirs: bool | None = None,
                      on_problem: Callable[[LocalEntry], None] | None = None) -> AsyncIterator[Item]:
    """The walk's files as Items; its problems (unreadable, vanished, links skipped) go to
    ``on_problem``, never into the merge as files."""
    async for entry in iter_local(root, span, follow_links=follow_links, follow_dirs=follow_dirs):
        if entry.problem is not None:
            if on_problem is not None and keys.allows(entry.relative):
                on_problem(entry)
            continue
        if keys.allows(entry.relative):
            yield Item(entry.relative, entry.size, entry.mtime_ns / 1e9)


async def remote_items(store: ObjectStore, where: S3Location, keys: KeyFilter,
                       span: KeyRange | None = None, skip: str | None = None) -> AsyncIterator[Item]:
    """Objects under the prefix ``where``, less the sync trash (the default one, and ``skip``,
    the folder this sync trashes into) and keys that name no file."""
    trash = (TRASH_ROOT,) if skip is None else (TRASH_ROOT, skip)
    async for entry in list_remote(store, where, span, markers=keys.every_key):
        relative = entry.key[len(where.key):]
        if _kept(relative, keys, trash):
            yield Item(relative, entry.size, _stamp(entry.last_modified), entry.etag)


def _kept(relative: str, keys: KeyFilter, trash: tuple[str, ...] = (TRASH_ROOT,)) -> bool:
    if keys.every_key:
        return bool(relative)
    return bool(relative) and not relative.startswith(trash) and not relative.endswith("/") \
        and keys.allows(relative)


def _stamp(last_modified: object) -> float:
    return last_modified.timestamp() if isinstance(last_modified, datetime) else 0.0


async def named_items(store: ObjectStore, where: S3Location, names: Sequence[str], keys: KeyFilter,
                      batch: int = 32) -> AsyncIterator[Item]:
    """The objects ``names`` (sorted, relative to ``where``) that exist, as a listing would give
    them, one HEAD each, ``batch`` at a time: a manifest's keys instead of a listing."""
    for start in range(0, len(names), batch):
        chunk = [name for name in names[start:start + batch] if _kept(name, keys)]
        heads = await _heads(store, [where.child(name) for name in chunk])
        for name, found in zip(chunk, heads):
            if found is not None:
                yield Item(name, int(found["ContentLength"]), _stamp(found.get("LastModified")), found.get("ETag"))


async def _heads(store: ObjectStore, locs: list[S3Location]) -> list[dict | None]:
    """HEADs of ``locs`` at once (None for a missing object), in their order."""
    heads: list[dict | None] = [None] * len(locs)

    async def head(index: int) -> None:
        heads[index] = await store.head_or_none(locs[index])

    async with anyio.create_task_group() as group:
        for index in range(len(locs)):
            group.start_soon(head, index)
    return heads
