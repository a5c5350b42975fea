"""Issue 12, item 3: a dry run shows the plan, one line per action with its size, and counts
named as would-be actions; nothing changes. The JSON plan carries real sizes."""

from __future__ import annotations

import re

import pytest

from helpers import random_file, run_cli
from ux_helpers import json_output, keys_of, make_tree, text_lines


@pytest.fixture
def changed(server, bucket, tmp_path):
    """A tree synced to s3://B/s/, then: f1 grew, f0 is gone, f4 is new; f2 and f3 unchanged."""
    src = make_tree(tmp_path / "src", {f"f{i}.bin": 100 + i for i in range(4)})
    first = run_cli(server, "sync", str(src), f"s3://{bucket}/s/")
    assert first.returncode == 0, first.stderr
    random_file(src / "f1.bin", 150, seed=50)
    (src / "f0.bin").unlink()
    random_file(src / "f4.bin", 104, seed=51)
    return src


def test_sync_dry_run_prints_one_line_per_action_with_sizes_and_changes_nothing(server, bucket, changed):
    before = keys_of(server, bucket)
    done = run_cli(server, "sync", str(changed), f"s3://{bucket}/s/", "--delete", "--dry-run")
    assert done.returncode == 0, done.stderr
    out = text_lines(done.stdout)
    base = f"s3://{bucket}/s/"
    expected = [
        rf"^would copy\s+{re.escape(str(changed / 'f1.bin'))} -> {re.escape(base)}f1\.bin\s+\(150 B, size differs\)$",
        rf"^would copy\s+{re.escape(str(changed / 'f4.bin'))} -> {re.escape(base)}f4\.bin\s+"
        rf"\(104 B, missing at the destination\)$",
        rf"^would delete \(to trash\)\s+{re.escape(base)}f0\.bin\s+\(100 B\)$",
    ]
    for pattern in expected:
        assert sum(bool(re.match(pattern, line)) for line in out) == 1, (pattern, out)
    summary = out[-1]
    assert summary.startswith("sync (dry run): would copy 2 (254 B), would delete 1 (to trash), 2 unchanged"), summary
    assert "copied" not in done.stdout and "deleted 0" not in done.stdout
    assert keys_of(server, bucket) == before


def test_sync_dry_run_without_trash_says_delete(server, bucket, changed):
    done = run_cli(server, "sync", str(changed), f"s3://{bucket}/s/", "--delete", "--no-trash", "--dry-run")
    assert done.returncode == 0, done.stderr
    lines = [line for line in text_lines(done.stdout) if line.startswith("would delete")]
    assert len(lines) == 1 and re.match(rf"^would delete\s+s3://{bucket}/s/f0\.bin\s+\(100 B\)$", lines[0]), lines


def test_sync_dry_run_json_plan_has_real_sizes_and_would_be_counts(server, bucket, changed):
    done = run_cli(server, "sync", str(changed), f"s3://{bucket}/s/", "--delete", "--dry-run", "--json")
    assert done.returncode == 0, done.stderr
    entries, summary = json_output(done.stdout)
    sizes = {(e["op"], e["source"].rsplit("/", 1)[-1]): e["size"] for e in entries}
    assert sizes[("copy (dry run)", "f1.bin")] == 150
    assert sizes[("copy (dry run)", "f4.bin")] == 104
    assert sizes[("skip", "f2.bin")] == 102 and sizes[("skip", "f3.bin")] == 103  # today: 0
    assert sizes[("delete (dry run)", "f0.bin")] == 100
    assert summary["would_copy"] == 2 and summary["would_delete"] == 1
    assert summary["copied"] == 0 and summary["deleted"] == 0 and summary["bytes"] == 0


def test_sync_down_dry_run_names_the_local_file_it_would_delete(server, bucket, tmp_path):
    s3 = server.client()
    s3.put_object(Bucket=bucket, Key="d/keep.bin", Body=b"k" * 10)
    local = tmp_path / "local"
    assert run_cli(server, "sync", f"s3://{bucket}/d/", str(local)).returncode == 0
    random_file(local / "extra.bin", 33, seed=3)
    done = run_cli(server, "sync", f"s3://{bucket}/d/", str(local), "--delete", "--dry-run")
    assert done.returncode == 0, done.stderr
    assert any(re.match(rf"^would delete\s+{re.escape(str(local / 'extra.bin'))}\s+\(33 B\)$", line)
               for line in text_lines(done.stdout)), done.stdout
    assert (local / "extra.bin").exists()


def test_sync_text_summary_counts_what_was_done(server, bucket, changed):
    done = run_cli(server, "sync", str(changed), f"s3://{bucket}/s/", "--delete")
    assert done.returncode == 0, done.stderr
    summary = text_lines(done.stdout)[-1]
    assert re.match(r"^sync: 2 copied \(254 B\), 2 unchanged, 1 deleted \(to trash\)", summary), summary
    assert set(keys_of(server, bucket, "s/f")) == {f"s/f{i}.bin" for i in range(1, 5)}
