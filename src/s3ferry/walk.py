"""Streaming listings of both sides, in key order, in bounded memory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from datetime import datetime
from itertools import islice
from pathlib import Path

from anyio import to_thread

from .client import S3Client
from .config import LIST_PAGE_SIZE, TRASH_ROOT, WALK_BATCH, Config
from .locations import S3Location
from .retry import with_retry
from .sync_plan import Item, KeyFilter


@dataclass(frozen=True, slots=True)
class LocalEntry:
    relative: str  # /-separated, as it becomes a key suffix
    path: Path
    size: int
    mtime_ns: int


@dataclass(frozen=True, slots=True)
class RemoteEntry:
    key: str
    size: int
    etag: str
    last_modified: object


def walk_local(root: Path) -> Iterator[LocalEntry]:
    """Regular files under ``root``, sorted by their /-joined relative path as UTF-8 bytes,
    the order ListObjectsV2 uses, so the two sides can be merge-joined. Holds one directory
    listing per level of depth at a time, never the whole tree."""
    yield from _walk(root, "")


async def iter_local(root: Path) -> AsyncIterator[LocalEntry]:
    """``walk_local`` from the event loop: the walk stats files, so it runs on a worker
    thread a batch at a time. Nothing when ``root`` is not a folder."""
    if not await to_thread.run_sync(root.is_dir):
        return
    entries = walk_local(root)
    while batch := await to_thread.run_sync(lambda: list(islice(entries, WALK_BATCH))):
        for entry in batch:
            yield entry


def _walk(directory: Path, prefix: str) -> Iterator[LocalEntry]:
    with os.scandir(directory) as scan:
        entries = sorted(scan, key=lambda e: _sort_key(e, prefix))
    for entry in entries:
        relative = prefix + entry.name
        if entry.is_dir(follow_symlinks=True):
            yield from _walk(Path(entry.path), relative + "/")
        elif entry.is_file(follow_symlinks=True):
            info = entry.stat(follow_symlinks=True)
            yield LocalEntry(relative, Path(entry.path), info.st_size, info.st_mtime_ns)


def _sort_key(entry: os.DirEntry[str], prefix: str) -> bytes:
    # A directory "a" sorts as "a/" so that "a/x" lands after "a-b" and "a.txt", as keys do.
    name = entry.name + "/" if entry.is_dir(follow_symlinks=True) else entry.name
    return (prefix + name).encode("utf-8", "surrogateescape")


async def list_remote(client: S3Client, config: Config, bucket: str, prefix: str) -> AsyncIterator[RemoteEntry]:
    """Objects under ``prefix`` (not "folder" markers), a page (1,000) at a time, in UTF-8 byte
    order. Each page
    request is retried on its own, so a fault mid-listing costs one page, not the listing."""
    token: dict[str, str] = {}
    while True:
        page = await with_retry(config, lambda: client.list_objects_v2(
            Bucket=bucket, Prefix=prefix, MaxKeys=LIST_PAGE_SIZE, **token))
        for item in page.get("Contents", []):
            if item["Key"].endswith("/") and int(item["Size"]) == 0:
                continue  # a "folder" marker object, not a file
            yield RemoteEntry(item["Key"], int(item["Size"]), item.get("ETag", ""), item.get("LastModified"))
        if not page.get("IsTruncated"):
            return
        token = {"ContinuationToken": page["NextContinuationToken"]}


# ---- both sides as sync_plan Items, keyed by the path below the root -------------------

async def local_items(root: Path, keys: KeyFilter) -> AsyncIterator[Item]:
    async for entry in iter_local(root):
        if keys.allows(entry.relative):
            yield Item(entry.relative, entry.size, entry.mtime_ns / 1e9)


async def remote_items(client: S3Client, config: Config, where: S3Location, keys: KeyFilter) -> AsyncIterator[Item]:
    """Objects under the prefix ``where``, less the sync trash and keys that name no file."""
    async for entry in list_remote(client, config, where.bucket, where.key):
        relative = entry.key[len(where.key):]
        if not relative or relative.startswith(TRASH_ROOT) or relative.endswith("/") or not keys.allows(relative):
            continue
        stamp = entry.last_modified.timestamp() if isinstance(entry.last_modified, datetime) else 0.0
        yield Item(relative, entry.size, stamp, entry.etag)
