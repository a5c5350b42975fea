"""S3 -> S3 sync against real servers: server-side within one endpoint, streamed between the
two lanes' servers (moto and Ceph) as two endpoints."""

from __future__ import annotations

import asyncio
import json
import uuid
from pathlib import Path

import pytest

from s3ferry import api
from s3ferry.core.config import MiB
from s3ferry.core.locations import S3Location

from helpers import boto3_multipart, random_file, run_cli
from test_sync import make_tree, remote_keys, run_sync

PART = 5 * MiB


def objects(s3, bucket: str, prefix: str) -> dict[str, tuple[int, str]]:
    """key below the prefix -> (size, ETag)."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"][len(prefix):]] = (item["Size"], item["ETag"].strip('"'))
    return found


def body(s3, bucket: str, key: str) -> bytes:
    return s3.get_object(Bucket=bucket, Key=key)["Body"].read()


def seed_source(server, bucket: str, tmp_path: Path, prefix: str = "src/") -> Path:
    """A tree put by s3ferry (small files and one multipart file with its layout in the
    metadata), plus a foreign multipart object (plain boto3, no metadata)."""
    tree = tmp_path / "tree"
    make_tree(tree, 12)
    random_file(tree / "big.bin", 12 * MiB, seed=5)
    with pytest.MonkeyPatch.context() as env:  # the server may not be the lane's: its own keys
        env.setenv("AWS_ACCESS_KEY_ID", server.access_key)
        env.setenv("AWS_SECRET_ACCESS_KEY", server.secret_key)
        summary, _ = run_sync(server, tree, S3Location(bucket, prefix), tmp_path / "seed.sqlite")
    assert summary.ok
    data = random_file(tmp_path / "foreign.bin", 11 * MiB, seed=6).read_bytes()
    boto3_multipart(server.client(), bucket, prefix + "foreign.bin", data, PART)
    return tree


def test_s3_to_s3_server_side(server, bucket, tmp_path):
    s3 = server.client()
    seed_source(server, bucket, tmp_path)
    cache = tmp_path / "cache.sqlite"
    src, dst = S3Location(bucket, "src/"), S3Location(bucket, "dst/")

    summary, stats = run_sync(server, src, dst, cache)
    assert summary.ok and stats.copied == 14, summary.errors
    source, copy = objects(s3, bucket, "src/"), objects(s3, bucket, "dst/")
    assert source.keys() == copy.keys()
    for key in source:
        assert body(s3, bucket, "dst/" + key) == body(s3, bucket, "src/" + key), key
    # Layouts kept: s3ferry's own objects (single and multipart) keep their ETags.
    assert copy["big.bin"] == source["big.bin"] and source["big.bin"][1].endswith("-2")
    assert copy["d00/f00000.bin"] == source["d00/f00000.bin"]
    # A foreign multipart object: moto tells its layout (PartNumber=1), so the parts are copied
    # at it; Ceph does not, and its CopyObject keeps a multipart ETag by itself.
    assert copy["foreign.bin"] == source["foreign.bin"]

    again, stats = run_sync(server, src, dst, cache)
    assert again.ok and stats.copied == 0 and stats.skipped == 14 and again.bytes == 0

    # Same size, different bytes, written by another tool: re-copied.
    changed = bytearray(body(s3, bucket, "src/d01/f00001.bin"))
    changed[0] ^= 0xFF
    s3.put_object(Bucket=bucket, Key="src/d01/f00001.bin", Body=bytes(changed))
    _, stats = run_sync(server, src, dst, cache)
    assert stats.copied == 1 and body(s3, bucket, "dst/d01/f00001.bin") == bytes(changed)


def test_s3_to_s3_delete_dry_run_and_excludes(server, bucket, tmp_path):
    s3 = server.client()
    seed_source(server, bucket, tmp_path)
    cache = tmp_path / "cache.sqlite"
    src, dst = S3Location(bucket, "src/"), S3Location(bucket, "dst/")
    summary, _ = run_sync(server, src, dst, cache, excludes=["d02/", "*.tmp"])
    assert summary.ok
    copied = set(objects(s3, bucket, "dst/"))
    assert copied and not any(k.startswith("d02/") for k in copied) and "d03/f00003.bin" in copied

    s3.delete_object(Bucket=bucket, Key="src/d03/f00003.bin")
    s3.put_object(Bucket=bucket, Key="src/new.bin", Body=b"new")
    before = remote_keys(server, bucket, "dst/")
    _, stats = run_sync(server, src, dst, cache, delete=True, trash=".s3ferry-trash/t1/", dry_run=True,
                        excludes=["d02/"])
    assert remote_keys(server, bucket, "dst/") == before and stats.deleted == 0 and stats.copied == 0
    assert stats.would_copy == 1 and stats.would_delete == 1

    _, stats = run_sync(server, src, dst, cache, delete=True, trash=".s3ferry-trash/t1/", excludes=["d02/"])
    after = remote_keys(server, bucket, "dst/")
    assert stats.deleted == 1 and stats.copied == 1
    assert "dst/d03/f00003.bin" not in after and "dst/.s3ferry-trash/t1/d03/f00003.bin" in after
    assert "dst/new.bin" in after
    _, stats = run_sync(server, src, dst, cache, delete=True, trash=".s3ferry-trash/t2/", excludes=["d02/"])
    assert stats.deleted == 0 and stats.copied == 0


@pytest.fixture
def other_server(server, request):
    """The other lane's server: a second endpoint with its own credentials."""
    return request.getfixturevalue("ceph" if server.name == "moto" else "moto")


@pytest.fixture
def other_bucket(other_server):
    name = f"o-{uuid.uuid4().hex[:16]}"
    s3 = other_server.client()
    s3.create_bucket(Bucket=name)
    yield name
    leftover = s3.list_multipart_uploads(Bucket=name).get("Uploads", [])
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=name):
        for item in page.get("Contents", []):
            s3.delete_object(Bucket=name, Key=item["Key"])
    s3.delete_bucket(Bucket=name)
    assert leftover == []


def test_s3_to_s3_between_two_endpoints(server, bucket, other_server, other_bucket, tmp_path, monkeypatch):
    """Source on the other lane's server, read with its own credentials (--source-profile);
    destination on this lane's. The bytes stream through s3ferry."""
    credentials = tmp_path / "credentials"
    credentials.write_text(f"[source]\naws_access_key_id = {other_server.access_key}\n"
                           f"aws_secret_access_key = {other_server.secret_key}\n")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(credentials))
    seed_source(other_server, other_bucket, tmp_path)
    src_s3, dst_s3 = other_server.client(), server.client()
    # A single-PUT object above the multipart threshold: the copy must go in parts, so its ETag
    # cannot be kept, and the next sync recognises it by the recorded source ETag.
    src_s3.put_object(Bucket=other_bucket, Key="src/single9.bin",
                      Body=random_file(tmp_path / "s9.bin", 9 * MiB, seed=7).read_bytes())

    def go(**options):
        return asyncio.run(api.sync(f"s3://{other_bucket}/src/", f"s3://{bucket}/dst/", config=server.config(),
                                    source_endpoint_url=other_server.endpoint_url, source_profile="source",
                                    cache_path=tmp_path / "cache.sqlite", **options))

    report = go()
    assert report.ok and report.copied == 15, report.summary.errors
    source, copy = objects(src_s3, other_bucket, "src/"), objects(dst_s3, bucket, "dst/")
    assert source.keys() == copy.keys()
    for key in source:
        assert body(dst_s3, bucket, "dst/" + key) == body(src_s3, other_bucket, "src/" + key), key
    assert copy["big.bin"] == source["big.bin"]  # streamed at the source's own part size
    assert copy["single9.bin"][1].endswith("-2") and not source["single9.bin"][1].endswith("-2")

    again = go()
    assert again.ok and again.copied == 0 and again.skipped == 15

    changed = bytearray(body(src_s3, other_bucket, "src/big.bin"))
    changed[-1] ^= 0xFF
    boto3_multipart(src_s3, other_bucket, "src/big.bin", bytes(changed), PART)
    src_s3.delete_object(Bucket=other_bucket, Key="src/d04/f00004.bin")
    report = go(delete=True, trash=None)
    assert report.ok and report.copied == 1 and report.deleted == 1
    assert body(dst_s3, bucket, "dst/big.bin") == bytes(changed)
    assert set(objects(dst_s3, bucket, "dst/")) == set(objects(src_s3, other_bucket, "src/"))


def test_cli_s3_to_s3(server, bucket, tmp_path):
    s3 = server.client()
    s3.put_object(Bucket=bucket, Key="src/a.txt", Body=b"alpha")
    s3.put_object(Bucket=bucket, Key="src/b/c.txt", Body=b"gamma")
    done = run_cli(server, "sync", f"s3://{bucket}/src/", f"s3://{bucket}/dst/", "--json")
    assert done.returncode == 0, done.stderr
    lines = [json.loads(line) for line in done.stdout.splitlines()]
    assert sorted(line["destination"] for line in lines if line.get("op") == "copy") == \
        [f"s3://{bucket}/dst/a.txt", f"s3://{bucket}/dst/b/c.txt"]
    assert all(line["verdict"] == "match" for line in lines if line.get("op") == "copy")
    assert body(s3, bucket, "dst/b/c.txt") == b"gamma"
    # Overlapping prefixes on one endpoint would copy into what is being listed.
    overlap = run_cli(server, "sync", f"s3://{bucket}/src/", f"s3://{bucket}/src/inner/")
    assert overlap.returncode == 2 and "overlap" in overlap.stderr and "Traceback" not in overlap.stderr
    # A source endpoint is for an s3:// source only.
    local = run_cli(server, "sync", str(tmp_path), f"s3://{bucket}/x/", "--source-endpoint-url", "http://127.0.0.1:9")
    assert local.returncode == 2 and "needs an s3:// source" in local.stderr
