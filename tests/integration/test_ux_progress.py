"""Issue 12, item 4: the progress bar says what is moving (the file name for one file, N/M
files for a tree), in the summary's units (MiB/s), never "starting" or an ETA of "?"; and
there is no bar at all when stderr is not a terminal."""

from __future__ import annotations

import re

from helpers import random_file, run_cli
from ux_helpers import MiB, bar_frames, make_tree, run_with_tty


def assert_units_and_no_placeholders(frames: list[str]) -> None:
    assert frames, "no progress bar was drawn"
    assert not any("starting" in f for f in frames), frames
    assert not any(re.search(r"\bMB/s|\bkB/s|\bGB/s", f) for f in frames), frames
    assert not any(re.search(r"(^|\s)\?(\s|$)", f) for f in frames), frames  # an ETA or rate of "?"


def test_one_file_bar_is_labelled_with_its_name_and_uses_mib(server, bucket, tmp_path):
    src = random_file(tmp_path / "big-one.bin", 16 * MiB, seed=1)
    code, stdout, terminal = run_with_tty(server, "put", str(src), f"s3://{bucket}/big-one.bin",
                                          "--part-size", "5MiB", "-c", "1")
    assert code == 0, terminal
    frames = [f for f in bar_frames(terminal) if "━" in f]
    assert_units_and_no_placeholders(frames)
    assert all(f.startswith("big-one.bin") for f in frames), frames
    assert any("MiB/s" in f for f in frames), frames
    assert "put " in stdout  # the closing line still goes to stdout


def test_tree_bar_counts_files_out_of_the_total(server, bucket, tmp_path):
    root = make_tree(tmp_path / "tree", {f"d{i % 3}/f{i:02}.bin": 256 * 1024 for i in range(30)})
    code, _, terminal = run_with_tty(server, "put", str(root), f"s3://{bucket}/t/", "-c", "2")
    assert code == 0, terminal
    frames = [f for f in bar_frames(terminal) if "━" in f]
    assert_units_and_no_placeholders(frames)
    labels = [f.split("━")[0].strip() for f in frames]
    assert all(re.fullmatch(r"\d+/30 files|counting…( \d+ files)?", label) for label in labels), labels
    assert any(label.endswith("/30 files") for label in labels), labels


def test_tree_get_bar_counts_files_out_of_the_total(server, bucket, tmp_path):
    root = make_tree(tmp_path / "tree", {f"f{i:02}.bin": 128 * 1024 for i in range(12)})
    assert run_cli(server, "put", str(root), f"s3://{bucket}/g/").returncode == 0
    code, _, terminal = run_with_tty(server, "get", f"s3://{bucket}/g/", str(tmp_path / "back"), "-c", "1")
    assert code == 0, terminal
    labels = [f.split("━")[0].strip() for f in bar_frames(terminal) if "━" in f]
    assert labels and any(label.endswith("/12 files") for label in labels), labels


def test_no_bar_when_stderr_is_not_a_terminal(server, bucket, tmp_path):
    src = random_file(tmp_path / "f.bin", 6 * MiB, seed=2)
    done = run_cli(server, "put", str(src), f"s3://{bucket}/f.bin", "--part-size", "5MiB")
    assert done.returncode == 0, done.stderr
    assert done.stderr == "" and "\x1b[" not in done.stdout and "━" not in done.stdout
