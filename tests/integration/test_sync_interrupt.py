"""A sync interrupted by SIGINT part-way and run again ends with the destination exactly equal
to the source, and nothing that had completed in the first run is transferred again."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from s3ferry.core.config import MiB
from s3ferry.core.locations import S3Location

from helpers import random_file, sigint
from test_sync import make_tree, run_sync

FILES = 300
BIG = 6  # multipart files (12 MiB in 5 MiB parts), early in key order so they are in flight
INTERRUPT_AFTER = 40  # results seen before the SIGINT
OPTIONS = ("--json", "-c", "4", "--part-size", "5MiB")


def make_source(root: Path) -> int:
    make_tree(root, FILES - BIG)
    for index in range(BIG):
        random_file(root / "d01" / f"big{index}.bin", 12 * MiB + index, seed=100 + index)
    return FILES


def cli(server, tmp_path: Path, *args: str) -> subprocess.Popen[str]:
    env = {**server.env(), "XDG_CACHE_HOME": str(tmp_path / "xdg")}  # the hash cache, per test
    return subprocess.Popen([sys.executable, "-m", "s3ferry", "sync", *args, *OPTIONS], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def interrupted_run(server, tmp_path: Path, *args: str) -> None:
    process = cli(server, tmp_path, *args)
    try:
        seen = 0
        assert process.stdout is not None
        for line in process.stdout:
            seen += "op" in json.loads(line)
            if seen == INTERRUPT_AFTER:
                break
    except BaseException:
        process.kill()
        raise
    sigint(process, timeout=120)


def second_run(server, tmp_path: Path, *args: str) -> list[dict]:
    process = cli(server, tmp_path, *args)
    stdout, stderr = process.communicate(timeout=600)
    assert process.returncode == 0, stderr
    return [line for line in map(json.loads, stdout.splitlines()) if "op" in line]


def listing(s3, bucket: str, prefix: str) -> dict[str, tuple[int, str, object]]:
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = (item["Size"], item["ETag"], item["LastModified"])
    return found


def test_sigint_then_rerun_up(server, bucket, tmp_path):
    src = tmp_path / "src"
    total = make_source(src)
    target = f"s3://{bucket}/m/"
    s3 = server.client()

    interrupted_run(server, tmp_path, str(src), target)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []  # aborted, not orphaned
    after_first = listing(s3, bucket, "m/")
    assert 0 < len(after_first) < total, "the interrupt came too late to test anything"

    results = second_run(server, tmp_path, str(src), target)
    sent = {r["destination"] for r in results if r["op"] == "put"}
    every = {f"{target}{p.relative_to(src).as_posix()}" for p in src.rglob("*") if p.is_file()}
    # Exactly what was missing was sent, and nothing that had completed.
    assert sent == every - {f"s3://{bucket}/{key}" for key in after_first}
    final = listing(s3, bucket, "m/")
    assert {f"s3://{bucket}/{key}" for key in final} == every
    for key, before in after_first.items():
        assert final[key] == before, f"{key} was rewritten"
    verify = subprocess.run([sys.executable, "-m", "s3ferry", "verify", str(src), target, "--quiet"],
                            env=server.env(), capture_output=True, text=True, timeout=600)
    assert verify.returncode == 0, verify.stderr


def test_sigint_then_rerun_down(server, bucket, tmp_path):
    src, out = tmp_path / "src", tmp_path / "out"
    total = make_source(src)
    summary, _ = run_sync(server, src, S3Location(bucket, "m/"), tmp_path / "seed.sqlite")
    assert summary.ok

    interrupted_run(server, tmp_path, f"s3://{bucket}/m/", str(out))
    assert not [p for p in out.rglob("*") if p.name.endswith(".s3ferry.tmp")]  # no partial file
    first = {p: os.stat(p).st_ino for p in out.rglob("*") if p.is_file()}
    assert 0 < len(first) < total, "the interrupt came too late to test anything"

    results = second_run(server, tmp_path, f"s3://{bucket}/m/", str(out))
    fetched = {Path(r["destination"]) for r in results if r["op"] == "get"}
    wanted = {out / p.relative_to(src) for p in src.rglob("*") if p.is_file()}
    assert fetched == wanted - set(first)
    assert {p for p in out.rglob("*") if p.is_file()} == wanted
    for path, inode in first.items():
        assert os.stat(path).st_ino == inode, f"{path} was downloaded again"
    for path in wanted:
        assert path.read_bytes() == (src / path.relative_to(out)).read_bytes()
