"""Issue 12, items 5 and 7: errors a person can act on. An invalid bucket name says so (exit
2), an unreachable endpoint is named as the user gave it (not an internal `?uploads` URL), a
bad size is a usage error (exit 2, never an internal error), and an option that would do
nothing says so (exit 2) before any request."""

from __future__ import annotations

import subprocess

import pytest

from helpers import random_file, run_cli
from s3ferry.tools.embedded import free_port
from ux_helpers import MiB, keys_of

moto_only = pytest.mark.parametrize("server", ["moto"], indirect=True)


def usage_error(done: subprocess.CompletedProcess[str], *needles: str) -> str:
    lines = [line for line in done.stderr.splitlines() if line.strip()]
    assert done.returncode == 2, (done.returncode, done.stderr)
    assert "Traceback" not in done.stderr and "internal error" not in done.stderr, done.stderr
    assert len(lines) == 1 and lines[0].startswith("error: "), done.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


@moto_only
@pytest.mark.parametrize("name", ["Bad_Bucket", "UPPER", "a..b", "-dash"])
def test_invalid_bucket_name_is_a_usage_error(server, tmp_path, name):
    src = random_file(tmp_path / "f.bin", 10)
    line = usage_error(run_cli(server, "put", str(src), f"s3://{name}/k"), "invalid bucket name", name)
    assert "does not exist" not in line


@moto_only
@pytest.mark.parametrize("size", [10, 6 * MiB])  # a single PUT and a multipart upload
def test_unreachable_endpoint_is_named_as_given(server, tmp_path, size):
    src = random_file(tmp_path / "f.bin", size)
    endpoint = f"http://127.0.0.1:{free_port()}"
    done = run_cli(server, "put", str(src), "s3://b-bucket/k", "--endpoint-url", endpoint, "--part-size", "5MiB",
                   "--max-attempts", "1")
    assert done.returncode == 6, done.stderr
    assert f"cannot reach endpoint {endpoint}" in done.stderr, done.stderr
    assert "?uploads" not in done.stderr and f"{endpoint}/b-bucket" not in done.stderr


@moto_only
@pytest.mark.parametrize("value", ["inf", "nan", "1e400", "1.5", "-1", "", "8XB"])
def test_bad_sizes_are_usage_errors(server, bucket, tmp_path, value):
    src = random_file(tmp_path / "f.bin", 10)
    usage_error(run_cli(server, "put", str(src), f"s3://{bucket}/k", "--part-size", value), repr(value))
    assert keys_of(server, bucket) == {}


@moto_only
def test_a_fractional_threshold_is_not_silently_one_byte(server, bucket, tmp_path):
    src = random_file(tmp_path / "f.bin", 10)
    usage_error(run_cli(server, "put", str(src), f"s3://{bucket}/k", "--multipart-threshold", "1.5"), "'1.5'")


@moto_only
@pytest.mark.parametrize("options, needle", [
    (["--trash", "old/"], "--trash"),
    (["--no-trash"], "--no-trash"),
    (["--max-delete", "5"], "--max-delete"),
    (["--size-only", "--mtime"], "--size-only"),
    (["--delete", "--trash", "old/", "--no-trash"], "--trash"),
])
def test_sync_options_that_would_do_nothing_are_refused(server, bucket, tmp_path, options, needle):
    src = random_file(tmp_path / "src" / "f.bin", 10).parent
    usage_error(run_cli(server, "sync", str(src), f"s3://{bucket}/s/", *options), needle)
    assert keys_of(server, bucket) == {}


@moto_only
@pytest.mark.parametrize("options, needle", [
    (["--checksum", "crc32"], "--checksum"),
    (["--keep-partial"], "--keep-partial"),
    (["--no-verify"], "--no-verify"),
])
def test_verify_options_that_would_do_nothing_are_refused(server, bucket, tmp_path, options, needle):
    src = random_file(tmp_path / "f.bin", 10)
    usage_error(run_cli(server, "verify", str(src), f"s3://{bucket}/f.bin", *options), needle)
