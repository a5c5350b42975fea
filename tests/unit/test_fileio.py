"""Local-file helpers of the hot paths: write_and_hash, create_temp, read_whole."""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3ferry.core.errors import SourceChangedError
from s3ferry.core.md5lanes import Md5
from s3ferry.local import files as fileio
from s3ferry.local import lanes
from s3ferry.local.buffers import PartBuffers


@settings(max_examples=40, deadline=None)
@given(sizes=st.lists(st.integers(0, 3 * fileio.CACHE_PIECE + 7), max_size=6), offset=st.integers(0, 4096))
def test_write_and_hash_writes_and_hashes_every_byte_in_order(tmp_path_factory, sizes, offset) -> None:
    chunks = [os.urandom(n) for n in sizes]
    path = tmp_path_factory.mktemp("w") / "f"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    md5 = hashlib.md5()
    try:
        fileio.write_and_hash(fd, offset, chunks, md5)
        data = b"".join(chunks)
        assert os.pread(fd, len(data), offset) == data
        assert md5.digest() == hashlib.md5(data).digest()
    finally:
        os.close(fd)


@settings(max_examples=30, deadline=None)
@given(sizes=st.lists(st.integers(0, 40_000), min_size=2, max_size=5), short=st.integers(0, 100_000))
def test_small_pieces_go_in_one_pwritev_and_a_short_one_is_finished(tmp_path_factory, sizes, short) -> None:
    """A small body's pieces (the socket's reads) take one pwritev; a short one (legal) is
    finished piece by piece."""
    chunks = [os.urandom(n) for n in sizes]
    path = tmp_path_factory.mktemp("v") / "f"
    calls: list[int] = []
    real = os.pwritev

    def pwritev(fd: int, buffers: list[bytes], offset: int) -> int:
        calls.append(len(buffers))
        return real(fd, [b"".join(buffers)[:short]], offset)  # at most ``short`` bytes

    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    md5 = hashlib.md5()
    try:
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(os, "pwritev", pwritev)
            fileio.write_and_hash(fd, 3, chunks, md5)
        data = b"".join(chunks)
        assert os.pread(fd, len(data) + 1, 3) == data
        assert md5.digest() == hashlib.md5(data).digest()
        assert calls == ([len(chunks)] if len(data) <= fileio.CACHE_PIECE else [])
    finally:
        os.close(fd)


def test_create_temp_makes_folders_and_reserves_space(tmp_path) -> None:
    tmp = tmp_path / "a" / "b" / ".x.tmp"
    fd = fileio.create_temp(tmp, 12345)
    os.close(fd)
    assert tmp.stat().st_size == 12345


def test_create_temp_leaves_nothing_when_space_cannot_be_reserved(tmp_path) -> None:
    tmp = tmp_path / ".x.tmp"
    with pytest.raises(OSError):
        fileio.create_temp(tmp, 1 << 62)  # more than any filesystem holds
    assert not tmp.exists()


def test_create_temp_names_the_file_in_the_way_of_its_folder(tmp_path) -> None:
    (tmp_path / "a").write_bytes(b"x")  # a file where the temporary file's folder goes
    with pytest.raises(OSError) as caught:  # mkdir's error, as before: it names the folder
        fileio.create_temp(tmp_path / "a" / "b" / ".x.tmp", 10)
    assert caught.value.filename == str(tmp_path / "a" / "b")


def test_read_whole_refuses_a_file_that_changed(tmp_path) -> None:
    path = tmp_path / "f"
    path.write_bytes(b"abc")
    fd, info = fileio.open_for_upload(path)
    try:
        data, digest = fileio.read_whole(fd, info)
        assert bytes(data) == b"abc" and digest == hashlib.md5(b"abc").digest()
        path.write_bytes(b"abcd")
        with pytest.raises(SourceChangedError):
            fileio.read_whole(fd, info)
    finally:
        os.close(fd)


@settings(max_examples=30, deadline=None)
@given(size=st.integers(1, 3 * fileio.CACHE_PIECE), offset=st.integers(0, 1000))
def test_read_part_reads_and_hashes_the_range(tmp_path_factory, size, offset) -> None:
    path = tmp_path_factory.mktemp("r") / "f"
    data = os.urandom(offset + size + 10)
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        buffers = PartBuffers(budget=size + 1)
        md5 = Md5()
        view = lanes.drive_one(md5, fileio.read_part_job(buffers, fd, offset, size))
        digest = md5.digest()
        assert bytes(view) == data[offset:offset + size]
        assert digest == hashlib.md5(data[offset:offset + size]).digest()
        buffers.give(view)
        with pytest.raises(SourceChangedError):
            lanes.drive_one(Md5(), fileio.read_part_job(buffers, fd, len(data) - 1, size + 1))
        assert buffers._held == 0  # the free buffer made room; the failed read's is no longer counted
    finally:
        os.close(fd)


def test_hash_part_is_the_md5_and_crc_of_exactly_its_range_and_refuses_a_short_file(tmp_path) -> None:
    import zlib

    data = os.urandom(300_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    fd = os.open(path, os.O_RDONLY)
    try:
        got = fileio.hash_part(fd, 1000, 200_000, lambda d, v=0: zlib.crc32(d, v))
        assert got == (hashlib.md5(data[1000:201_000]).digest(), zlib.crc32(data[1000:201_000]))
        assert fileio.hash_part(fd, 5, 10) == (hashlib.md5(data[5:15]).digest(), None)
        with pytest.raises(SourceChangedError):
            fileio.hash_part(fd, 299_000, 2000)
    finally:
        os.close(fd)
