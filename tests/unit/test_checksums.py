"""Store-side checksum logic: CRC combining, and which stored checksum may judge a file."""

from __future__ import annotations

import base64
import hashlib
import zlib

from hypothesis import given, settings, strategies as st

from s3ferry.core.checksums import ALGORITHMS, CrcBuilder, crc64nvme, encode_crc, etag_is_opaque, full_object_checksum


@settings(max_examples=200, deadline=None)
@given(data=st.binary(max_size=4096), cuts=st.lists(st.integers(min_value=0, max_value=4096), max_size=8),
       order=st.randoms(use_true_random=False))
def test_part_crcs_combine_into_the_whole_files_crc_in_any_arrival_order(data, cuts, order):
    bounds = sorted({0, len(data), *[c for c in cuts if c <= len(data)]})
    pieces = [data[a:b] for a, b in zip(bounds, bounds[1:])] or [b""]
    builder = CrcBuilder(len(pieces))
    numbered = list(enumerate(pieces, start=1))
    order.shuffle(numbered)
    for number, piece in numbered:
        builder.add(number, crc64nvme(piece), len(piece))
    assert builder.value() == encode_crc(crc64nvme(data))
    assert builder.part_values() == [encode_crc(crc64nvme(p)) for p in pieces]


def test_a_missing_part_crc_is_an_error_not_a_wrong_value():
    builder = CrcBuilder(2)
    builder.add(1, crc64nvme(b"a"), 1)
    try:
        builder.value()
    except ValueError:
        return
    raise AssertionError("a CRC with a part missing must not be produced")


def test_crc32_encoding_matches_zlib():
    data = b"hello world" * 100
    assert encode_crc(zlib.crc32(data), 4) == base64.b64encode(zlib.crc32(data).to_bytes(4, "big")).decode()


def test_file_checksums_match_reference_implementations(tmp_path):
    data = bytes(range(256)) * 40_000  # > one read block
    path = tmp_path / "f"
    path.write_bytes(data)
    assert ALGORITHMS["CRC64NVME"].of_file(path) == encode_crc(crc64nvme(data))
    assert ALGORITHMS["CRC32"].of_file(path) == encode_crc(zlib.crc32(data), 4)
    assert ALGORITHMS["SHA256"].of_file(path) == base64.b64encode(hashlib.sha256(data).digest()).decode()


def test_full_object_checksum_prefers_crc64nvme_and_ignores_composites():
    assert full_object_checksum({}) is None
    both = {"ChecksumCRC32": "AAAAAA==", "ChecksumCRC64NVME": "AAAAAAAAAAA=", "ChecksumType": "FULL_OBJECT"}
    assert full_object_checksum(both).algorithm.name == "CRC64NVME"
    assert full_object_checksum({"ChecksumSHA256": "x" * 44}).algorithm.name == "SHA256"
    # A composite (per-part) checksum says nothing about the whole object's bytes.
    assert full_object_checksum({"ChecksumCRC32C": "abcd-3", "ChecksumType": "COMPOSITE"}) is None
    assert full_object_checksum({"ChecksumCRC32C": "abcd-3"}) is None


def test_kms_and_customer_key_objects_have_opaque_etags():
    assert etag_is_opaque({"ServerSideEncryption": "aws:kms"})
    assert etag_is_opaque({"ServerSideEncryption": "aws:kms:dsse"})
    assert etag_is_opaque({"SSECustomerAlgorithm": "AES256"})
    assert not etag_is_opaque({"ServerSideEncryption": "AES256"})
    assert not etag_is_opaque({})


@settings(max_examples=50)
@given(data=st.binary(max_size=3000), cuts=st.lists(st.integers(0, 3000), max_size=5))
def test_crc64nvme_piece_by_piece_equals_the_whole(data: bytes, cuts: list[int]) -> None:
    value, start = 0, 0
    for end in sorted(min(c, len(data)) for c in cuts) + [len(data)]:
        value = crc64nvme(data[start:end], value)
        start = end
    assert value == crc64nvme(data)
