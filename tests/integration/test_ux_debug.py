"""Issue 12, item 9: --debug (or -vv) shows each request (operation, bucket, key, status,
time) and each retry (S3 error code, request id, host id) on stderr through the logging
module, and never a credential, an Authorization header or a signature."""

from __future__ import annotations

import re

import pytest

from helpers import proxy_in_front, random_file, run_cli
from ux_helpers import MiB

moto_only = pytest.mark.parametrize("server", ["moto"], indirect=True)
SECRETS_SHAPES = ("Authorization", "AWS4-HMAC-SHA256", "Signature=", "X-Amz-Signature", "x-amz-security-token")


def assert_no_secrets(server, text: str) -> None:
    assert server.secret_key not in text
    for shape in SECRETS_SHAPES:
        assert shape.lower() not in text.lower(), shape


@pytest.mark.parametrize("flag", ["--debug", "-vv"])
def test_debug_shows_each_request_and_no_secret(server, bucket, tmp_path, flag):
    src = random_file(tmp_path / "big.bin", 12 * MiB, seed=3)
    done = run_cli(server, "put", str(src), f"s3://{bucket}/d/big.bin", "--part-size", "5MiB", flag)
    assert done.returncode == 0, done.stderr
    log = done.stderr
    for operation in ("CreateMultipartUpload", "UploadPart", "CompleteMultipartUpload"):
        assert re.search(rf"{operation} s3://{bucket}/d/big\.bin\b.* 200\b.* \d+(\.\d+)? ms", log), (operation, log)
    assert len(re.findall(r"UploadPart s3://", log)) == 3, log
    assert_no_secrets(server, done.stderr + done.stdout)


def test_without_debug_no_request_is_logged(server, bucket, tmp_path):
    src = random_file(tmp_path / "f.bin", 1000, seed=4)
    done = run_cli(server, "put", str(src), f"s3://{bucket}/f.bin")
    assert done.returncode == 0 and done.stderr == "", done.stderr


@moto_only
def test_debug_shows_each_retry_with_its_error_code_and_ids(server, bucket, tmp_path):
    src = random_file(tmp_path / "big.bin", 12 * MiB, seed=5)
    with proxy_in_front(server) as proxy:
        proxy.set_fault("status", status=503, limit=2, match=lambda method, target: "partNumber=2" in target)
        done = run_cli(server, "put", str(src), f"s3://{bucket}/r/big.bin", "--part-size", "5MiB", "--debug",
                       "--endpoint-url", proxy.url, "--addressing-style", "path")
    assert done.returncode == 0, done.stderr
    retries = [line for line in done.stderr.splitlines() if "retry" in line and "UploadPart" in line]
    assert len(retries) == 2, done.stderr
    assert all("SlowDown" in line and "503" in line and "request id" in line for line in retries), retries
    assert_no_secrets(server, done.stderr)


@moto_only
def test_debug_of_a_failed_run_still_ends_in_one_error_line(server, bucket, tmp_path):
    done = run_cli(server, "get", f"s3://{bucket}/missing", str(tmp_path / "out"), "--debug")
    assert done.returncode == 4
    assert re.search(rf"HeadObject s3://{bucket}/missing\b.* 404\b", done.stderr), done.stderr
    assert done.stderr.splitlines()[-1].startswith("error: "), done.stderr
    assert_no_secrets(server, done.stderr)
