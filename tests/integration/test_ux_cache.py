"""Issue 12, item 8: the hash cache remembers what a verified put or get proved, so a sync
right after it hashes nothing; and the suite never writes the user's real cache."""

from __future__ import annotations

import os
from pathlib import Path

from helpers import run_cli
from ux_helpers import MiB, json_output, make_tree


def test_sync_after_a_verified_put_hashes_nothing(server, bucket, tmp_path):
    root = make_tree(tmp_path / "tree", {"a.bin": 1000, "b/c.bin": 2000, "big.bin": 6 * MiB})
    put = run_cli(server, "put", str(root), f"s3://{bucket}/t/", "--part-size", "5MiB")
    assert put.returncode == 0, put.stderr
    sync = run_cli(server, "sync", str(root), f"s3://{bucket}/t/", "--json")
    assert sync.returncode == 0, sync.stderr
    _, summary = json_output(sync.stdout)
    assert summary["skipped"] == 3 and summary["copied"] == 0
    assert summary["hashed"] == 0, summary


def test_sync_after_a_verified_get_hashes_nothing(server, bucket, tmp_path):
    root = make_tree(tmp_path / "tree", {"a.bin": 1000, "b.bin": 2000})
    assert run_cli(server, "put", str(root), f"s3://{bucket}/g/").returncode == 0
    local = tmp_path / "back"
    get = run_cli(server, "get", f"s3://{bucket}/g/", str(local))
    assert get.returncode == 0, get.stderr
    sync = run_cli(server, "sync", f"s3://{bucket}/g/", str(local), "--json")
    assert sync.returncode == 0, sync.stderr
    _, summary = json_output(sync.stdout)
    assert summary["skipped"] == 2 and summary["hashed"] == 0, summary


def test_the_suite_keeps_cache_and_journal_out_of_the_users_home(server, bucket, tmp_path):
    cache = Path(os.environ["XDG_CACHE_HOME"])
    journal = Path(os.environ["S3FERRY_JOURNAL_DIR"])
    home_cache = Path.home() / ".cache"
    assert not cache.is_relative_to(home_cache) and not journal.is_relative_to(home_cache)
    root = make_tree(tmp_path / "tree", {"a.bin": 10})
    assert run_cli(server, "sync", str(root), f"s3://{bucket}/c/").returncode == 0
    assert (cache / "s3ferry" / "hashes.sqlite").is_file()
