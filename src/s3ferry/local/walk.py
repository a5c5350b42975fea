"""The local tree walk: regular files in key order, in bounded memory."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path

from anyio import to_thread

from s3ferry.core.config import WALK_BATCH
from s3ferry.core.shards import KeyRange


@dataclass(frozen=True, slots=True)
class LocalEntry:
    relative: str  # /-separated, as it becomes a key suffix
    path: Path
    size: int
    mtime_ns: int
    # With size and mtime, what team-sync's baseline compares: any write moves ctime.
    ino: int = 0
    ctime_ns: int = 0


def walk_local(root: Path, span: KeyRange | None = None) -> Iterator[LocalEntry]:
    """Regular files under ``root``, sorted by their /-joined relative path as UTF-8 bytes,
    the order ListObjectsV2 uses, so the two sides can be merge-joined. Holds one directory
    listing per level of depth at a time, never the whole tree. With a ``span`` (a shard's
    range) only the files in it, and folders wholly outside it are not entered."""
    yield from _walk(root, "", span or KeyRange())


async def iter_local(root: Path, span: KeyRange | None = None) -> AsyncIterator[LocalEntry]:
    """``walk_local`` from the event loop: the walk stats files, so it runs on a worker
    thread a batch at a time. Nothing when ``root`` is not a folder."""
    if not await to_thread.run_sync(root.is_dir):
        return
    entries = walk_local(root, span)
    while batch := await to_thread.run_sync(lambda: list(islice(entries, WALK_BATCH))):
        for entry in batch:
            yield entry


def _walk(directory: Path, prefix: str, span: KeyRange) -> Iterator[LocalEntry]:
    with os.scandir(directory) as scan:
        entries = sorted(scan, key=lambda e: _sort_key(e, prefix))
    for entry in entries:
        relative = prefix + entry.name
        if entry.is_dir(follow_symlinks=True):
            folder = relative + "/"
            if span.beyond(folder):
                return  # sorted: this folder and everything after it lie past the range
            if not span.passed_folder(folder):
                yield from _walk(Path(entry.path), folder, span)
        elif span.beyond(relative):
            return
        elif span.before(relative):
            continue
        elif entry.is_file(follow_symlinks=True):
            info = entry.stat(follow_symlinks=True)
            yield LocalEntry(relative, Path(entry.path), info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


def _sort_key(entry: os.DirEntry[str], prefix: str) -> bytes:
    # A directory "a" sorts as "a/" so that "a/x" lands after "a-b" and "a.txt", as keys do.
    name = entry.name + "/" if entry.is_dir(follow_symlinks=True) else entry.name
    return (prefix + name).encode("utf-8", "surrogateescape")
