"""Issue 12, item 7: a size is a finite, non-negative, whole number of bytes, or a usage error."""

from __future__ import annotations

import pytest
from hypothesis import given, strategies as st

from s3ferry.core.config import parse_size
from s3ferry.core.errors import ConfigError


@pytest.mark.parametrize("text", ["inf", "nan", "-inf", "infinity", "1e400", "1.5", "0.3", "-1", "", "1_000",
                                  "8XB", "MiB"])
def test_not_sizes(text):
    with pytest.raises(ConfigError, match=repr(text).replace("\\", "\\\\").replace(".", r"\.")):
        parse_size(text)


@given(st.integers(min_value=0, max_value=2**53), st.sampled_from(["", "b", "k", "kib", "m", "mib", "g", "gib"]))
def test_whole_sizes_round_trip(n, unit):
    scale = {"": 1, "b": 1, "k": 1024, "kib": 1024, "m": 1024**2, "mib": 1024**2, "g": 1024**3, "gib": 1024**3}
    assert parse_size(f"{n}{unit}") == n * scale[unit] or n * scale[unit] > 2**53


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_any_float_is_a_size_or_a_config_error(value):
    try:
        size = parse_size(repr(value))
    except ConfigError:
        return
    assert isinstance(size, int) and size >= 0 and size == value
