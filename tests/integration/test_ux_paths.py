"""Issue 12, item 6: paths as people mean them. A trailing slash on a get destination means a
folder; a trash prefix is always a folder and never listed as part of the tree; the resume
hint `uploads abort s3://B/K` aborts exactly that key; `uploads ls` says when there are none."""

from __future__ import annotations

import asyncio
import hashlib

import pytest

from helpers import md5_file, random_file, run_cli
from ux_helpers import json_output, keys_of, make_tree, text_lines


@pytest.mark.parametrize("folder", ["newdir/", "a/b/c/"])
def test_get_into_a_path_ending_in_a_slash_makes_a_folder(server, bucket, tmp_path, folder):
    src = random_file(tmp_path / "k.bin", 1000, seed=1)
    assert run_cli(server, "put", str(src), f"s3://{bucket}/deep/k.bin").returncode == 0
    destination = f"{tmp_path}/{folder}"
    done = run_cli(server, "get", f"s3://{bucket}/deep/k.bin", destination)
    assert done.returncode == 0, done.stderr
    landed = tmp_path / folder / "k.bin"
    assert landed.is_file() and md5_file(landed) == md5_file(src)
    assert str(landed) in done.stdout


@pytest.fixture
def synced(server, bucket, tmp_path):
    src = make_tree(tmp_path / "src", {"a.txt": 10, "b.txt": 20, "c.txt": 30})
    assert run_cli(server, "sync", str(src), f"s3://{bucket}/s/").returncode == 0
    (src / "a.txt").unlink()
    return src


def test_a_trash_prefix_without_a_slash_is_a_folder(server, bucket, synced):
    done = run_cli(server, "sync", str(synced), f"s3://{bucket}/s/", "--delete", "--trash", "old")
    assert done.returncode == 0, done.stderr
    assert set(keys_of(server, bucket)) == {"s/b.txt", "s/c.txt", "s/old/a.txt"}


def test_a_trash_folder_is_left_out_of_the_next_sync(server, bucket, synced):
    first = run_cli(server, "sync", str(synced), f"s3://{bucket}/s/", "--delete", "--trash", "old/")
    assert first.returncode == 0, first.stderr
    again = run_cli(server, "sync", str(synced), f"s3://{bucket}/s/", "--delete", "--trash", "old/", "--json")
    assert again.returncode == 0, again.stderr
    assert set(keys_of(server, bucket)) == {"s/b.txt", "s/c.txt", "s/old/a.txt"}
    entries, summary = json_output(again.stdout)
    assert summary["deleted"] == 0 and not [e for e in entries if e["op"] in ("trash", "delete")], entries


def test_uploads_abort_of_a_key_aborts_exactly_that_key(server, bucket):
    s3 = server.client()
    ids = {key: s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"] for key in ("K", "K.bak", "K/x")}
    done = run_cli(server, "uploads", "abort", f"s3://{bucket}/K")
    assert done.returncode == 0, done.stderr
    assert "aborted 1 incomplete upload" in done.stdout
    left = {u["Key"]: u["UploadId"] for u in s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])}
    assert left == {"K.bak": ids["K.bak"], "K/x": ids["K/x"]}
    # a prefix ending in "/" still means everything under it
    under = run_cli(server, "uploads", "abort", f"s3://{bucket}/K/")
    assert under.returncode == 0 and "aborted 1" in under.stdout
    s3.abort_multipart_upload(Bucket=bucket, Key="K.bak", UploadId=ids["K.bak"])


def test_uploads_ls_says_when_there_are_none(server, bucket):
    done = run_cli(server, "uploads", "ls", f"s3://{bucket}")
    assert done.returncode == 0, done.stderr
    assert text_lines(done.stdout) == [f"no incomplete uploads under s3://{bucket}/"]
    as_json = run_cli(server, "uploads", "ls", f"s3://{bucket}", "--json")
    assert as_json.returncode == 0 and as_json.stdout == ""  # JSON lines: none is no line


def test_an_extra_too_big_for_copyobject_moves_to_the_trash_in_part_copies(server, bucket, tmp_path, monkeypatch):
    """CopyObject takes at most 5 GiB. The limit is lowered here (in this process) so that a
    12 MiB extra stands for a 5 GiB one: it must reach the trash whole, by UploadPartCopy."""
    import s3ferry
    from s3ferry.core import copy_plan
    from s3ferry.ops import sync_deletes
    from ux_helpers import MiB

    monkeypatch.setattr(sync_deletes, "MAX_SINGLE_PUT", 5 * MiB)
    monkeypatch.setattr(copy_plan, "MAX_SINGLE_PUT", 5 * MiB)
    big = random_file(tmp_path / "big.bin", 12 * MiB, seed=8)
    s3 = server.client()
    s3.put_object(Bucket=bucket, Key="s/big.bin", Body=big.read_bytes())
    (tmp_path / "src").mkdir()
    config = server.config(part_size=5 * MiB, multipart_threshold=5 * MiB)
    report = asyncio.run(s3ferry.sync(tmp_path / "src", f"s3://{bucket}/s/", config=config, delete=True,
                                      trash="old", cache_path=tmp_path / "cache.sqlite"))
    assert report.ok and report.deleted == 1, report.summary.errors
    assert set(keys_of(server, bucket)) == {"s/old/big.bin"}
    trashed = s3.get_object(Bucket=bucket, Key="s/old/big.bin")
    assert trashed["ETag"].strip('"').endswith("-3")  # part copies, not one CopyObject
    assert md5_file(big) == hashlib.md5(trashed["Body"].read()).hexdigest()
