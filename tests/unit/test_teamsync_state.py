"""Team sync's local state (SQLite on local disk): order, snapshots, binding, crash survival."""

from __future__ import annotations

import asyncio

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3ferry.core.errors import ConfigError
from s3ferry.core.twoway import Base
from s3ferry.core.twoway_plan import order
from s3ferry.ops.teamsync_state import LocalState


def base(path: str) -> Base:
    return Base(path, 1, "e" * 32, "m" * 32, 1, 2, 3, "u", 0.0)


def streamed(state: LocalState) -> list[str]:
    async def go():
        return [b.path async for b in state.stream()]
    return asyncio.run(go())


PATHS = st.lists(st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=6), unique=True,
                 max_size=30)


@settings(max_examples=30)
@given(PATHS)
def test_rows_stream_in_listing_order(tmp_path_factory, paths):
    state = LocalState(tmp_path_factory.mktemp("s"))
    for path in paths:
        state.put(base(path))
    assert streamed(state) == sorted(paths, key=order)
    state.close()


def test_the_stream_reads_one_snapshot(tmp_path):
    state = LocalState(tmp_path)
    for path in ("a", "b", "c"):
        state.put(base(path))

    async def go():
        seen = []
        async for b in state.stream():
            seen.append(b.path)
            state.forget("c")  # rows this run changes do not disturb the join it is in
            state.put(base("bb"))
        return seen

    assert asyncio.run(go()) == ["a", "b", "c"]
    assert streamed(state) == ["a", "b", "bb"]


def test_a_folder_syncs_with_one_prefix(tmp_path):
    state = LocalState(tmp_path)
    state.bind("s3://b/p/")
    state.bind("s3://b/p/")
    with pytest.raises(ConfigError, match="team-syncs with s3://b/p/"):
        state.bind("s3://b/other/")


def test_rows_and_pushed_changes_survive_a_reopen(tmp_path):
    state = LocalState(tmp_path)
    state.put(base("x"))
    state.push({"path": "x", "etag": "e"})
    state.close()  # (a SIGKILL loses no committed row either: every write is its own transaction)
    again = LocalState(tmp_path)
    assert streamed(again) == ["x"] and [e["path"] for e in again.pushed()] == ["x"]
    again.clear_pushed()
    assert not again.has_pushed()
