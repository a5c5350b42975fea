"""Blocking local-file helpers, each meant to run on a worker thread (anyio.to_thread).

Reading and hashing happen in the same hop, without the GIL, while the event loop keeps the
network busy; a part's or a range's read-and-hash or hash-and-write is a lane job
(local/lanes.py), so several of them hash side by side in MD5 lanes.
"""

from __future__ import annotations

import hashlib
import os
import stat as stat_module
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path

from s3ferry.core.errors import LocalIOError, NotFoundError, SourceChangedError, UnsafeKeyError
from s3ferry.core.md5lanes import Md5
from s3ferry.local import lanes
from s3ferry.local.buffers import PartBuffers
from s3ferry.local.lanes import LaneJob

# Bytes hashed then written while they are still in the CPU's cache: hashing a whole batch
# and then writing it reads every byte from RAM twice (measured 3.1 vs 2.1 CPU-s per GiB).
CACHE_PIECE = 128 * 1024
# At most this many pieces go in one pwritev (Linux takes up to IOV_MAX = 1024).
SMALL_WRITE_PIECES = 64



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
    data = pread_exact(fd, size, offset)
    return memoryview(data), hashlib.md5(data).digest()


def pread_exact(fd: int, size: int, offset: int) -> bytes:
    """``size`` bytes at ``offset``. One pread returns at most ~2 GiB on Linux (and any read
    may return less), so a single PUT of up to 5 GiB is read in as many calls as it takes."""
    data = os.pread(fd, size, offset)
    if len(data) == size:
        return data  # the common case: no join, no copy
    pieces, got = [data], len(data)
    while got < size:
        more = os.pread(fd, size - got, offset + got)
        if not more:
            raise SourceChangedError(f"file shrank while reading (wanted {size} bytes at {offset}, got {got})")
        pieces.append(more)
        got += len(more)
    return b"".join(pieces)



def read_part_job(buffers: PartBuffers, fd: int, offset: int, size: int) -> LaneJob[memoryview]:
    """A lane job (local/lanes.py) that reads a part into a buffer from ``buffers`` and yields it
    to be hashed, a cache-sized piece at a time: hashing each piece right after it lands saves
    reading the whole part back from RAM (benchmarks/profile.md). Returns the buffer."""
    buffer = buffers.take(size)
    try:
        yield from _read_exactly(fd, offset, size, lambda got: buffer[got:got + CACHE_PIECE])
        return buffer
    except BaseException:
        buffers.discard(buffer)  # the caller gives back the room it reserved
        raise


def read_into_part(buffers: PartBuffers, fd: int, offset: int, size: int) -> memoryview:
    """A part read into a buffer from ``buffers`` (its MD5 is known already: put_ahead.py),
    which the caller gives back once the part is sent."""
    buffer = buffers.take(size)
    try:
        for _ in _read_exactly(fd, offset, size, lambda got: buffer[got:]):
            pass  # one preadv for the whole part, mostly
        return buffer
    except BaseException:
        buffers.discard(buffer)  # the caller gives back the room it reserved
        raise


def hash_part_job(fd: int, offset: int, size: int, crc: Callable[..., int] | None) -> LaneJob[int | None]:
    """A lane job that yields ``size`` bytes at ``offset`` read into a small buffer of its own
    (no part buffer), and returns their CRC (with ``crc``: data, previous -> CRC)."""
    scratch = memoryview(bytearray(min(CACHE_PIECE, size) or 1))
    value = 0
    for piece in _read_exactly(fd, offset, size, lambda got: scratch[:min(len(scratch), size - got)]):
        yield piece
        if crc is not None:
            value = crc(piece, value)
    return value if crc is not None else None


def _read_exactly(fd: int, offset: int, size: int, into: Callable[[int], memoryview]) -> Iterator[memoryview]:
    """``size`` bytes at ``offset``, each read into ``into(got)`` (the view for the bytes from
    ``got`` on) and yielded as far as it was filled; the next read waits for the consumer."""
    got = 0
    while got < size:
        view = into(got)
        n = os.preadv(fd, [view], offset + got)
        if n == 0:
            raise SourceChangedError(f"file shrank while reading (wanted {size} bytes at {offset}, got {got})")
        yield view[:n]
        got += n


def read_whole(fd: int, before: os.stat_result) -> tuple[memoryview, bytes]:
    """A single-PUT file's bytes and MD5, and the check that it did not change meanwhile."""
    data, digest = read_and_hash(fd, 0, before.st_size)
    check_unchanged(fd, before)
    return data, digest


def hash_part(fd: int, offset: int, size: int, crc: Callable[..., int] | None = None) -> tuple[bytes, int | None]:
    """MD5 (and CRC) of ``size`` bytes at ``offset``, read through a small buffer (resume
    re-hashes parts it does not send, so it need not hold them): hash_part_job run alone."""
    md5 = Md5()
    value = lanes.drive_one(md5, hash_part_job(fd, offset, size, crc))
    return md5.digest(), value


def check_unchanged(fd: int, before: os.stat_result) -> None:
    """The file is as ``before`` said. The ctime too: a rewrite that puts the mtime back (cp -p,
    rsync -t, a build tool's stamp) still moves it, and would otherwise pass as unchanged, its
    bytes torn or, for a part hashed ahead (ops/put_ahead.py), unlike the digest sent with them.
    Replaced by rename (an editor's save) also counts: the bytes sent would be the old file's."""
    after = os.fstat(fd)
    if (after.st_size, after.st_mtime_ns, after.st_ctime_ns) != (before.st_size, before.st_mtime_ns,
                                                                 before.st_ctime_ns):
        raise SourceChangedError("file changed while it was being uploaded")


def write_and_hash(fd: int, offset: int, chunks: Sequence[bytes], md5: Md5) -> None:
    lanes.drive_one(md5, write_job(fd, offset, chunks))


def write_job(fd: int, offset: int, chunks: Sequence[bytes]) -> LaneJob[None]:
    """A lane job (local/lanes.py) that yields ``chunks`` to be hashed and writes each piece
    at ``offset`` onwards right after, while it is still in the CPU's cache."""
    if 1 < len(chunks) <= SMALL_WRITE_PIECES and sum(map(len, chunks)) <= CACHE_PIECE:
        # A small body as the socket gave it (2-3 pieces for 64 KiB): all of it stays in the
        # cache, so hash it, then one pwritev instead of a pwrite per piece.
        yield list(chunks)
        _writev_all(fd, chunks, offset)
        return
    for chunk in chunks:
        view = memoryview(chunk)
        for start in range(0, len(view), CACHE_PIECE):
            piece = view[start:start + CACHE_PIECE]
            yield piece
            _write_all(fd, piece, offset)
            offset += len(piece)


def _write_all(fd: int, data: memoryview, offset: int) -> None:
    written = os.pwrite(fd, data, offset)
    while written < len(data):  # short writes are legal; finish them
        written += os.pwrite(fd, data[written:], offset + written)


def _writev_all(fd: int, chunks: Sequence[bytes], offset: int) -> None:
    written = os.pwritev(fd, chunks, offset)
    total = sum(map(len, chunks))
    if written < total:  # short: the rest piece by piece
        rest = memoryview(b"".join(chunks))[written:]
        _write_all(fd, rest, offset + written)


def create_temp(tmp: Path, size: int, resume: bool = False) -> int:
    """Open a download's temporary file (and its folders), its space reserved; with
    ``resume``, the one an interrupted download left, as it is. Readable too: a resumed
    download re-hashes the ranges it already has."""
    flags = os.O_RDWR | (0 if resume else os.O_CREAT | os.O_EXCL)
    try:
        fd = _open_temp(tmp, flags)
    except (FileNotFoundError, NotADirectoryError):
        # Its folder is not there yet (or a file is in the way: mkdir's error names it): made
        # only now, so a tree's files skip a mkdir and its EEXIST each.
        tmp.parent.mkdir(parents=True, exist_ok=True)
        fd = _open_temp(tmp, flags)
    if resume:
        return fd
    try:
        preallocate(fd, size)
    except BaseException:  # e.g. a full disk: leave no empty temporary file behind
        os.close(fd)
        remove_quietly(tmp)
        raise
    return fd


def _open_temp(tmp: Path, flags: int) -> int:
    try:
        # Exclusive: two downloads must never share a temporary file (and mix their bytes).
        return os.open(tmp, flags, 0o644)
    except FileExistsError:
        # Left by a run that was killed (SIGKILL cannot clean up): start it afresh, once.
        remove_quietly(tmp)
        try:
            return os.open(tmp, flags, 0o644)
        except FileExistsError:
            raise LocalIOError(f"temporary file already exists: {tmp} (another download of the same file "
                               "is running)") from None


def preallocate(fd: int, size: int) -> None:
    """Reserve the space up front, so a full disk fails before any byte is fetched."""
    if size == 0:
        return
    fallocate = getattr(os, "posix_fallocate", None)  # Linux/BSD; macOS has none
    if fallocate is None:
        os.ftruncate(fd, size)
        return
    try:
        fallocate(fd, 0, size)
    except OSError as exc:
        if exc.errno not in (95,):  # EOPNOTSUPP: the filesystem can't; fall back to a sparse file
            raise
        os.ftruncate(fd, size)


def check_inside(root: Path, relative: str) -> None:
    """Refuse to write or delete ``root/relative`` when a symbolic link on the way leads out
    of ``root`` (a destination folder holding a link to elsewhere): a tree transfer never
    reaches through one."""
    if _no_link_below(root, os.path.dirname(relative)):
        return
    base = os.path.realpath(root)
    target = os.path.realpath(os.path.join(root, os.path.dirname(relative)))
    if target != base and not target.startswith(base.rstrip(os.sep) + os.sep):
        raise UnsafeKeyError(f"{relative} would be reached through a symbolic link out of {root}")


def _no_link_below(root: Path, folder: str) -> bool:
    """True when no folder on the way from ``root`` to ``root/folder`` is a symbolic link:
    then the real path of ``root/folder`` is the real path of ``root`` joined with ``folder``,
    inside it, and check_inside needs no ``realpath`` (two of them cost ~10 lstat and 3
    getcwd calls and ~17 us per file; a flat tree's file costs none now, a nested one an lstat
    per folder below ``root``). "." or ".." on the way: False, and realpath decides."""
    if not folder:
        return True
    parts = folder.split(os.sep)
    if any(part in ("", ".", "..") for part in parts):
        return False
    path = os.fspath(root)
    for part in parts:
        path = os.path.join(path, part)
        try:
            if stat_module.S_ISLNK(os.lstat(path).st_mode):
                return False
        except (FileNotFoundError, NotADirectoryError):
            return True  # not there (or a file): nothing below it is a folder or a link
    return True


def hash_file(path: Path) -> bytes:
    """The MD5 of a whole file (a single-PUT ETag), read in blocks."""
    with open(path, "rb") as handle:
        return hashlib.file_digest(handle, "md5").digest()


def remove_quietly(path: Path) -> None:
    try:
        os.unlink(path)
    except FileNotFoundError:
        pass
