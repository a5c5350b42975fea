"""Blocking local-file helpers, each meant to run on a worker thread (anyio.to_thread).

Reading and hashing happen in the same hop: hashlib releases the GIL on large buffers, so
parts hash in parallel on all cores while the event loop keeps the network busy.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
from collections.abc import Sequence
from pathlib import Path

from .config import HASH_BLOCK
from .errors import LocalIOError, NotFoundError, SourceChangedError


def open_for_upload(path: Path) -> tuple[int, os.stat_result]:
    """Open a regular file for reading; clear errors for the usual mistakes."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise NotFoundError(f"no such file: {path}") from None
    if stat_module.S_ISDIR(info.st_mode):
        raise LocalIOError(f"is a directory (put it with a trailing / destination prefix): {path}")
    if not stat_module.S_ISREG(info.st_mode):
        raise LocalIOError(f"not a regular file: {path}")
    fd = os.open(path, os.O_RDONLY)  # PermissionError is mapped by the caller
    return fd, info


def read_and_hash(fd: int, offset: int, size: int) -> tuple[memoryview, bytes]:
    """One part's bytes and MD5. A memoryview, because every other type costs a full copy of
    the part on its way to the socket: botocore turns bytes into a BytesIO whose getbuffer()
    aiohttp copies, and aiohttp slices bytearrays (a copy) where a memoryview slice is free."""
    data = os.pread(fd, size, offset)
    if len(data) != size:
        raise SourceChangedError(f"file shrank while reading (wanted {size} bytes at {offset}, got {len(data)})")
    return memoryview(data), hashlib.md5(data).digest()


def hash_range(fd: int, offset: int, size: int) -> bytes:
    """MD5 of ``size`` bytes at ``offset``, read a block at a time (resume re-hashes parts it
    does not send, so it need not hold them)."""
    md5 = hashlib.md5()
    end = offset + size
    while offset < end:
        block = os.pread(fd, min(HASH_BLOCK, end - offset), offset)
        if not block:
            raise SourceChangedError(f"file shrank while reading (wanted {size} bytes at {end - size})")
        md5.update(block)
        offset += len(block)
    return md5.digest()


def check_unchanged(fd: int, before: os.stat_result) -> None:
    after = os.fstat(fd)
    if (after.st_size, after.st_mtime_ns) != (before.st_size, before.st_mtime_ns):
        raise SourceChangedError("file changed while it was being uploaded")


def write_and_hash(fd: int, offset: int, chunks: Sequence[bytes], md5: "hashlib._Hash") -> None:
    for chunk in chunks:
        md5.update(chunk)
    total = sum(len(c) for c in chunks)
    written = os.pwritev(fd, chunks, offset)
    while written < total:  # short writes are legal; finish them
        rest = b"".join(chunks)[written:]
        written += os.pwrite(fd, rest, offset + written)


def preallocate(fd: int, size: int) -> None:
    """Reserve the space up front, so a full disk fails before any byte is fetched."""
    if size == 0:
        return
    try:
        os.posix_fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (95,):  # EOPNOTSUPP: the filesystem can't; fall back to a sparse file
            raise
        os.ftruncate(fd, size)


def hash_file(path: Path, block: int = 8 * 1024 * 1024) -> bytes:
    md5 = hashlib.md5()
    with open(path, "rb") as handle:
        while chunk := handle.read(block):
            md5.update(chunk)
    return md5.digest()


def remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
