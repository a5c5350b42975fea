"""Stdin part cutting and the reorder window for stdout. Pure."""

import pytest
from hypothesis import given, strategies as st

from s3ferry.config import MiB
from s3ferry.core.streams import PartFiller, ReorderWindow, check_part_number, single_put, stream_part_size
from s3ferry.errors import ConfigError


def test_stream_part_size():
    assert stream_part_size(8 * MiB, None) == 8 * MiB
    assert stream_part_size(1 * MiB, None) == 5 * MiB
    assert stream_part_size(8 * MiB, 200 * 1024 * MiB) == 32 * MiB  # 200 GiB needs >10,000 parts of 8 or 16
    check_part_number(10_000, 8 * MiB)
    with pytest.raises(ConfigError, match="expected-size"):
        check_part_number(10_001, 8 * MiB)


@given(st.lists(st.integers(1, 50), max_size=30), st.integers(1, 64))
def test_filler_cuts_any_reads_into_full_parts(reads, size):
    parts, filler = [], PartFiller(size)
    for read in reads:
        while read:
            take = min(read, filler.want())
            filler.add(take)
            read -= take
            if filler.full:
                parts.append(filler.filled)
                filler = PartFiller(size)
    filler.add(0)
    assert filler.done and filler.ended
    assert all(p == size for p in parts) and sum(parts) + filler.filled == sum(reads)


def test_filler_refuses_overfill_and_single_put_rule():
    filler = PartFiller(4)
    with pytest.raises(ValueError):
        filler.add(5)
    assert single_put(3, 4, True) and single_put(4, 4, True) and not single_put(4, 4, False)


@given(st.integers(1, 40), st.integers(1, 8), st.randoms(use_true_random=False))
def test_window_writes_in_order_and_holds_at_most_window(count, window, rng):
    reorder = ReorderWindow(count, window)
    started, out, in_flight = 0, [], []
    while not reorder.finished:
        while started < count and reorder.may_start(started):
            in_flight.append(started)
            started += 1
        arrived = in_flight.pop(rng.randrange(len(in_flight)))
        reorder.put(arrived, arrived)
        assert reorder.held <= window
        out.extend(reorder.pop_ready())
    assert out == list(range(count))


def test_window_refuses_ranges_out_of_bounds():
    reorder = ReorderWindow(10, 2)
    with pytest.raises(ValueError, match="outside the window"):
        reorder.put(3, b"")
    reorder.put(0, b"a")
    with pytest.raises(ValueError, match="not awaited"):
        reorder.put(0, b"a")
    with pytest.raises(ValueError):
        ReorderWindow(1, 0)
