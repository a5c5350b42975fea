"""Local-file helpers of the hot paths: write_and_hash, create_temp, read_whole."""

from __future__ import annotations

import hashlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3ferry.core.errors import SourceChangedError
from s3ferry.local import files as fileio
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
        view, digest = fileio.read_part(buffers, fd, offset, size)
        assert bytes(view) == data[offset:offset + size]
        assert digest == hashlib.md5(data[offset:offset + size]).digest()
        buffers.give(view)
        with pytest.raises(SourceChangedError):
            fileio.read_part(buffers, fd, len(data) - 1, size + 1)
        assert buffers._held == 0  # the free buffer made room; the failed read's is no longer counted
    finally:
        os.close(fd)
