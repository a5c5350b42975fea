"""ls, du, stat and rm through the real CLI (issue 15): 1,500 keys across ListObjectsV2 pages
and DeleteObjects batches; rm refuses without --yes when there is no terminal to ask."""

from __future__ import annotations

import json
import subprocess
from concurrent.futures import ThreadPoolExecutor

import pytest

from s3ferry.core.config import MiB
from s3ferry.core.errors import EXIT_NOT_FOUND, EXIT_USAGE

from helpers import random_file, run_cli

MANY = 1_500


def fill(server, bucket: str, count: int = MANY, prefix: str = "p/") -> set[str]:
    """``count`` small objects under ``prefix`` (more than a page), plus two in a sub-prefix."""
    s3 = server.client()
    keys = {f"{prefix}k{i:05d}" for i in range(count)} | {f"{prefix}sub/a", f"{prefix}sub/b"}
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda k: s3.put_object(Bucket=bucket, Key=k, Body=k.encode()), sorted(keys)))
    return keys


def all_keys(server, bucket: str) -> set[str]:
    found = set()
    for page in server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket):
        found |= {item["Key"] for item in page.get("Contents", [])}
    return found


@pytest.mark.parametrize("server", ["moto"], indirect=True)
def test_ls_recursive_json_lists_every_key_across_pages(server, bucket):
    keys = fill(server, bucket)
    listed = run_cli(server, "ls", f"s3://{bucket}/p/", "--recursive", "--json")
    assert listed.returncode == 0, listed.stderr
    lines = [json.loads(line) for line in listed.stdout.splitlines()]
    assert [line["key"] for line in lines] == sorted(keys, key=str.encode)
    assert lines[0]["size"] == len(lines[0]["key"]) and lines[0]["etag"] and lines[0]["storage_class"]
    assert lines[0]["url"] == f"s3://{bucket}/{lines[0]['key']}"

    shallow = run_cli(server, "ls", f"s3://{bucket}/p/")
    assert shallow.returncode == 0, shallow.stderr
    rows = shallow.stdout.splitlines()
    assert len(rows) == MANY + 1 and any("PRE" in row and row.endswith("p/sub/") for row in rows)

    du = run_cli(server, "du", f"s3://{bucket}/p/", "--json")
    assert du.returncode == 0, du.stderr
    sums = [json.loads(line) for line in du.stdout.splitlines()]
    total = sums[-1]
    assert total["prefix"] == "p/" and total["objects"] == MANY + 2
    assert total["bytes"] == sum(len(k) for k in keys)
    assert {"prefix": "p/sub/", "objects": 2, "bytes": 2 * len("p/sub/a")} in sums


def test_ls_buckets_and_human_sizes(server, bucket, tmp_path):
    random_file(tmp_path / "f", 3 * MiB // 2)
    server.client().upload_file(str(tmp_path / "f"), bucket, "d/f.bin")
    buckets = run_cli(server, "ls")
    assert buckets.returncode == 0 and bucket in buckets.stdout.split(), buckets.stderr
    human = run_cli(server, "ls", f"s3://{bucket}/d/", "--human")
    assert human.returncode == 0 and "1.5MiB" in human.stdout and "d/f.bin" in human.stdout, human.stdout
    missing = run_cli(server, "ls", "s3://no-such-bucket-s3ferry/")
    assert missing.returncode == EXIT_NOT_FOUND and "bucket does not exist" in missing.stderr
    assert "Traceback" not in missing.stderr


def test_stat_prints_head_and_layout(server, bucket, tmp_path):
    path = random_file(tmp_path / "big.bin", 12 * MiB)
    put = run_cli(server, "put", str(path), f"s3://{bucket}/big.bin", "--part-size", "5MiB")
    assert put.returncode == 0, put.stderr
    stat = run_cli(server, "stat", f"s3://{bucket}/big.bin", "--json")
    assert stat.returncode == 0, stat.stderr
    info = json.loads(stat.stdout)
    assert info["size"] == 12 * MiB and info["etag"].endswith("-3") and info["parts"] == 3
    assert info["part_size"] == 5 * MiB and info["layout"] == "metadata"
    assert info["metadata"]["s3ferry-part-size"] == str(5 * MiB)
    plain = run_cli(server, "stat", f"s3://{bucket}/big.bin")
    assert plain.returncode == 0 and "parts" in plain.stdout and "5.0MiB" in plain.stdout
    gone = run_cli(server, "stat", f"s3://{bucket}/nope")
    assert gone.returncode == EXIT_NOT_FOUND and gone.stderr.startswith("error: ") and "Traceback" not in gone.stderr


@pytest.mark.parametrize("server", ["moto"], indirect=True)
def test_rm_recursive_refuses_without_yes_then_deletes_1500(server, bucket):
    keys = fill(server, bucket)
    server.client().put_object(Bucket=bucket, Key="other", Body=b"x")

    refused = run_cli(server, "rm", f"s3://{bucket}/p/", "--recursive", stdin=subprocess.DEVNULL)
    assert refused.returncode == EXIT_USAGE, refused.stderr
    assert "--yes" in refused.stderr and "Traceback" not in refused.stderr
    assert all_keys(server, bucket) == keys | {"other"}

    dry = run_cli(server, "rm", f"s3://{bucket}/p/", "--recursive", "--dry-run")
    assert dry.returncode == 0 and f"{MANY + 2}" in dry.stdout, dry.stdout
    assert all_keys(server, bucket) == keys | {"other"}

    done = run_cli(server, "rm", f"s3://{bucket}/p/", "--recursive", "--yes")
    assert done.returncode == 0, done.stderr
    assert f"deleted {MANY + 2:,}" in done.stdout or f"deleted {MANY + 2}" in done.stdout, done.stdout
    assert all_keys(server, bucket) == {"other"}


def test_rm_one_key(server, bucket):
    s3 = server.client()
    s3.put_object(Bucket=bucket, Key="a b+c", Body=b"x")
    s3.put_object(Bucket=bucket, Key="a b+c2", Body=b"x")
    done = run_cli(server, "rm", f"s3://{bucket}/a b+c")
    assert done.returncode == 0, done.stderr
    assert all_keys(server, bucket) == {"a b+c2"}
    missing = run_cli(server, "rm", f"s3://{bucket}/a b+c")
    assert missing.returncode == EXIT_NOT_FOUND and "not found" in missing.stderr
