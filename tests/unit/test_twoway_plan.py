"""Team sync around the decision: the three-way join and the safety rails."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core.twoway_plan import RailError, Tally, check_deletes, check_listings, join3, order


@dataclass(frozen=True)
class P:
    path: str


async def _aiter(items):
    for item in items:
        yield item


def joined(a, b, c):
    async def go():
        return [row async for row in join3(_aiter(a), _aiter(b), _aiter(c))]
    return asyncio.run(go())


KEYS = st.lists(st.text(min_size=1, max_size=4), unique=True, max_size=12)


@given(KEYS, KEYS, KEYS)
def test_join3_yields_every_path_once_in_order_with_its_sides(xs, ys, zs):
    sides = [sorted(map(P, keys), key=lambda p: order(p.path)) for keys in (xs, ys, zs)]
    rows = joined(*sides)
    paths = [next(item for item in row if item is not None).path for row in rows]
    assert paths == sorted(set(xs) | set(ys) | set(zs), key=order)
    for row in rows:
        path = next(item for item in row if item is not None).path
        for item, keys in zip(row, (xs, ys, zs)):
            assert (item is not None) == (path in keys)
            assert item is None or item.path == path


def test_join3_orders_as_listings_do():
    # "a/x" sorts after "a-b" and "a.txt" by bytes, as S3 lists them.
    rows = joined([P("a-b"), P("a.txt"), P("a/x")], [], [P("a/x")])
    assert [r[0].path for r in rows] == ["a-b", "a.txt", "a/x"] and rows[2][2] is not None


def tally(**counts):
    t = Tally()
    for name, value in counts.items():
        setattr(t, name, value)
    return t


@pytest.mark.parametrize("counts, message", [
    ({"base": 5, "local": 0, "remote": 5, "delete_remote": 5}, "local folder is empty"),
    ({"base": 5, "local": 5, "remote": 0, "delete_local": 5}, "remote prefix is empty"),
])
def test_an_empty_side_with_a_baseline_is_refused(counts, message):
    with pytest.raises(RailError, match=message):
        check_listings(tally(**counts))


def test_a_first_sync_of_an_empty_side_is_fine():
    check_listings(tally(base=0, local=0, remote=3))


@pytest.mark.parametrize("deleted, total, share, refused", [
    (5, 10, 50.0, False),  # exactly the share: allowed
    (6, 10, 50.0, True),
    (6, 10, 60.0, False),
    (1, 1, 100.0, False),
    (1, 1, 99.0, True),
])
def test_max_delete_is_a_share_of_each_side(deleted, total, share, refused):
    for side in ("local", "remote"):
        t = tally(base=total, local=total, remote=total, **{f"delete_{side}": deleted})
        if refused:
            with pytest.raises(RailError, match="--max-delete"):
                check_deletes(t, share)
        else:
            check_deletes(t, share)
