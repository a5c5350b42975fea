"""Presigned transfers (issue 15): a PUT URL used by plain curl, a multipart manifest driven
with no AWS variables at all, a presigned GET downloaded in ranges and verified."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest

from s3ferry.core.config import MiB
from s3ferry.core.etag import etag_of_bytes

from helpers import interrupt_when, md5_file, proxy_in_front, random_file, run_cli

moto_only = pytest.mark.parametrize("server", ["moto"], indirect=True)


def no_credentials_env(tmp_path) -> dict[str, str]:
    """The environment of someone holding only URLs: no AWS_* or S3FERRY_* variables at all,
    and no AWS config files to fall back on."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "S3FERRY_"))}
    env["HOME"] = str(tmp_path / "home")
    return env


def run_bare(tmp_path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "s3ferry", *args], capture_output=True, text=True,
                          env=no_credentials_env(tmp_path), timeout=300)


def test_presigned_put_works_with_plain_curl(server, bucket, tmp_path):
    path = random_file(tmp_path / "doc.pdf", 300_000, seed=1)
    made = run_cli(server, "presign", f"s3://{bucket}/docs/doc.pdf", "--put", "--expires", "10m")
    assert made.returncode == 0, made.stderr
    url = made.stdout.strip()
    assert url.startswith("http") and "X-Amz-Signature" in url and "\n" not in url
    curl = subprocess.run(["curl", "-sS", "--fail", "-T", str(path), url], capture_output=True, text=True)
    assert curl.returncode == 0, curl.stderr
    s3 = server.client()
    assert s3.head_object(Bucket=bucket, Key="docs/doc.pdf")["ETag"].strip('"') == md5_file(path)


def test_manifest_upload_of_40_mib_without_aws_variables(server, bucket, tmp_path):
    path = random_file(tmp_path / "big.bin", 40 * MiB, seed=2)
    made = run_cli(server, "presign", f"s3://{bucket}/big.bin", "--multipart", "--part-size", "16MiB",
                   "--size", str(40 * MiB))
    assert made.returncode == 0, made.stderr
    manifest = json.loads(made.stdout)
    assert len(manifest["parts"]) == 3 and manifest["upload_id"]
    (tmp_path / "manifest.json").write_text(made.stdout)
    up = run_bare(tmp_path, "put", str(path), "--presigned", str(tmp_path / "manifest.json"), "--json")
    assert up.returncode == 0, up.stderr
    line = json.loads(up.stdout.splitlines()[0])
    assert line["verdict"] == "match", line
    s3 = server.client()
    assert s3.head_object(Bucket=bucket, Key="big.bin")["ETag"].strip('"') == etag_of_bytes(path.read_bytes(), 16 * MiB)


@moto_only
def test_failed_manifest_upload_is_aborted(server, bucket, tmp_path):
    path = random_file(tmp_path / "big.bin", 12 * MiB, seed=3)
    with proxy_in_front(server) as proxy:
        made = run_cli(server, "presign", f"s3://{bucket}/big.bin", "--multipart", "--part-size", "5MiB",
                       "--size", str(12 * MiB), "--endpoint-url", proxy.url, "--addressing-style", "path")
        assert made.returncode == 0, made.stderr
        (tmp_path / "m.json").write_text(made.stdout)
        proxy.set_fault("status", methods={"PUT"}, match=lambda method, target: "partNumber=2" in target)
        up = run_bare(tmp_path, "put", str(path), "--presigned", str(tmp_path / "m.json"), "--max-attempts", "2")
    assert up.returncode == 1 and "Traceback" not in up.stderr, up.stderr
    assert "X-Amz-Signature" not in up.stderr  # a signature is a credential for a while
    assert server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    wrong = random_file(tmp_path / "other.bin", 3, seed=4)
    refused = run_bare(tmp_path, "put", str(wrong), "--presigned", str(tmp_path / "m.json"))
    assert refused.returncode == 2 and "manifest was made for" in refused.stderr


def test_presigned_get_downloads_in_ranges_and_verifies(server, bucket, tmp_path):
    path = random_file(tmp_path / "src.bin", 13 * MiB, seed=5)
    put = run_cli(server, "put", str(path), f"s3://{bucket}/g.bin", "--part-size", "5MiB")
    assert put.returncode == 0, put.stderr
    made = run_cli(server, "presign", f"s3://{bucket}/g.bin", "--expires", "1h")
    assert made.returncode == 0, made.stderr
    out = tmp_path / "out.bin"
    got = run_bare(tmp_path, "get", made.stdout.strip(), str(out), "--part-size", "5MiB", "--json")
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout.splitlines()[0])["verdict"] == "match"
    assert md5_file(out) == md5_file(path)
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".s3ferry.tmp")]


@moto_only
def test_interrupted_manifest_upload_is_aborted(server, bucket, tmp_path):
    """Ctrl-C while a part hangs: the upload is aborted through the manifest's Abort URL."""
    path = random_file(tmp_path / "big.bin", 12 * MiB, seed=6)
    with proxy_in_front(server) as proxy:
        made = run_cli(server, "presign", f"s3://{bucket}/big.bin", "--multipart", "--part-size", "5MiB",
                       "--size", str(12 * MiB), "--endpoint-url", proxy.url, "--addressing-style", "path")
        assert made.returncode == 0, made.stderr
        (tmp_path / "m.json").write_text(made.stdout)
        proxy.set_fault("stall", methods={"PUT"}, match=lambda method, target: "partNumber=2" in target)
        cli = subprocess.Popen([sys.executable, "-m", "s3ferry", "put", str(path), "--presigned",
                                str(tmp_path / "m.json")], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               env=no_credentials_env(tmp_path))
        interrupt_when(cli, lambda: bool(proxy.stats.injected["stall"]))
    assert server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_bad_expiry_is_a_usage_error(server, bucket):
    for bad in ("8d", "soon"):
        result = run_cli(server, "presign", f"s3://{bucket}/k", "--expires", bad)
        assert result.returncode == 2 and result.stderr.startswith("error: ") and "Traceback" not in result.stderr
