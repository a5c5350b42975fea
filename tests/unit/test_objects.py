"""ls/du/rm/cp decisions. Pure."""

import pytest
from hypothesis import given, strategies as st

from s3ferry.core.objects import (Consent, DuGrouper, batches, copy_target, delete_consent, group_of, human_size,
                                  overlapping)
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import S3Location as L


def test_human_size():
    assert [human_size(n) for n in (0, 1023, 1536, 10 * 1024, 5 * 1024**3)] == ["0B", "1023B", "1.5KiB", "10KiB", "5.0GiB"]


keys_st = st.lists(st.text("ab/", min_size=1, max_size=6), unique=True).map(
    lambda ks: sorted(ks, key=lambda k: k.encode()))


@given(keys_st)
def test_du_sums_every_group_once_in_constant_memory(keys):
    grouper, groups = DuGrouper(""), []
    for key in keys:
        done = grouper.add(key, len(key))
        if done is not None:
            groups.append(done)
    groups.extend(grouper.finish())
    expected: dict[str, int] = {}
    for key in keys:
        group = group_of(key, "")
        name = group if group else " (objects directly here)"
        expected[name] = expected.get(name, 0) + len(key)
    assert {g.prefix: g.bytes for g in groups} == expected  # each group reported exactly once
    assert len(groups) == len(expected)
    assert grouper.total.objects == len(keys) and grouper.total.bytes == sum(map(len, keys))


@given(st.integers(0, 3500), st.integers(1, 1000))
def test_batches(count, size):
    out = list(batches((str(i) for i in range(count)), size))
    assert all(0 < len(b) <= size for b in out) and sum(out, []) == [str(i) for i in range(count)]


def test_consent():
    assert delete_consent(yes=False, dry_run=False, interactive=False) is Consent.REFUSE
    assert delete_consent(yes=False, dry_run=False, interactive=True) is Consent.ASK
    assert delete_consent(yes=True, dry_run=False, interactive=False) is Consent.PROCEED
    assert delete_consent(yes=True, dry_run=True, interactive=False) is Consent.DRY_RUN


def test_copy_target():
    assert copy_target(L("a", "x/k.bin"), L("b", "y/"), "x/k.bin") == L("b", "y/k.bin")
    assert copy_target(L("a", "x/k.bin"), L("b", "z"), "x/k.bin") == L("b", "z")
    assert copy_target(L("a", "x/"), L("b", "y"), "x/d/k") == L("b", "y/d/k")
    assert copy_target(L("a", ""), L("b", ""), "k") == L("b", "k")
    with pytest.raises(ConfigError):
        copy_target(L("a", "x/"), L("b", "y/"), "x/")
    assert overlapping(L("a", "x/"), L("a", "x/y/")) and not overlapping(L("a", "x/y/"), L("a", "x/"))
    assert not overlapping(L("a", "x/"), L("b", "x/y/")) and overlapping(L("a", ""), L("a", "z"))
