import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core.config import GiB, MAX_PARTS, MiB, MIN_PART_SIZE
from s3ferry.core.parts import choose_part_size, part_count, plan_parts, use_multipart

sizes = st.integers(min_value=0, max_value=5 * 1024 * GiB)
requested = st.integers(min_value=MIN_PART_SIZE, max_value=512 * MiB)


@given(sizes, requested)
def test_parts_tile_the_file_exactly(size, part_size):
    part_size = choose_part_size(size, part_size)
    count = part_count(size, part_size)
    if count > 2000:  # walking every part of a 5 TiB plan is slow; the arithmetic below covers it
        return
    parts = list(plan_parts(size, part_size))
    assert [p.number for p in parts] == list(range(1, len(parts) + 1))
    assert parts[0].offset == 0
    assert sum(p.size for p in parts) == size
    for before, after in zip(parts, parts[1:]):
        assert after.offset == before.end
        assert before.size == part_size
    assert 0 <= parts[-1].size <= part_size


@given(sizes, requested)
def test_chosen_part_size_respects_s3_limits(size, part_size):
    chosen = choose_part_size(size, part_size)
    assert chosen >= part_size
    assert part_count(size, chosen) <= MAX_PARTS
    # Deterministic, so verify can find it again from (size, requested) alone.
    assert chosen == choose_part_size(size, part_size)
    # Only raised when it had to be: half of it would not fit.
    if chosen > part_size:
        assert part_count(size, chosen // 2) > MAX_PARTS


def test_raise_doubles_like_s3transfer():
    # 100 GiB at 8 MiB would be 12,800 parts: doubled once to 16 MiB (6,400 parts).
    assert choose_part_size(100 * GiB, 8 * MiB) == 16 * MiB


def test_exact_multiple_has_no_empty_tail():
    parts = list(plan_parts(3 * 8 * MiB, 8 * MiB))
    assert [p.size for p in parts] == [8 * MiB] * 3


def test_zero_bytes_is_one_empty_part():
    assert [(p.offset, p.size) for p in plan_parts(0, 8 * MiB)] == [(0, 0)]


def test_http_range_is_inclusive():
    part = list(plan_parts(10 * MiB, 8 * MiB))[1]
    assert part.http_range == f"bytes={8 * MiB}-{10 * MiB - 1}"


@pytest.mark.parametrize("size, expected", [(8 * MiB - 1, False), (8 * MiB, True), (0, False)])
def test_threshold_rule(size, expected):
    assert use_multipart(size, 8 * MiB) is expected


def test_too_big_for_s3():
    with pytest.raises(ValueError):
        choose_part_size(10_000 * 5 * GiB + 1, 5 * GiB)
