"""The local tree walk: regular files in key order, in bounded memory.

Symbolic links, as aws-cli users expect: a link to a file is followed (the file's bytes go
under the link's name) unless ``follow_links`` is off. A link to a folder is followed only
when it leads outside the tree and to a folder not walked yet: a link back into the tree
(``sub/up -> ..``, or an alias of a folder the walk reaches anyway) would only walk the same
files again under other names, and a loop forever. Destinations are walked without following
folder links at all (``follow_dirs=False``), so a sync never deletes through one.

A file that vanishes or a folder that cannot be read is reported as a problem entry (``problem``
set) and the walk goes on; skipped links are reported as warnings (``fatal`` False).
"""

from __future__ import annotations

import os
import stat as stat_module
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
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
    problem: str | None = None  # set: not a file to transfer, but something to tell the user
    fatal: bool = True  # a problem that fails the run (else a warning)


@dataclass
class _Walk:
    follow_files: bool
    follow_dirs: bool
    root_real: str = ""
    span: KeyRange = field(default_factory=KeyRange)  # a shard's range (default: everything)
    seen: set[tuple[int, int]] = field(default_factory=set)  # (st_dev, st_ino) of folders walked


def walk_local(root: Path, span: KeyRange | None = None, *, follow_links: bool = True,
               follow_dirs: bool | None = None) -> Iterator[LocalEntry]:
    """Regular files under ``root``, sorted by their /-joined relative path as UTF-8 bytes,
    the order ListObjectsV2 uses, so the two sides can be merge-joined. Holds one directory
    listing per level of depth at a time, never the whole tree. With a ``span`` (a shard's
    range) only the files in it, and folders wholly outside it are not entered."""
    walk = _Walk(follow_links, follow_links if follow_dirs is None else follow_dirs, os.path.realpath(root),
                 span or KeyRange())
    info = os.stat(root)
    walk.seen.add((info.st_dev, info.st_ino))
    yield from _walk(root, "", walk.span, walk)


async def iter_local(root: Path, span: KeyRange | None = None, *, follow_links: bool = True,
                     follow_dirs: bool | None = None) -> AsyncIterator[LocalEntry]:
    """``walk_local`` from the event loop: the walk stats files, so it runs on a worker
    thread a batch at a time. Nothing when ``root`` is not a folder."""
    if not await to_thread.run_sync(root.is_dir):
        return
    entries = walk_local(root, span, follow_links=follow_links, follow_dirs=follow_dirs)
    while batch := await to_thread.run_sync(lambda: list(islice(entries, WALK_BATCH))):
        for entry in batch:
            yield entry


def _walk(directory: Path, prefix: str, span: KeyRange, walk: _Walk) -> Iterator[LocalEntry]:
    try:
        with os.scandir(directory) as scan:
            entries = sorted(scan, key=lambda e: _sort_key(e, prefix))
    except OSError as exc:  # unreadable or vanished: this folder only, the walk goes on
        yield _problem(prefix.rstrip("/"), directory, f"cannot read folder: {exc.strerror or exc}")
        return
    for entry in entries:
        relative = prefix + entry.name
        if _is_dir(entry):
            folder = relative + "/"
            if walk.span.beyond(folder):
                return  # sorted: this folder and everything after it lie past the range
            if walk.span.passed_folder(folder):
                continue
        elif walk.span.beyond(relative):
            return
        elif walk.span.before(relative):
            continue
        yield from _entry(walk, entry, relative)


def _entry(walk: _Walk, entry: os.DirEntry[str], relative: str) -> Iterator[LocalEntry]:
    path = Path(entry.path)
    try:
        link = entry.is_symlink()
        info = entry.stat(follow_symlinks=True)
    except FileNotFoundError:
        if entry.is_symlink():
            yield _problem(relative, path, "broken symbolic link: skipped", fatal=False)
        else:
            yield _problem(relative, path, "vanished while the folder was read")
        return
    except OSError as exc:  # ELOOP (a link to itself), EACCES, ...
        yield _problem(relative, path, f"cannot read: {exc.strerror or exc}", fatal=not entry.is_symlink())
        return
    if stat_module.S_ISDIR(info.st_mode):
        why = _skip_dir(walk, path, info, link)
        if why:
            yield _problem(relative, path, why, fatal=False)
            return
        walk.seen.add((info.st_dev, info.st_ino))
        yield from _walk(path, relative + "/", walk.span, walk)
    elif stat_module.S_ISREG(info.st_mode) and (walk.follow_files or not link):
        yield LocalEntry(relative, path, info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns)


def _skip_dir(walk: _Walk, path: Path, info: os.stat_result, link: bool) -> str | None:
    """Why a folder is not walked (None: walk it)."""
    if not link:
        return None
    if not walk.follow_dirs:
        return "symbolic link to a folder: not followed"
    if (info.st_dev, info.st_ino) in walk.seen:
        return "symbolic link to a folder already walked (a loop or an alias): skipped"
    real = os.path.realpath(path)
    if real == walk.root_real or real.startswith(walk.root_real.rstrip(os.sep) + os.sep):
        return "symbolic link into the same tree (a loop or an alias): skipped"
    return None


def _problem(relative: str, path: Path, why: str, *, fatal: bool = True) -> LocalEntry:
    return LocalEntry(relative, path, -1, 0, problem=why, fatal=fatal)


def _is_dir(entry: os.DirEntry[str]) -> bool:
    try:
        return entry.is_dir(follow_symlinks=True)
    except OSError:
        return False


def _sort_key(entry: os.DirEntry[str], prefix: str) -> bytes:
    # A directory "a" sorts as "a/" so that "a/x" lands after "a-b" and "a.txt", as keys do.
    name = entry.name + "/" if _is_dir(entry) else entry.name
    return (prefix + name).encode("utf-8", "surrogateescape")
