"""Object options round-trip on put and are kept by cp (issue 15); put --skip-unchanged."""

from __future__ import annotations

import json

import pytest

from s3ferry.core.config import MiB

from helpers import random_file, run_cli

moto_only = pytest.mark.parametrize("server", ["moto"], indirect=True)
OPTIONS = ["--content-type", "application/pdf", "--content-disposition", "attachment; filename=report.pdf",
           "--cache-control", "max-age=60", "--metadata", "owner=ci", "--metadata", "Build=42",
           "--tag", "team=data eng", "--tag", "keep=yes", "--storage-class", "STANDARD_IA"]


def described(s3, bucket: str, key: str) -> dict:
    head = s3.head_object(Bucket=bucket, Key=key)
    tags = {t["Key"]: t["Value"] for t in s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"]}
    metadata = {k: v for k, v in head["Metadata"].items() if not k.startswith("s3ferry-")}
    return {"type": head["ContentType"], "disposition": head.get("ContentDisposition"),
            "cache": head.get("CacheControl"), "metadata": metadata, "tags": tags,
            "class": head.get("StorageClass", "STANDARD")}


EXPECTED = {"type": "application/pdf", "disposition": "attachment; filename=report.pdf", "cache": "max-age=60",
            "metadata": {"owner": "ci", "build": "42"}, "tags": {"team": "data eng", "keep": "yes"},
            "class": "STANDARD_IA"}


@moto_only
def test_options_round_trip_on_put_and_are_kept_by_cp(server, bucket, tmp_path):
    s3 = server.client()
    small = random_file(tmp_path / "report", 1000, seed=1)
    large = random_file(tmp_path / "large", 11 * MiB, seed=2)
    for path in (small, large):
        put = run_cli(server, "put", str(path), f"s3://{bucket}/{path.name}", "--part-size", "5MiB", *OPTIONS)
        assert put.returncode == 0, put.stderr
        assert described(s3, bucket, path.name) == EXPECTED, path.name
        cp = run_cli(server, "cp", f"s3://{bucket}/{path.name}", f"s3://{bucket}/copy/{path.name}")
        assert cp.returncode == 0, cp.stderr
        assert described(s3, bucket, f"copy/{path.name}") == EXPECTED, path.name
    told = run_cli(server, "cp", f"s3://{bucket}/large", f"s3://{bucket}/copy2/large", "--storage-class", "STANDARD",
                   "--tag", "only=this")
    assert told.returncode == 0, told.stderr
    changed = described(s3, bucket, "copy2/large")
    assert changed["class"] == "STANDARD" and changed["tags"] == {"only": "this"}
    assert changed["metadata"] == EXPECTED["metadata"]


def test_content_type_guessed_and_bad_options_refused(server, bucket, tmp_path):
    path = random_file(tmp_path / "page.html", 100)
    put = run_cli(server, "put", str(path), f"s3://{bucket}/page.html")
    assert put.returncode == 0, put.stderr
    assert server.client().head_object(Bucket=bucket, Key="page.html")["ContentType"] == "text/html"
    for bad, needle in [(["--metadata", "novalue"], "KEY=VALUE"), (["--storage-class", "COLD"], "storage class"),
                        (["--sse-kms-key-id", "k"], "--sse aws:kms")]:
        result = run_cli(server, "put", str(path), f"s3://{bucket}/bad.html", *bad)
        assert result.returncode == 2 and needle in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert "Contents" not in server.client().list_objects_v2(Bucket=bucket, Prefix="bad")


def test_put_skip_unchanged(server, bucket, tmp_path):
    s3 = server.client()
    path = random_file(tmp_path / "artifact.bin", 11 * MiB, seed=3)
    s3.upload_file(str(path), bucket, "a/artifact.bin")  # another tool, another part size (8 MiB)
    before = s3.head_object(Bucket=bucket, Key="a/artifact.bin")["LastModified"]
    same = run_cli(server, "put", str(path), f"s3://{bucket}/a/", "--skip-unchanged", "--json")
    assert same.returncode == 0, same.stderr
    line = json.loads(same.stdout.splitlines()[0])
    assert line["verdict"] == "match" and "unchanged" in line["detail"], line
    assert json.loads(same.stdout.splitlines()[-1])["summary"]["bytes"] == 0
    assert s3.head_object(Bucket=bucket, Key="a/artifact.bin")["LastModified"] == before
    with open(path, "r+b") as handle:  # same size, other bytes
        handle.seek(5 * MiB)
        handle.write(b"changed")
    again = run_cli(server, "put", str(path), f"s3://{bucket}/a/", "--skip-unchanged", "--json")
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout.splitlines()[-1])["summary"]["bytes"] == 11 * MiB


@moto_only
def test_sync_takes_object_options(server, bucket, tmp_path):
    tree = tmp_path / "site"
    random_file(tree / "index.html", 100, seed=4)
    random_file(tree / "data" / "blob", 200, seed=5)
    result = run_cli(server, "sync", str(tree), f"s3://{bucket}/site/", "--cache-control", "max-age=60",
                     "--tag", "site=yes")
    assert result.returncode == 0, result.stderr
    s3 = server.client()
    for key, content_type in (("site/index.html", "text/html"), ("site/data/blob", "application/octet-stream")):
        head = s3.head_object(Bucket=bucket, Key=key)
        assert head["CacheControl"] == "max-age=60" and head["ContentType"] == content_type
        assert s3.get_object_tagging(Bucket=bucket, Key=key)["TagSet"] == [{"Key": "site", "Value": "yes"}]
