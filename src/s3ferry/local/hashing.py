"""Finding an unknown multipart layout from the local bytes: a one-pass, multi-candidate,
multi-core part hasher (blocking; run it on a worker thread). The candidates come from
core/layout.py.

A multipart ETag ``md5(md5(p1)+...+md5(pN))-N`` says N but not the part size. The part sizes
consistent with an object of ``size`` bytes are those with ``ceil(size / p) == N``. Tools use
a few defaults (aws-cli/boto3 8 MiB, s3cmd 15 MiB, rclone/Go SDK 5 MiB, ...) and otherwise
MiB-aligned sizes, so those are the candidates, common defaults first, capped.

MD5 is not composable, so every candidate needs its own MD5 of each of its parts. The hasher
reads the file ONCE, in order, in large blocks, and feeds each block to every candidate; the
candidates are split over worker threads (hashlib releases the GIL), so C candidates cost
C x size of MD5 work spread over all cores. With a single candidate (a known layout) the parts
themselves are independent: each worker reads and hashes whole parts at their offsets
(os.pread), so each byte is still read once and all cores hash.
"""

from __future__ import annotations

import os
import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

from s3ferry.core.config import MiB
from s3ferry.core import md5lanes
from s3ferry.core.etag import composite_etag
from s3ferry.core.md5lanes import Md5
from s3ferry.local import lanes
from s3ferry.local.lanes import LaneJob

# Read unit of the one-pass hasher, and how many blocks may wait for the slowest worker.
HASH_BLOCK = 8 * MiB
QUEUE_DEPTH = 4

ReadAt = Callable[[int, int], bytes]  # (offset, length) -> bytes
ReadInto = Callable[[memoryview, int], int]  # (buffer, offset) -> bytes read into it
# Read buffer of each part being hashed in a known layout: small enough that a thread's lanes
# (16 with AVX-512) stay in the CPU's cache.
SCRATCH_BLOCK = 64 * 1024


# ---- hashing ----------------------------------------------------------------------------

class _PartHasher:
    """The running MD5 of one candidate's current part, and the digests of the finished ones
    (16 bytes per part)."""

    __slots__ = ("part_size", "position", "md5", "digests")

    def __init__(self, part_size: int):
        self.part_size = part_size
        self.position = 0
        self.md5 = Md5()
        self.digests: list[bytes] = []

    def plan(self, block: memoryview, items: list[tuple[Md5, memoryview]], ends: list[tuple[_PartHasher, Md5]]) -> None:
        """Cut ``block`` at this candidate's part ends: the (MD5, piece) pairs to hash go to
        ``items``, the parts it finishes to ``ends``."""
        start, length = 0, len(block)
        while start < length:
            left_in_part = self.part_size - self.position % self.part_size
            take = min(left_in_part, length - start)
            items.append((self.md5, block[start:start + take]))
            start += take
            self.position += take
            if self.position % self.part_size == 0:
                ends.append((self, self.md5))
                self.md5 = Md5()

    def finish(self) -> list[bytes]:
        if self.position % self.part_size or self.position == 0:
            self.digests.append(self.md5.digest())  # the short tail (or the one empty part)
        return self.digests


def _update_all(hashers: Sequence[_PartHasher], block: memoryview) -> None:
    """Feed ``block`` to every candidate: their parts' MD5s are independent, so they hash side
    by side in MD5 lanes."""
    items: list[tuple[Md5, memoryview]] = []
    ends: list[tuple[_PartHasher, Md5]] = []
    for hasher in hashers:
        hasher.plan(block, items, ends)
    md5lanes.update_many(items)
    for hasher, md5 in ends:
        hasher.digests.append(md5.digest())


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def hash_parts(read_at: ReadAt, size: int, part_sizes: Sequence[int], *, workers: int | None = None,
               block: int = HASH_BLOCK) -> dict[int, list[bytes]]:
    """The MD5 of every part of ``size`` bytes cut at each of ``part_sizes``, reading each
    byte once. Returns {part size: [part digests]}."""
    sizes = list(dict.fromkeys(part_sizes))
    workers = workers or default_workers()
    if not sizes:
        return {}
    if len(sizes) == 1:
        return {sizes[0]: _hash_one_layout(read_at, size, sizes[0], workers, block)}
    return _hash_many(read_at, size, sizes, workers, block)


def _hash_one_layout(read_at: ReadAt, size: int, part_size: int, workers: int, block: int) -> list[bytes]:
    """One layout: the parts are independent, so whole parts hash on different threads, and
    on each thread side by side in MD5 lanes."""
    count = max(1, -(-size // part_size))
    into = getattr(read_at, "into", None)
    if into is None:  # a reader that cannot fill a buffer: a part at a time, each read whole
        return [_digest_read(read_at, i * part_size, min(size, (i + 1) * part_size), size, block)
                for i in range(count)]
    workers = min(workers, count)
    shares = [range(w, count, workers) for w in range(workers)]

    def share(indexes: range) -> list[bytes]:
        md5s = [Md5() for _ in indexes]
        jobs = (_read_job(into, i * part_size, min(size, (i + 1) * part_size)) for i in indexes)
        for outcome in lanes.drive(zip(md5s, jobs), width=md5lanes.LANES):
            if outcome.error is not None:
                raise outcome.error
        return [md5.digest() for md5 in md5s]

    if workers == 1:
        return share(shares[0])
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="s3ferry-hash") as pool:
        done = list(pool.map(share, shares))
    digests = [b""] * count
    for w, got in enumerate(done):
        digests[w::workers] = got
    return digests


def _digest_read(read_at: ReadAt, offset: int, end: int, size: int, block: int) -> bytes:
    md5 = Md5()
    while offset < end:
        data = read_at(offset, min(block, end - offset))
        if not data:
            raise EOFError(f"file shrank: nothing at offset {offset} of {size}")
        md5.update(data)
        offset += len(data)
    return md5.digest()


def _read_job(into: ReadInto, offset: int, end: int) -> LaneJob[None]:
    """A lane job that yields [offset, end) read into one small buffer of its own, reused: a
    fresh 8 MiB bytes per block costs page faults (each page zeroed) and an munmap, and hashing
    a piece that fits the CPU cache right after reading it saves a pass over RAM."""
    buffer = memoryview(bytearray(min(SCRATCH_BLOCK, end - offset)))
    while offset < end:
        got = into(buffer[:min(SCRATCH_BLOCK, end - offset)], offset)
        if not got:
            raise EOFError(f"file shrank: nothing at offset {offset}")
        yield buffer[:got]
        offset += got


def _hash_many(read_at: ReadAt, size: int, part_sizes: list[int], workers: int, block: int) -> dict[int, list[bytes]]:
    """Many layouts: one in-order read; each block goes to every worker, and each worker
    feeds it to its share of the candidates."""
    hashers = [_PartHasher(p) for p in part_sizes]
    workers = min(workers, len(hashers))
    groups = [hashers[i::workers] for i in range(workers)]
    if workers == 1:
        _read_blocks(read_at, size, block, lambda view: _update_all(hashers, view))
        return {h.part_size: h.finish() for h in hashers}

    queues: list[queue.Queue[memoryview | None]] = [queue.Queue(QUEUE_DEPTH) for _ in groups]
    errors: list[BaseException] = []

    def work(group: list[_PartHasher], inbox: queue.Queue[memoryview | None]) -> None:
        while (view := inbox.get()) is not None:
            if errors:
                continue  # keep draining so the reader never blocks on a dead worker
            try:
                _update_all(group, view)
            except BaseException as exc:  # noqa: BLE001 - re-raised by the reader
                errors.append(exc)

    threads = [threading.Thread(target=work, args=(g, q), name="s3ferry-hash", daemon=True)
               for g, q in zip(groups, queues)]
    for thread in threads:
        thread.start()
    try:
        # A worker whose queue took block k has begun block k - QUEUE_DEPTH and finished
        # k - QUEUE_DEPTH - 1, so a ring of QUEUE_DEPTH + 2 buffers is never overwritten early.
        _read_blocks(read_at, size, block, lambda view: [q.put(view) for q in queues], ring=QUEUE_DEPTH + 2)
    finally:
        for q in queues:
            q.put(None)
        for thread in threads:
            thread.join()
    if errors:
        raise errors[0]
    return {h.part_size: h.finish() for h in hashers}


def _read_blocks(read_at: ReadAt, size: int, block: int, emit: Callable[[memoryview], object],
                 ring: int = 1) -> None:
    """Emit the bytes in order. A reader that can read ``into`` a buffer fills a ring of
    ``ring`` reused buffers (no fresh block, no page faults per block); the caller picks a ring
    long enough that no consumer still reads a buffer when its turn comes again."""
    into = getattr(read_at, "into", None)
    buffers = [memoryview(bytearray(min(block, size))) for _ in range(ring)] if into and size else []
    offset, turn = 0, 0
    while offset < size:
        want = min(block, size - offset)
        if into is not None:
            view = buffers[turn % ring][:want]
            turn += 1
            got = into(view, offset)
            data = view[:got]
        else:
            data = memoryview(read_at(offset, want))
        if not data:
            raise EOFError(f"file shrank: nothing at offset {offset} of {size}")
        emit(data)
        offset += len(data)


def composite_etags(digests: dict[int, list[bytes]]) -> dict[int, str]:
    return {p: composite_etag(d) for p, d in digests.items()}


def find_part_size(read_at: ReadAt, size: int, etag: str, part_sizes: Sequence[int], *,
                   workers: int | None = None, block: int = HASH_BLOCK) -> int | None:
    """The first candidate whose composite ETag over the bytes equals ``etag``, else None."""
    for part_size, local in composite_etags(hash_parts(read_at, size, part_sizes, workers=workers,
                                                       block=block)).items():
        if local == etag:
            return part_size
    return None


# ---- files ------------------------------------------------------------------------------

class _FileReader:
    """A ReadAt over a file, which can also read into a caller's buffer (``into``)."""

    __slots__ = ("fd",)

    def __init__(self, fd: int) -> None:
        self.fd = fd

    def __call__(self, offset: int, length: int) -> bytes:
        return os.pread(self.fd, length, offset)

    def into(self, buffer: memoryview, offset: int) -> int:
        return os.preadv(self.fd, [buffer], offset)


def file_reader(fd: int) -> ReadAt:
    return _FileReader(fd)


def hash_file_parts(path: os.PathLike[str] | str, size: int, part_sizes: Sequence[int], *,
                    workers: int | None = None, block: int = HASH_BLOCK) -> dict[int, list[bytes]]:
    fd = os.open(path, os.O_RDONLY)
    try:
        return hash_parts(file_reader(fd), size, part_sizes, workers=workers, block=block)
    finally:
        os.close(fd)
