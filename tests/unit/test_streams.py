"""Stdin part sizes and the in-order hasher behind cat's check. Pure."""

import pytest
from hypothesis import given, strategies as st

from s3ferry.core.config import MiB
from s3ferry.core.streams import InOrderHasher, check_part_number, stream_part_size
from s3ferry.core.errors import ConfigError
from s3ferry.core.etag import etag_of_bytes


def test_stream_part_size():
    assert stream_part_size(8 * MiB, None) == 8 * MiB
    assert stream_part_size(1 * MiB, None) == 5 * MiB
    assert stream_part_size(8 * MiB, 200 * 1024 * MiB) == 32 * MiB  # 200 GiB needs >10,000 parts of 8 or 16
    check_part_number(10_000, 8 * MiB)
    with pytest.raises(ConfigError, match="expected-size"):
        check_part_number(10_001, 8 * MiB)


@given(st.binary(max_size=300), st.lists(st.integers(1, 40), max_size=20), st.lists(st.integers(1, 64), max_size=4))
def test_in_order_hasher_matches_the_reference_etags(data, cuts, part_sizes):
    hasher = InOrderHasher(part_sizes)
    offset = 0
    for cut in cuts + [len(data)]:  # any split of the stream into writes
        hasher.update(data[offset:offset + cut])
        offset += cut
    etags = hasher.etags()
    assert etags[None] == etag_of_bytes(data, None)
    for size in part_sizes:
        assert etags[size] == etag_of_bytes(data, size)
    assert None not in InOrderHasher([5], whole=False).etags()
