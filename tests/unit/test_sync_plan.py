import asyncio
import os

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.local.hashcache import HashCache
from s3ferry.core.sync_plan import (
    Action,
    Content,
    Item,
    KeyFilter,
    SizeAndMtime,
    SizeOnly,
    amerge_join,
    decide,
    resolve_compare,
)

T0 = 1_700_000_000.0

# The truth table of each rule: (source size, source mtime, dest size, dest mtime) -> action.
TABLE = [
    # rule,          src size, src mtime, dst size, dst mtime,  expected
    (SizeOnly(),     10, T0,       10, T0,        Action.SKIP),
    (SizeOnly(),     10, T0 + 99,  10, T0,        Action.SKIP),
    (SizeOnly(),     10, T0,       11, T0,        Action.COPY),
    (SizeAndMtime(), 10, T0,       10, T0,        Action.SKIP),
    (SizeAndMtime(), 10, T0 + 0.5, 10, T0,        Action.SKIP),     # within LastModified's 1 s precision
    (SizeAndMtime(), 10, T0 + 5,   10, T0,        Action.COPY),     # source newer
    (SizeAndMtime(), 10, T0 - 5,   10, T0,        Action.SKIP),     # destination newer: aws-cli keeps it
    (SizeAndMtime(), 10, T0,       12, T0,        Action.COPY),
    (Content(),      10, T0,       10, T0,        Action.COMPARE),  # same size and mtime: still hashed
    (Content(),      10, T0 - 5,   10, T0,        Action.COMPARE),
    (Content(),      10, T0,       9,  T0,        Action.COPY),
]


@pytest.mark.parametrize("rule, s_size, s_mtime, d_size, d_mtime, expected", TABLE)
def test_rule_truth_table(rule, s_size, s_mtime, d_size, d_mtime, expected):
    step = decide(Item("k", s_size, s_mtime), Item("k", d_size, d_mtime, "etag"), rule, delete=False)
    assert step.action is expected


@pytest.mark.parametrize("delete, expected", [(True, Action.DELETE), (False, Action.EXTRA)])
def test_only_at_destination(delete, expected):
    assert decide(None, Item("k", 1, T0), Content(), delete=delete).action is expected


def test_only_at_source_is_copied():
    assert decide(Item("k", 1, T0), None, SizeOnly(), delete=True).action is Action.COPY


@pytest.mark.parametrize("same, expected", [(True, Action.SKIP), (False, Action.COPY), (None, Action.COPY)])
def test_compare_resolution_never_passes_without_a_hash(same, expected):
    step = decide(Item("k", 1, T0), Item("k", 1, T0), Content(), delete=False)
    assert resolve_compare(step, same).action is expected


keys = st.lists(st.text(alphabet="ab/é💾 +%", min_size=1, max_size=6), unique=True, max_size=30)


def _sorted_items(names):
    return [Item(n, len(n), T0) for n in sorted(names, key=lambda k: k.encode())]


def merge_join(left, right):
    async def stream(items):
        for item in items:
            yield item

    async def collect():
        return [x async for x in amerge_join(stream(left), stream(right))]

    return asyncio.run(collect())


@given(keys, keys)
def test_merge_join_pairs_every_key_once_in_byte_order(left, right):
    pairs = merge_join(_sorted_items(left), _sorted_items(right))
    seen = [(a or b).key for a, b in pairs]
    assert seen == sorted(set(left) | set(right), key=lambda k: k.encode())
    for a, b in pairs:
        assert a is not None or b is not None
        if a is not None and b is not None:
            assert a.key == b.key
        assert (a is not None) == ((a or b).key in left)
        assert (b is not None) == ((a or b).key in right)


@pytest.mark.parametrize("excludes, includes, key, allowed", [
    (("*.tmp",), (), "a/b/c.tmp", False),
    (("*.tmp",), (), "a/b/c.txt", True),
    (("build",), (), "build/x.o", False),
    (("build/",), (), "src/build/x.o", False),
    (("logs/*.log",), (), "logs/a.log", False),
    (("logs/*.log",), (), "other/logs/a.log", True),
    (("*.log",), ("keep.log",), "x/keep.log", True),
    ((), (), "anything", True),
])
def test_key_filter(excludes, includes, key, allowed):
    assert KeyFilter(excludes, includes).allows(key) is allowed


def test_ignore_file_syntax():
    keys = KeyFilter.parse_ignore_file("# comment\n\n*.tmp\n!important.tmp\ncache/\n", excludes=["*.bak"])
    assert not keys.allows("x.tmp") and keys.allows("important.tmp")
    assert not keys.allows("cache/a") and not keys.allows("y.bak") and keys.allows("z.txt")


def test_hash_cache_hits_only_for_the_same_file(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"one")
    with HashCache(tmp_path / "cache.sqlite") as cache:
        info = os.stat(target)
        assert not cache.knows(target, info, "etag-1")
        cache.remember(target, info, "etag-1")
        assert cache.knows(target, info, "etag-1")
        assert not cache.knows(target, info, "etag-2-3")  # another ETag (another layout or object)
        os.utime(target, ns=(info.st_atime_ns, info.st_mtime_ns + 1))
        assert not cache.knows(target, os.stat(target), "etag-1")  # any change misses
        assert (cache.hits, cache.misses) == (1, 3)


def test_hash_cache_sees_a_rewrite_with_mtime_put_back(tmp_path):
    target = tmp_path / "f"
    target.write_bytes(b"one")
    with HashCache(tmp_path / "cache.sqlite") as cache:
        before = os.stat(target)
        cache.remember(target, before, "etag-1")
        target.write_bytes(b"two")  # same size, same inode
        os.utime(target, ns=(before.st_atime_ns, before.st_mtime_ns))
        after = os.stat(target)
        assert (after.st_size, after.st_mtime_ns, after.st_ino) == (before.st_size, before.st_mtime_ns, before.st_ino)
        assert not cache.knows(target, after, "etag-1")
