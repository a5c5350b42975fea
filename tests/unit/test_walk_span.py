"""A shard's walk of a local tree: the ranges of any boundaries together yield every file
exactly once, in order, and folders outside a range are not entered."""

from __future__ import annotations

import tempfile
from pathlib import Path
from unittest import mock

from hypothesis import given, settings
from hypothesis import strategies as st

from s3ferry.core.shards import KeyRange, ranges_between
from s3ferry.local import walk
from s3ferry.local.walk import walk_local

segment = st.sampled_from(["a", "a-b", "a.txt", "b", "b0", "é", "z", "\U0001f600", "a b", "+"])
paths = st.lists(st.lists(segment, min_size=1, max_size=3).map("/".join), min_size=1, max_size=15)


def build(root: Path, relatives: list[str]) -> None:
    for relative in relatives:
        target = root / relative
        try:
            target.parent.mkdir(parents=True, exist_ok=True)
            if not target.exists():
                target.write_bytes(relative.encode())
        except (FileExistsError, NotADirectoryError, IsADirectoryError):
            continue  # "a" as a file and as a folder: keep whichever came first


@settings(max_examples=60)
@given(paths, st.lists(st.lists(segment, min_size=1, max_size=3).map("/".join), max_size=6))
def test_shards_of_a_tree_cover_every_file_once_in_order(relatives, boundaries):
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        build(root, relatives)
        whole = [e.relative for e in walk_local(root)]
        pieces = [e.relative for span in ranges_between(boundaries) for e in walk_local(root, span)]
        assert pieces == whole


def test_folders_outside_the_range_are_not_entered(tmp_path):
    build(tmp_path, [f"d{i}/f{j}" for i in range(5) for j in range(3)])
    real = walk._walk
    entered = []

    def spy(directory, prefix, span):
        entered.append(prefix)
        return real(directory, prefix, span)

    with mock.patch.object(walk, "_walk", spy):
        found = [e.relative for e in walk_local(tmp_path, KeyRange("d1/", "d2/f1"))]
    assert found == ["d1/f0", "d1/f1", "d1/f2", "d2/f0", "d2/f1"]
    assert sorted(entered) == ["", "d1/", "d2/"]
