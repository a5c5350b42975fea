"""A multipart put's parts hashed ahead of their sends (ops/put_ahead.py), and the second read
that must see the bytes hashed (ops/put_parts.py)."""

from __future__ import annotations

import hashlib
import os
import time
import zlib

import anyio
import pytest

from s3ferry.core import md5lanes
from s3ferry.core.errors import SourceChangedError
from s3ferry.core.parts import plan_parts
from s3ferry.local.buffers import PartBuffers
from s3ferry.ops import put_ahead, put_parts
from s3ferry.ops.put_ahead import PartDigests


def _crc32(data, previous=0):
    return zlib.crc32(data, previous)


def _file(tmp_path, size):
    data = os.urandom(size)
    path = tmp_path / "f.bin"
    path.write_bytes(data)
    return data, os.open(path, os.O_RDONLY)


def test_every_parts_md5_and_crc_are_the_bytes_ones(tmp_path):
    data, fd = _file(tmp_path, 70 * 1000 + 123)
    parts = list(plan_parts(len(data), 1000))

    async def main():
        digests = PartDigests(fd, parts, _crc32)
        async with anyio.create_task_group() as tg:
            tg.start_soon(digests.run)
            return [await digests.get(p) for p in reversed(parts)][::-1]

    try:
        got = anyio.run(main)
    finally:
        os.close(fd)
    chunks = [data[p.offset:p.end] for p in parts]
    assert got == [(hashlib.md5(c).digest(), zlib.crc32(c)) for c in chunks]


def test_hashing_stays_a_window_ahead_of_the_parts_asked_for(tmp_path, monkeypatch):
    monkeypatch.setattr(put_ahead, "HASH_AHEAD", 1000)  # 10 parts of 100 bytes, or LANES if more
    data, fd = _file(tmp_path, 100 * 100)
    parts = list(plan_parts(len(data), 100))
    hashed = []
    real = put_ahead._hash_group
    monkeypatch.setattr(put_ahead, "_hash_group", lambda fd, group, crc: (hashed.extend(group), real(fd, group, crc))[1])

    async def main():
        digests = PartDigests(fd, parts, None)
        async with anyio.create_task_group() as tg:
            tg.start_soon(digests.run)
            await digests.get(parts[0])
            for _ in range(20):
                await anyio.sleep(0.01)  # room for the hashing task to run ahead, if it would
            seen = len(hashed)
            tg.cancel_scope.cancel()
        return seen

    try:
        seen = anyio.run(main)
    finally:
        os.close(fd)
    lanes, window = md5lanes.LANES, max(md5lanes.LANES, 10)
    groups_started = -(-(1 + window) // lanes)  # groups whose first part is within the window
    assert seen == min(len(parts), groups_started * lanes) < len(parts)


def test_a_file_that_shrank_fails_the_parts_it_lost_and_those_after(tmp_path):
    data, fd = _file(tmp_path, 5000)
    parts = list(plan_parts(len(data), 1000))
    os.truncate(tmp_path / "f.bin", 2500)

    async def main():
        digests = PartDigests(fd, parts, None)
        async with anyio.create_task_group() as tg:
            tg.start_soon(digests.run)
            for part in parts:
                if part.end > 2500:  # gone, or after the first part gone (the hashing stopped)
                    with pytest.raises(SourceChangedError):
                        await digests.get(part)
                else:  # whole: hashed right, or failed with its group
                    try:
                        assert (await digests.get(part))[0] == hashlib.md5(data[part.offset:part.end]).digest()
                    except SourceChangedError:
                        pass

    try:
        anyio.run(main)
    finally:
        os.close(fd)


def _rewrite(path, info, mtime_ns: int) -> None:
    """Overwrite the file's first bytes in place (same size), then set its mtime to ``mtime_ns``;
    with the old mtime put back, until the ctime's clock has ticked past ``info``."""
    for _ in range(1000):
        with open(path, "r+b") as f:
            f.write(b"changed")
        os.utime(path, ns=(info.st_atime_ns, mtime_ns))
        if os.stat(path).st_ctime_ns != info.st_ctime_ns:
            return
        time.sleep(0.001)


@pytest.mark.parametrize("mtime_moved", [1, 0], ids=["new-mtime", "mtime-put-back"])
def test_the_second_read_refuses_a_file_changed_since_it_was_hashed(tmp_path, mtime_moved):
    """Also when the rewrite put the mtime back (cp -p, rsync -t): only the ctime tells, and
    the bytes would no longer be the ones whose MD5 was hashed ahead."""
    data, fd = _file(tmp_path, 3000)
    info = os.fstat(fd)
    source = put_parts._Source(fd, info, None)
    part = next(iter(plan_parts(len(data), 1000)))
    buffers = PartBuffers(1 << 20)
    try:
        assert bytes(put_parts._read_unchanged(buffers, source, part)) == data[:1000]
        _rewrite(tmp_path / "f.bin", info, info.st_mtime_ns + mtime_moved)
        after = os.fstat(fd)
        assert after.st_size == info.st_size and (after.st_mtime_ns == info.st_mtime_ns) == (not mtime_moved)
        with pytest.raises(SourceChangedError):
            put_parts._read_unchanged(buffers, source, part)
    finally:
        os.close(fd)


def test_hashing_ahead_only_with_lanes():
    assert put_ahead.worth_it() == (md5lanes.LANES > 1)
