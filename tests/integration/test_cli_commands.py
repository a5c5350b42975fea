"""The sync and uploads commands through the real CLI."""

from __future__ import annotations

import json

from helpers import random_file, run_cli


def summary_of(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])["summary"]


def test_cli_sync_up_noop_and_dry_run_delete(server, bucket, tmp_path):
    src = tmp_path / "src"
    for index in range(5):
        random_file(src / f"f{index}.bin", 1000 + index, seed=index)
    first = run_cli(server, "sync", str(src), f"s3://{bucket}/s/", "--json")
    assert first.returncode == 0, first.stderr
    assert summary_of(first.stdout)["copied"] == 5
    (src / "f0.bin").unlink()
    again = run_cli(server, "sync", str(src), f"s3://{bucket}/s/", "--json", "--delete", "--dry-run")
    summary = summary_of(again.stdout)
    assert again.returncode == 0 and summary["copied"] == 0 and summary["hashed"] == 0 and summary["bytes"] == 0
    assert "delete (dry run)" in again.stdout
    keys = {o["Key"] for o in server.client().list_objects_v2(Bucket=bucket)["Contents"]}
    assert "s/f0.bin" in keys


def test_cli_uploads_ls_and_abort(server, bucket):
    s3 = server.client()
    upload_id = s3.create_multipart_upload(Bucket=bucket, Key="stale/x")["UploadId"]
    listed = run_cli(server, "uploads", "ls", f"s3://{bucket}", "--json")
    assert listed.returncode == 0, listed.stderr
    assert json.loads(listed.stdout.strip())["upload_id"] == upload_id
    aborted = run_cli(server, "uploads", "abort", f"s3://{bucket}/stale/")
    assert aborted.returncode == 0 and "aborted 1" in aborted.stdout
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    bad = run_cli(server, "uploads", "ls", f"s3://{bucket}", "--older-than", "soon")
    assert bad.returncode == 2 and "not an age" in bad.stderr
