"""cp and mv between objects through the real CLI (issue 15): server-side copies keep a
multipart source's ETag; mv deletes the source only after the copy verified."""

from __future__ import annotations

import json

import pytest

from s3ferry.core.config import MiB
from s3ferry.core.errors import EXIT_NOT_FOUND

from helpers import boto3_multipart, md5_file, proxy_in_front, random_file, run_cli

moto_only = pytest.mark.parametrize("server", ["moto"], indirect=True)


def etag(s3, bucket: str, key: str) -> str:
    return s3.head_object(Bucket=bucket, Key=key)["ETag"].strip('"')


def exists(s3, bucket: str, key: str) -> bool:
    return s3.list_objects_v2(Bucket=bucket, Prefix=key).get("KeyCount", 0) > 0 and any(
        o["Key"] == key for o in s3.list_objects_v2(Bucket=bucket, Prefix=key)["Contents"])


def test_cp_keeps_a_multipart_etag(server, bucket, tmp_path):
    s3 = server.client()
    data = random_file(tmp_path / "f", 13 * MiB, seed=1).read_bytes()
    source_etag = boto3_multipart(s3, bucket, "src/foreign.bin", data, 6 * MiB).strip('"') or etag(s3, bucket,
                                                                                                    "src/foreign.bin")
    put = run_cli(server, "put", str(tmp_path / "f"), f"s3://{bucket}/src/ours.bin", "--part-size", "5MiB")
    assert put.returncode == 0, put.stderr
    for key in ("ours.bin", "foreign.bin"):
        result = run_cli(server, "cp", f"s3://{bucket}/src/{key}", f"s3://{bucket}/dst/", "--json")
        assert result.returncode == 0, result.stderr
        line = json.loads(result.stdout.splitlines()[0])
        assert line["verdict"] == "match" and line["op"] == "cp", line
        assert etag(s3, bucket, f"dst/{key}") == etag(s3, bucket, f"src/{key}")
    if server.name == "moto":
        assert etag(s3, bucket, "dst/foreign.bin") == source_etag and source_etag.endswith("-3")


def test_cp_recursive_prefix(server, bucket, tmp_path):
    s3 = server.client()
    for index in range(5):
        s3.put_object(Bucket=bucket, Key=f"a/d{index % 2}/k{index}", Body=b"x" * index)
    result = run_cli(server, "cp", f"s3://{bucket}/a/", f"s3://{bucket}/b/", "--recursive")
    assert result.returncode == 0, result.stderr
    copied = {o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="b/")["Contents"]}
    assert copied == {f"b/d{i % 2}/k{i}" for i in range(5)}
    into_itself = run_cli(server, "cp", f"s3://{bucket}/a/", f"s3://{bucket}/a/sub/", "--recursive")
    assert into_itself.returncode == 2 and "inside" in into_itself.stderr


def test_mv_object_and_local(server, bucket, tmp_path):
    s3 = server.client()
    path = random_file(tmp_path / "up.bin", 11 * MiB, seed=2)
    digest = md5_file(path)
    up = run_cli(server, "mv", str(path), f"s3://{bucket}/staging/up.bin", "--part-size", "5MiB")
    assert up.returncode == 0, up.stderr
    assert not path.exists()
    across = run_cli(server, "mv", f"s3://{bucket}/staging/up.bin", f"s3://{bucket}/archive/up.bin")
    assert across.returncode == 0, across.stderr
    assert not exists(s3, bucket, "staging/up.bin") and exists(s3, bucket, "archive/up.bin")
    down = run_cli(server, "mv", f"s3://{bucket}/archive/up.bin", str(tmp_path / "back.bin"))
    assert down.returncode == 0, down.stderr
    assert md5_file(tmp_path / "back.bin") == digest and not exists(s3, bucket, "archive/up.bin")


@moto_only
def test_mv_keeps_the_source_when_the_copy_fails(server, bucket, tmp_path):
    s3 = server.client()
    data = random_file(tmp_path / "f", 11 * MiB, seed=3).read_bytes()
    boto3_multipart(s3, bucket, "staging/x.bin", data, 5 * MiB)
    s3.put_object(Bucket=bucket, Key="staging/y.bin", Body=b"small")
    with proxy_in_front(server) as proxy:
        # Every write to the archive fails (CopyObject, UploadPartCopy, Create...); reads pass.
        proxy.set_fault("status", methods={"PUT", "POST"}, match=lambda method, target: "/archive/" in target)
        for key in ("x.bin", "y.bin"):
            result = run_cli(server, "mv", f"s3://{bucket}/staging/{key}", f"s3://{bucket}/archive/{key}",
                             "--endpoint-url", proxy.url, "--addressing-style", "path", "--max-attempts", "2")
            assert result.returncode == 1, result.stderr
            assert "Traceback" not in result.stderr and "source kept" in result.stderr, result.stderr
            assert exists(s3, bucket, f"staging/{key}") and not exists(s3, bucket, f"archive/{key}")
    missing = run_cli(server, "mv", f"s3://{bucket}/staging/nope", f"s3://{bucket}/archive/nope")
    assert missing.returncode == EXIT_NOT_FOUND, missing.stderr
