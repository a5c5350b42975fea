import hashlib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core.etag import CompositeBuilder, composite_etag, content_md5, etag_of_bytes, normalize, parse_etag


def test_known_composite_value():
    # Two parts "a"*5 MiB and "b": computed independently from the S3 definition.
    p1, p2 = b"a" * (5 * 1024 * 1024), b"b"
    expected = hashlib.md5(hashlib.md5(p1).digest() + hashlib.md5(p2).digest()).hexdigest() + "-2"
    assert etag_of_bytes(p1 + p2, 5 * 1024 * 1024) == expected


def test_single_put_etag_is_plain_md5():
    assert etag_of_bytes(b"hello", None) == hashlib.md5(b"hello").hexdigest()


@pytest.mark.parametrize("raw, digest, parts", [
    ('"d41d8cd98f00b204e9800998ecf8427e"', "d41d8cd98f00b204e9800998ecf8427e", None),
    ('"D41D8CD98F00B204E9800998ECF8427E-12"', "d41d8cd98f00b204e9800998ecf8427e", 12),
    ('W/"d41d8cd98f00b204e9800998ecf8427e-1"', "d41d8cd98f00b204e9800998ecf8427e", 1),
])
def test_parse_md5_etags(raw, digest, parts):
    etag = parse_etag(raw)
    assert etag is not None and etag.digest == digest and etag.parts == parts


@pytest.mark.parametrize("raw", ["", None, '"abc"', '"d41d8cd98f00b204e9800998ecf8427e-0"',
                                 '"d41d8cd98f00b204e9800998ecf8427e-x"',
                                 # an SSE-KMS style ETag: hex, but not 32 digits
                                 '"6e4d8f1a7c0b2f3e4d5c6b7a8f9e0d1c2b3a4f5e"'])
def test_non_md5_etags_are_rejected(raw):
    assert parse_etag(raw) is None


@given(st.binary(max_size=4096), st.integers(min_value=1, max_value=1024))
def test_builder_matches_direct_computation_in_any_order(data, part_size):
    chunks = [data[i:i + part_size] for i in range(0, max(len(data), 1), part_size)]
    builder = CompositeBuilder(len(chunks))
    for number in reversed(range(1, len(chunks) + 1)):  # parts finish out of order
        builder.add(number, hashlib.md5(chunks[number - 1]).digest())
    assert builder.etag() == etag_of_bytes(data, part_size)
    assert parse_etag(builder.etag()).parts == len(chunks)


@given(st.binary(max_size=2048), st.integers(min_value=1, max_value=512))
def test_etag_changes_when_one_byte_changes(data, part_size):
    if not data:
        return
    flipped = bytes([data[0] ^ 1]) + data[1:]
    assert etag_of_bytes(flipped, part_size) != etag_of_bytes(data, part_size)


def test_builder_refuses_missing_parts():
    builder = CompositeBuilder(3)
    builder.add(1, b"\0" * 16)
    with pytest.raises(ValueError, match="missing"):
        builder.etag()


def test_composite_needs_parts():
    with pytest.raises(ValueError):
        composite_etag([])


def test_content_md5_is_base64_of_digest():
    assert content_md5(hashlib.md5(b"").digest()) == "1B2M2Y8AsgTpgAmY7PhCfg=="
    assert normalize('"ABC"') == "abc"
