"""S3 -> S3: how a copy is cut (plan_copy), how its result is judged (judge_copy), and how two
objects' ETags decide a sync step (etags_agree): truth tables plus properties."""

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core.config import GiB, MiB
from s3ferry.core.copy_plan import CopyPlan, judge_copy, plan_copy
from s3ferry.core.etag import etag_of_bytes, parse_etag
from s3ferry.core.layout import SINGLE, UNKNOWN, Layout, consistent
from s3ferry.core.results import Verdict
from s3ferry.ops.sync_deletes import DeleteSpool
from s3ferry.core.sync_plan import Action, Item, Step, etags_agree, resolve_compare

MD5_A, MD5_B = "a" * 32, "b" * 32
MULTI_A3, MULTI_B3, MULTI_A2 = MD5_A + "-3", MD5_B + "-3", MD5_A + "-2"
KNOWN_5 = Layout(5 * MiB, "metadata")

# (size, etag, layout, same endpoint) -> (method, part size, keeps the ETag)
PLANS = [
    (10, MD5_A, SINGLE, True, "copy-object", None, True),
    (12 * MiB, MULTI_A3, KNOWN_5, True, "part-copy", 5 * MiB, True),        # the source's layout
    (12 * MiB, MULTI_A3, UNKNOWN, True, "copy-object", None, False),       # cannot keep what is unknown
    (6 * GiB, MULTI_A2, UNKNOWN, True, "part-copy", 8 * MiB, False),       # CopyObject stops at 5 GiB
    (6 * GiB, "not-an-md5", UNKNOWN, True, "part-copy", 8 * MiB, False),
    (10, "not-an-md5", UNKNOWN, True, "copy-object", None, False),
    (10, MD5_A, SINGLE, False, "stream-single", None, True),
    (12 * MiB, MULTI_A3, KNOWN_5, False, "stream-parts", 5 * MiB, True),
    (9 * MiB, MD5_A, SINGLE, False, "stream-parts", 8 * MiB, False),       # above the threshold
    (12 * MiB, MULTI_A3, UNKNOWN, False, "stream-parts", 8 * MiB, False),
    (0, MD5_A, SINGLE, False, "stream-single", None, True),
]


@pytest.mark.parametrize("size,etag,layout,same,method,part_size,keeps", PLANS)
def test_plan_copy_table(size, etag, layout, same, method, part_size, keeps):
    plan = plan_copy(size, parse_etag(etag), layout, same_endpoint=same, part_size=8 * MiB, threshold=8 * MiB)
    assert (plan.method, plan.part_size, plan.keeps_etag) == (method, part_size, keeps)


@given(size=st.one_of(st.integers(0, 50 * GiB), st.integers(30 * MiB, 35 * MiB)), same=st.booleans(),
       known=st.booleans())
def test_plan_copy_parts_fit_the_protocol(size, same, known):
    etag = parse_etag(MD5_A + "-7")
    known = known and consistent(size, 5 * MiB, 7)  # a known layout always fits the ETag
    layout = KNOWN_5 if known else UNKNOWN
    plan = plan_copy(size, etag, layout, same_endpoint=same, part_size=8 * MiB, threshold=8 * MiB)
    if plan.part_size is not None:
        assert 5 * MiB <= plan.part_size <= 5 * GiB and -(-size // plan.part_size) <= 10_000
    else:
        assert size <= 5 * GiB
    assert plan.keeps_etag == (known and size > 0 and plan.part_size == 5 * MiB)


@given(st.binary(max_size=200), st.sampled_from([None, 64]))
def test_a_copy_at_the_source_layout_has_the_source_etag(data, part_size):
    """What keeps_etag relies on: the same bytes cut the same way give the same ETag."""
    plan = CopyPlan("part-copy", part_size, True, "test")
    etag = etag_of_bytes(data, part_size)
    assert judge_copy(plan, etag, etag_of_bytes(bytes(data), part_size))[0] is Verdict.MATCH


JUDGE = [
    (True, MULTI_A3, MULTI_A3, Verdict.MATCH),
    (True, MULTI_A3, MULTI_B3, Verdict.MISMATCH),        # layout kept, ETag not: corrupt copy
    (False, MULTI_A3, MD5_B, Verdict.UNVERIFIABLE),      # another layout: not comparable
    (False, MULTI_A3, MULTI_A3, Verdict.MATCH),          # the store kept it anyway
    (False, "opaque", "opaque", Verdict.UNVERIFIABLE),   # not MD5s: equality proves nothing
    (True, MD5_A, MD5_B, Verdict.MISMATCH),
]


@pytest.mark.parametrize("keeps,source,dest,verdict", JUDGE)
def test_judge_copy_table(keeps, source, dest, verdict):
    assert judge_copy(CopyPlan("x", None, keeps, "why"), source, dest)[0] is verdict


AGREE = [
    # source ETag, dest ETag, recorded source ETag in the dest's metadata -> same?
    (MD5_A, MD5_A, None, True),
    (f'"{MD5_A}"', MD5_A.upper(), None, True),           # quotes and case do not matter
    (MD5_A, MD5_B, None, False),                         # two single-PUT MD5s: different bytes
    (MULTI_A3, MULTI_A3, None, True),
    (MULTI_A3, MULTI_B3, None, None),                    # may be another layout: copy, not skip
    (MULTI_A3, MD5_B, None, None),
    (MULTI_A3, MD5_B, MULTI_A3, True),                   # copied from exactly this source version
    (MULTI_A3, MD5_B, MULTI_A2, None),                   # copied from an older version
    (MD5_A, MD5_B, MD5_B, False),
    ("opaque-1", "opaque-1", None, None),                # not MD5s: equal proves nothing
    ("opaque-1", "opaque-2", "opaque-1", True),          # SSE-KMS: only the record tells
]


@pytest.mark.parametrize("source,dest,recorded,same", AGREE)
def test_etags_agree_table(source, dest, recorded, same):
    assert etags_agree(source, dest, recorded)[0] is same


@given(st.binary(max_size=300), st.binary(max_size=300), st.sampled_from([None, 100]))
def test_etags_agree_never_skips_different_bytes_of_one_layout(a, b, part_size):
    same, _ = etags_agree(etag_of_bytes(a, part_size), etag_of_bytes(b, part_size))
    assert (same is True) == (a == b)
    if a != b and part_size is None:
        assert same is False  # two plain MD5s: a real difference, not a layout question


def test_resolve_compare_carries_the_reason():
    item = Item("k", 1, 0.0, MD5_A)
    step = Step(Action.COMPARE, "k", item, item, "same size: compare content")
    assert resolve_compare(step, None, "ETags differ").reason == "ETags differ"
    assert resolve_compare(step, None).action is Action.COPY
    assert resolve_compare(step, True, "same ETag").action is Action.SKIP


@given(st.lists(st.tuples(st.text(min_size=1), st.integers(min_value=0, max_value=2**63)), max_size=50))
def test_delete_spool_round_trips_any_keys_with_their_sizes(extras):
    spool = DeleteSpool()
    for key, size in extras:
        spool.add(key, size)
    assert spool.count == len(extras) and list(spool.keys()) == extras
    assert list(spool.keys()) == extras  # readable again
    spool.close()


def test_delete_spool_keys_with_newlines_and_surrogates():
    spool = DeleteSpool()
    for key in ("a\nb", "c\\d", "\udcff", ""):
        spool.add(key)
    assert [key for key, _ in spool.keys()] == ["a\nb", "c\\d", "\udcff", ""]
