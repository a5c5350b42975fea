"""Streaming listings of both sides as sync_plan Items, keyed by the path below the root,
in key order and in bounded memory, ready to be merge-joined."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from s3ferry.core.config import TRASH_ROOT
from s3ferry.core.locations import S3Location
from s3ferry.core.sync_plan import Item, KeyFilter
from s3ferry.local.walk import iter_local
from s3ferry.store.s3 import ObjectStore


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    key: str
    size: int
    etag: str
    last_modified: object


async def list_remote(store: ObjectStore, where: S3Location) -> AsyncIterator[RemoteEntry]:
    """Objects under the prefix ``where`` (not "folder" markers), in UTF-8 byte order."""
    async for item in store.list_objects(where):
        if item["Key"].endswith("/") and int(item["Size"]) == 0:
            continue  # a "folder" marker object, not a file
        yield RemoteEntry(item["Key"], int(item["Size"]), item.get("ETag", ""), item.get("LastModified"))


async def local_items(root: Path, keys: KeyFilter) -> AsyncIterator[Item]:
    async for entry in iter_local(root):
        if keys.allows(entry.relative):
            yield Item(entry.relative, entry.size, entry.mtime_ns / 1e9)


async def remote_items(store: ObjectStore, where: S3Location, keys: KeyFilter) -> AsyncIterator[Item]:
    """Objects under the prefix ``where``, less the sync trash and keys that name no file."""
    async for entry in list_remote(store, where):
        relative = entry.key[len(where.key):]
        if not relative or relative.startswith(TRASH_ROOT) or relative.endswith("/") or not keys.allows(relative):
            continue
        stamp = entry.last_modified.timestamp() if isinstance(entry.last_modified, datetime) else 0.0
        yield Item(relative, entry.size, stamp, entry.etag)
