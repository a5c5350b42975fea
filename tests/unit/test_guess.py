"""Candidate part sizes and the one-pass multi-candidate hasher (pure, property-tested)."""

from __future__ import annotations

import os
import random

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3ferry.core.config import MAX_PART_SIZE, MIN_PART_SIZE, MiB
from s3ferry.core.etag import ETag, etag_of_bytes, parse_etag
from s3ferry.core.layout import COMMON_PART_SIZES, candidate_part_sizes, size_range
from s3ferry.local.hashing import SCRATCH_BLOCK, ReadAt, composite_etags, find_part_size, hash_file_parts, hash_parts


def bytes_reader(data: bytes) -> ReadAt:
    view = memoryview(data)
    return lambda offset, length: bytes(view[offset:offset + length])
from s3ferry.core.parts import part_count
from s3ferry.core.verdicts import decide_etag


def ceil_div(a: int, b: int) -> int:
    return -(-a // b)


# ---- candidates -------------------------------------------------------------------------

@given(size=st.integers(1, 10**12), parts=st.integers(2, 10_000))
def test_size_range_is_exactly_the_consistent_part_sizes(size, parts):
    bounds = size_range(size, parts)
    if bounds is None:
        # no p at all: check the neighbourhood of size/parts
        guess = max(1, size // parts)
        assert all(ceil_div(size, p) != parts for p in range(max(1, guess - 2), guess + 3))
        return
    low, high = bounds
    assert ceil_div(size, low) == parts and ceil_div(size, high) == parts
    assert low == 1 or ceil_div(size, low - 1) != parts
    assert ceil_div(size, high + 1) != parts


@given(size=st.integers(5 * MiB, 200 * 1024 * MiB), parts=st.integers(2, 10_000))
def test_candidates_are_exactly_the_aligned_consistent_sizes(size, parts):
    found = candidate_part_sizes(size, parts, limit=10**6)
    aligned = {p for p in found.sizes if p % MiB == 0}
    low_k, high_k = ceil_div(MIN_PART_SIZE, MiB), MAX_PART_SIZE // MiB
    bounds = size_range(size, parts)
    expected = set()
    if bounds is not None:
        lo, hi = max(bounds[0], MIN_PART_SIZE), min(bounds[1], MAX_PART_SIZE)
        expected = {k * MiB for k in range(max(low_k, ceil_div(lo, MiB)), min(high_k, hi // MiB) + 1)}
    assert aligned == expected
    assert all(ceil_div(size, p) == parts for p in found.sizes)
    assert len(set(found.sizes)) == len(found.sizes) == found.total
    # the only unaligned candidate is the even split
    assert all(p == ceil_div(size, parts) for p in found.sizes if p % MiB)


@given(size=st.integers(5 * MiB, 50 * 1024 * MiB), parts=st.integers(2, 10_000))
def test_common_defaults_come_first_and_the_cap_is_reported(size, parts):
    found = candidate_part_sizes(size, parts, limit=8)
    assert len(found.sizes) <= 8
    assert found.capped == (found.total > len(found.sizes))
    common = [p for p in COMMON_PART_SIZES if ceil_div(size, p) == parts]
    assert list(found.sizes[:len(common)]) == common[:8]


def test_forty_mib_examples():
    assert candidate_part_sizes(40 * MiB, 8).sizes[0] == 5 * MiB
    assert candidate_part_sizes(40 * MiB, 5).sizes[0] == 8 * MiB
    assert 15 * MiB in candidate_part_sizes(40 * MiB, 3).sizes
    wide = candidate_part_sizes(40 * MiB, 2)
    assert sorted(wide.sizes) == [k * MiB for k in range(20, 40)]
    assert candidate_part_sizes(40 * MiB, 9).sizes == ()  # 40/9 MiB parts are below 5 MiB
    assert candidate_part_sizes(10, 1).sizes == (10,)


# ---- hashing ----------------------------------------------------------------------------

def small_candidates(size: int, parts: int) -> tuple[int, ...]:
    return candidate_part_sizes(size, parts, unit=16, minimum=16, common=(48, 80), limit=64).sizes


@settings(max_examples=150, deadline=None)
@given(data=st.data(), size=st.integers(33, 3000), workers=st.sampled_from([1, 2, 3]),
       block=st.sampled_from([7, 16, 64, 1000, 4096]))
def test_one_pass_guesser_finds_the_true_part_size(data, size, workers, block):
    payload = random.Random(size).randbytes(size)
    true_parts = data.draw(st.integers(2, max(2, size // 16)))
    candidates = small_candidates(size, true_parts)
    if not candidates:
        return
    truth = data.draw(st.sampled_from(candidates))
    etag = etag_of_bytes(payload, truth)
    etags = composite_etags(hash_parts(bytes_reader(payload), size, candidates, workers=workers, block=block))
    # every candidate's composite equals the reference implementation's
    assert etags == {p: etag_of_bytes(payload, p) for p in candidates}
    found = find_part_size(bytes_reader(payload), size, etag, candidates, workers=workers, block=block)
    assert found is not None and etag_of_bytes(payload, found) == etag


@settings(max_examples=60, deadline=None)
@given(size=st.integers(1, 3000), part=st.integers(1, 400), workers=st.sampled_from([1, 2, 4]),
       block=st.sampled_from([5, 64, 512]))
def test_single_layout_parallel_parts_equal_reference(size, part, workers, block):
    payload = os.urandom(size)
    digests = hash_parts(bytes_reader(payload), size, [part], workers=workers, block=block)
    assert len(digests[part]) == part_count(size, part)
    assert composite_etags(digests)[part] == etag_of_bytes(payload, part)


@settings(max_examples=60, deadline=None)
@given(size=st.integers(64, 3000), flip=st.integers(0, 2999), workers=st.sampled_from([1, 2]))
def test_one_changed_byte_matches_no_candidate(size, flip, workers):
    payload = bytearray(random.Random(size).randbytes(size))
    parts = 3
    candidates = small_candidates(size, parts)
    if not candidates:
        return
    etag = etag_of_bytes(bytes(payload), candidates[0])
    payload[flip % size] ^= 0x01
    assert find_part_size(bytes_reader(bytes(payload)), size, etag, candidates, workers=workers) is None


def test_zero_bytes_is_one_empty_part():
    assert composite_etags(hash_parts(bytes_reader(b""), 0, [5 * MiB]))[5 * MiB] == etag_of_bytes(b"", 5 * MiB)


def test_file_hasher_many_candidates(tmp_path):
    payload = random.Random(1).randbytes(3 * MiB + 123)
    path = tmp_path / "f"
    path.write_bytes(payload)
    sizes = [256 * 1024, 1 * MiB, 3 * MiB, 1 * MiB + 1]
    got = composite_etags(hash_file_parts(path, len(payload), sizes, workers=2, block=100_000))
    assert got == {p: etag_of_bytes(payload, p) for p in sizes}


@settings(max_examples=25, deadline=None)
@given(size=st.integers(0, 3 * SCRATCH_BLOCK + 7), part=st.sampled_from([1000, SCRATCH_BLOCK - 1, SCRATCH_BLOCK,
                                                                         SCRATCH_BLOCK + 1, 2 * SCRATCH_BLOCK + 3]),
       workers=st.sampled_from([1, 2]))
def test_file_single_layout_reads_into_a_reused_buffer_and_equals_reference(tmp_path_factory, size, part, workers):
    payload = random.Random(size).randbytes(size)
    path = tmp_path_factory.mktemp("h") / "f"
    path.write_bytes(payload)
    got = composite_etags(hash_file_parts(path, size, [part], workers=workers))
    assert got == {part: etag_of_bytes(payload, part)}


@settings(max_examples=10, deadline=None)
@given(seed=st.integers(0, 1000), workers=st.sampled_from([2, 3, 4]), block=st.sampled_from([1000, 4096, 65536]))
def test_many_candidates_from_a_file_through_the_reused_ring_equal_reference(tmp_path_factory, seed, workers, block):
    """Hundreds of blocks through a ring of QUEUE_DEPTH + 2 reused buffers, read by several
    workers: a buffer overwritten while a worker still hashed it would change a digest."""
    payload = random.Random(seed).randbytes(300_000 + seed)
    path = tmp_path_factory.mktemp("m") / "f"
    path.write_bytes(payload)
    sizes = [5000, 7777, 65536, 100_001, 150_000]
    got = composite_etags(hash_file_parts(path, len(payload), sizes, workers=workers, block=block))
    assert got == {p: etag_of_bytes(payload, p) for p in sizes}


def test_file_that_shrank_raises(tmp_path):
    path = tmp_path / "f"
    path.write_bytes(b"x" * 100)
    with pytest.raises(EOFError):
        hash_file_parts(path, 200, [64, 32], workers=2, block=16)
    with pytest.raises(EOFError):
        hash_file_parts(path, 200, [64], workers=2, block=16)


# ---- the verdict for an ETag that cannot be an MD5 -------------------------------------

@pytest.mark.parametrize("raw", ['"abc"', "", None, '"3f1a…"', "not-an-md5-3", "0" * 31, "0" * 32 + "-0"])
def test_non_md5_etag_is_never_a_match(raw):
    verdict, detail = decide_etag(parse_etag(raw), computed={})
    assert verdict.value == "unverifiable" and "not an MD5" in detail


def test_decide_etag_match_and_mismatch():
    etag = ETag("a" * 32, None)
    assert decide_etag(etag, computed={None: "a" * 32})[0].value == "match"
    assert decide_etag(etag, computed={None: "b" * 32})[0].value == "mismatch"
    multi = ETag("c" * 32, 3)
    assert decide_etag(multi, computed={}, layout_known=False)[0].value == "unverifiable"
    assert decide_etag(multi, computed={5: "d" * 32 + "-3"}, layout_known=False)[0].value == "unverifiable"
    assert decide_etag(multi, computed={5: "d" * 32 + "-3"}, layout_known=True)[0].value == "mismatch"
    assert decide_etag(multi, computed={5: "d" * 32 + "-3", 7: "c" * 32 + "-3"},
                       layout_known=False)[0].value == "match"


def test_verify_summary_exit_codes():
    from s3ferry.core.results import TransferResult, Verdict
    from s3ferry.ops.verify import VerifySummary

    def result(verdict, error=None, code=0):
        return TransferResult("verify", "a", "s3://b/a", verdict=verdict, error=error, exit_code=code)

    summary = VerifySummary("verify")
    summary.add(result(Verdict.MATCH))
    assert summary.exit_code == 0
    summary.add(result(Verdict.MISSING_LOCAL, "gone", 4))
    assert summary.exit_code == 4
    summary.add(result(Verdict.UNVERIFIABLE))
    assert summary.exit_code == 3 and summary.unverified == 1
    summary.add(result(Verdict.MISSING_REMOTE, "gone", 4))
    assert summary.exit_code == 3
    other = VerifySummary("verify")
    other.add(result(Verdict.SKIPPED, "denied", 5))
    assert other.exit_code == 5
    other.add(result(Verdict.MISMATCH, "differs", 3))
    assert other.exit_code == 3 and other.failed == 2
