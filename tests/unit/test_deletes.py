"""sync --delete's limit (issue 11, case 1): a count or a share of the destination."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from s3ferry.core.deletes import DeleteLimit
from s3ferry.core.errors import ConfigError


def test_parse():
    assert DeleteLimit.parse("50%") == DeleteLimit(share=50.0)
    assert DeleteLimit.parse("7") == DeleteLimit(count=7)
    assert DeleteLimit.parse(7) == DeleteLimit(count=7)
    assert DeleteLimit.parse(None) == DeleteLimit()


@pytest.mark.parametrize("bad", ["150%", "-1", "x", "nan%", "inf%", "1.5", ""])
def test_parse_refuses(bad):
    with pytest.raises(ConfigError):
        DeleteLimit.parse(bad)


@given(st.integers(0, 10_000), st.integers(0, 10_000), st.floats(0, 100))
def test_share(deleting, existing, share):
    refused = DeleteLimit(share=share).refusal(deleting, existing)
    assert (refused is not None) == (existing > 0 and deleting * 100 > share * existing)


@given(st.integers(0, 1000), st.integers(0, 1000))
def test_count(deleting, limit):
    assert (DeleteLimit(count=limit).refusal(deleting, 2000) is not None) == (deleting > limit)


def test_no_limit_never_refuses():
    assert DeleteLimit().refusal(10**9, 1) is None
