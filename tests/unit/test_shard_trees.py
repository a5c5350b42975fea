"""put/get/cp of trees on shards: the CopyAll rule copies every source item and deletes
nothing, whatever the destination holds; --workers values; a tree Migration refuses sync's
options; the driver's progress counts ticks until a shard's result supersedes them."""

from __future__ import annotations

import asyncio
import io
import pickle

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.cli.shard_bar import ShardProgress
from s3ferry.core.errors import ConfigError
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.shards import KeyRange, Migration, ShardResult, ShardSpec, WorkerCount, parse_workers
from s3ferry.core.sync_plan import COPY_ALL, RULES, Action, Item, amerge_join, decide

names = st.text(alphabet="ab/c.é", min_size=1, max_size=6)
sides = st.dictionaries(names, st.tuples(st.integers(0, 3), st.sampled_from(["e1", "e2", None])), max_size=20)


def items(side: dict) -> list[Item]:
    return [Item(k, size, 0.0, etag) for k, (size, etag) in sorted(side.items(), key=lambda kv: kv[0].encode())]


async def _pairs(left: list[Item], right: list[Item]):
    async def stream(xs):
        for x in xs:
            yield x
    return [p async for p in amerge_join(stream(left), stream(right))]


@given(sides, sides)
def test_copy_all_copies_every_source_item_and_deletes_nothing(source, dest):
    steps = [decide(s, d, COPY_ALL, delete=False) for s, d in asyncio.run(_pairs(items(source), items(dest)))]
    assert sorted(step.key for step in steps if step.action is Action.COPY) == sorted(source)
    assert all(step.action is Action.EXTRA for step in steps if step.action is not Action.COPY)
    assert not any(step.action in (Action.SKIP, Action.COMPARE, Action.DELETE) for step in steps)


def test_copy_all_is_no_rule_a_user_picks():
    assert "all" not in RULES and COPY_ALL.name == "all"
    same = Item("k", 3, 0.0, "e")
    assert decide(same, same, COPY_ALL, delete=False).action is Action.COPY


@pytest.mark.parametrize("text, count", [("auto", None), ("AUTO", None), ("1", 1), ("4", 4), (" 256 ", 256)])
def test_parse_workers(text, count):
    assert parse_workers(text) == WorkerCount(count)
    assert parse_workers(text).auto is (count is None)


@pytest.mark.parametrize("text", ["0", "-1", "x", "", "257", "2.5", "local:2"])
def test_parse_workers_refuses(text):
    with pytest.raises(ConfigError, match="--workers"):
        parse_workers(text)


@pytest.mark.parametrize("action", ["put", "get", "cp"])
def test_a_tree_migration_copies_all_and_refuses_sync_options(action):
    job = Migration("s3://a/b/", "s3://a/c/", None, rule="all", action=action)
    assert job.copies_all and pickle.loads(pickle.dumps(job)) == job
    for bad in ({"delete": True}, {"excludes": ("x",)}, {"dry_run": True}):
        with pytest.raises(ValueError):
            Migration("s3://a/b/", "s3://a/c/", None, action=action, **bad)
    assert not Migration("s3://a/b/", "s3://a/c/", None).copies_all
    with pytest.raises(ValueError):
        Migration("s3://a/b/", "s3://a/c/", None, action="mv")


def test_progress_counts_ticks_until_the_result_supersedes_them():
    err = io.StringIO()  # not a terminal: no bar, a line per shard
    progress = ShardProgress(quiet=False, json_lines=False, err=err)
    assert not progress.drawing
    report = MigrationReport("put", "/t", "s3://b/p/", "local:2")
    for number in (0, 1):
        report.planned(ShardSpec(number, Migration("/t", "s3://b/p/", None, rule="all", action="put"), KeyRange()))
    progress.tick((0, 1, 3, 300))
    progress.tick((0, 1, 2, 200))
    progress.tick((1, 1, 4, 40))
    assert progress.counts() == (9, 540)
    # Shard 0's first attempt failed after 5 objects; its retry counts afresh.
    failed = ShardResult(0, 1, copied=4, failed=1, bytes=400, exit_code=1, causes=("boom",))
    report.attempted(failed)
    progress.shard_done(failed, report)
    assert progress.counts() == (4 + 4, 400 + 40)
    progress.tick((0, 2, 5, 500))
    done = ShardResult(0, 2, copied=5, bytes=500, etag_match=5)
    report.attempted(done)
    progress.shard_done(done, report)
    assert progress.counts() == (5 + 4, 500 + 40)
    progress.tick((0, 2, 1, 100))  # a batch that arrives after its attempt's result: already counted
    assert progress.counts() == (5 + 4, 500 + 40)
    progress.total(12, 1200)  # off a terminal it changes no line, only what a bar would say
    assert progress.counts() == (5 + 4, 500 + 40)
    lines = err.getvalue().splitlines()
    assert len(lines) == 2 and "attempt 1 failed" in lines[0] and lines[1].startswith("shard 0 done")


def test_quiet_progress_prints_only_failed_shards():
    err = io.StringIO()
    progress = ShardProgress(quiet=True, json_lines=False, err=err)
    report = MigrationReport("get", "s3://b/p/", "/t", "local:2")
    report.planned(ShardSpec(0, Migration("s3://b/p/", "/t", None, rule="all", action="get")))
    result = ShardResult(0, 1, copied=1)
    report.attempted(result)
    progress.shard_done(result, report)
    assert err.getvalue() == ""
