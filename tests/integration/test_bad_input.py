"""The CLI on bad input (issue #5): each case gives one clear line on stderr, a specific exit
code (README, "Exit codes"), never a traceback, and nothing half-written."""

from __future__ import annotations

import asyncio
import os
import shutil
import subprocess
import sys
import uuid

import pytest

import s3ferry
from s3ferry.core.config import MiB
from s3ferry.tools.embedded import free_port
from s3ferry.core.errors import EXIT_ACCESS, EXIT_ENDPOINT, EXIT_FAILED, EXIT_LOCAL_IO, EXIT_NOT_FOUND, EXIT_USAGE

from helpers import proxy_in_front, random_file, run_cli

moto_only = pytest.mark.parametrize("server", ["moto"], indirect=True)
MP = ["--part-size", "5MiB", "--max-attempts", "2"]


def one_line_error(result: subprocess.CompletedProcess[str], code: int, *needles: str) -> str:
    """The run failed with ``code`` and printed exactly one error line containing ``needles``."""
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    for needle in needles:
        assert needle in lines[0], (needle, lines[0])
    return lines[0]


def no_uploads(server, bucket: str) -> None:
    assert server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def keys(server, bucket: str) -> set[str]:
    return {o["Key"] for o in server.client().list_objects_v2(Bucket=bucket).get("Contents", [])}


# ---- local side -------------------------------------------------------------------------

@moto_only
def test_missing_local_file(server, bucket, tmp_path):
    missing = tmp_path / "nope.bin"
    result = run_cli(server, "put", str(missing), f"s3://{bucket}/k")
    one_line_error(result, EXIT_NOT_FOUND, str(missing), "no such file")
    assert keys(server, bucket) == set()


@moto_only
def test_put_of_a_fifo_is_refused(server, bucket, tmp_path):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    result = run_cli(server, "put", str(fifo), f"s3://{bucket}/pipe")
    one_line_error(result, EXIT_LOCAL_IO, str(fifo), "not a regular file")
    assert keys(server, bucket) == set()


@moto_only
def test_get_onto_a_directory_where_the_file_goes(server, bucket, tmp_path):
    """The destination folder already holds a directory named like the object."""
    server.client().put_object(Bucket=bucket, Key="a/x", Body=b"hello")
    dest = tmp_path / "out"
    (dest / "x").mkdir(parents=True)
    result = run_cli(server, "get", f"s3://{bucket}/a/x", str(dest))  # -> dest/x, a directory
    one_line_error(result, EXIT_LOCAL_IO, "s3://" + bucket + "/a/x", "directory")
    assert os.listdir(dest) == ["x"] and os.listdir(dest / "x") == []


@moto_only
def test_get_below_a_file(server, bucket, tmp_path):
    """A path whose parent is a regular file."""
    server.client().put_object(Bucket=bucket, Key="x", Body=b"hello")
    (tmp_path / "plain").write_bytes(b"keep")
    result = run_cli(server, "get", f"s3://{bucket}/x", str(tmp_path / "plain" / "x"))
    one_line_error(result, EXIT_LOCAL_IO, f"s3://{bucket}/x", "not a directory")
    assert (tmp_path / "plain").read_bytes() == b"keep" and os.listdir(tmp_path) == ["plain"]


DROP_DAC = ["setpriv", "--inh-caps=-dac_override,-dac_read_search", "--bounding-set=-dac_override,-dac_read_search"]


@moto_only
def test_unreadable_file(server, bucket, tmp_path):
    """chmod 000. Root reads anything, so as root the CLI runs without the capabilities that
    let root bypass file permissions (setpriv drops CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH)."""
    secret = random_file(tmp_path / "secret.bin", 1000)
    secret.chmod(0o000)
    command = [sys.executable, "-m", "s3ferry", "put", str(secret), f"s3://{bucket}/secret"]
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root, which reads a chmod 000 file, and setpriv is missing")
        command = DROP_DAC + command
    result = subprocess.run(command, env=server.env(), capture_output=True, text=True, timeout=120)
    one_line_error(result, EXIT_LOCAL_IO, str(secret), "permission denied")
    assert keys(server, bucket) == set()


class _WithEnv:
    def __init__(self, server, extra: dict[str, str]):
        self.server, self.extra = server, extra

    def env(self) -> dict[str, str]:
        return {**self.server.env(), **self.extra}


@moto_only
@pytest.mark.parametrize("change", ["append", "truncate", "rewrite"])
def test_file_changing_during_upload_is_never_stored(server, bucket, tmp_path, moto, change):
    """The file changes while its parts are in flight: when the first part reaches the proxy,
    the proxy's match callback changes the file (deterministic, no timing). The upload must
    fail, be aborted, and store nothing under the key."""
    src = random_file(tmp_path / "growing.bin", 12 * MiB, seed=5)
    done = []

    def change_file(method: str, target: str) -> bool:
        if method == "PUT" and "partNumber=" in target and not done:
            done.append(target)
            if change == "append":
                with open(src, "ab") as handle:
                    handle.write(b"more bytes")
            elif change == "truncate":
                os.truncate(src, 6 * MiB)
            else:  # same size, other bytes
                with open(src, "r+b") as handle:
                    handle.seek(11 * MiB)
                    handle.write(b"\0" * 1000)
                os.utime(src, ns=(1, 1))
        return False  # inject nothing: the change is the fault

    expected = "changed" if change != "truncate" else "shrank"
    with proxy_in_front(moto) as proxy:
        proxy.set_fault("status", match=change_file)
        if change == "append":  # through the CLI once; the API (faster) for the others
            result = run_cli(server, "put", str(src), f"s3://{bucket}/growing.bin", *MP, "-c", "1",
                             "--endpoint-url", proxy.url)
            one_line_error(result, EXIT_FAILED, "growing.bin", expected)
        else:
            config = server.config(part_size=5 * MiB, multipart_threshold=5 * MiB,
                                   max_concurrency=1).replace(endpoint_url=proxy.url)
            summary = asyncio.run(s3ferry.put(src, f"s3://{bucket}/growing.bin", config=config))
            assert summary.exit_code == EXIT_FAILED and len(summary.errors) == 1
            assert "growing.bin" in summary.errors[0] and expected in summary.errors[0], summary.errors
    assert done, "the proxy never saw a part"
    assert keys(server, bucket) == set()
    no_uploads(server, bucket)


# ---- URLs, buckets, keys ----------------------------------------------------------------

@moto_only
@pytest.mark.parametrize("url", ["not-a-url", "s3://Bad!Bucket/k"])
def test_malformed_url(server, tmp_path, url):
    src = random_file(tmp_path / "f", 10)
    result = run_cli(server, "put", str(src), url)
    one_line_error(result, EXIT_USAGE, repr(url))


@moto_only
def test_malformed_size(server, tmp_path):
    src = random_file(tmp_path / "f", 10)
    one_line_error(run_cli(server, "put", str(src), "s3://bucket/k", "--part-size", "lots"), EXIT_USAGE, "lots")


def test_missing_bucket(server, tmp_path):
    src = random_file(tmp_path / "f", 10)
    name = f"missing-{uuid.uuid4().hex[:12]}"
    one_line_error(run_cli(server, "put", str(src), f"s3://{name}/k"), EXIT_NOT_FOUND, name, "bucket does not exist")
    one_line_error(run_cli(server, "get", f"s3://{name}/k", str(tmp_path / "out")), EXIT_NOT_FOUND, name,
                   "bucket does not exist")
    assert not (tmp_path / "out").exists()


def test_missing_key(server, bucket, tmp_path):
    result = run_cli(server, "get", f"s3://{bucket}/no/such/key", str(tmp_path / "out"))
    one_line_error(result, EXIT_NOT_FOUND, f"s3://{bucket}/no/such/key", "not found")
    assert os.listdir(tmp_path) == []


@pytest.mark.ceph
@pytest.mark.parametrize("server", ["ceph"], indirect=True)
def test_wrong_credentials(server, bucket, tmp_path):
    """RGW checks signatures (moto does not)."""
    src = random_file(tmp_path / "f", 10)
    wrong = _WithEnv(server, {"AWS_SECRET_ACCESS_KEY": "not-the-secret"})
    one_line_error(run_cli(wrong, "put", str(src), f"s3://{bucket}/k"), EXIT_ACCESS, "access denied")
    unknown = _WithEnv(server, {"AWS_ACCESS_KEY_ID": "NOSUCHKEY"})
    one_line_error(run_cli(unknown, "get", f"s3://{bucket}/k", str(tmp_path / "out")), EXIT_ACCESS, "access denied")
    assert keys(server, bucket) == set() and not (tmp_path / "out").exists()


@moto_only
def test_no_credentials(server, bucket, tmp_path):
    src = random_file(tmp_path / "f", 10)
    env = {k: v for k, v in server.env().items() if k not in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY")}
    result = subprocess.run([sys.executable, "-m", "s3ferry", "put", str(src), f"s3://{bucket}/k"], env=env,
                            capture_output=True, text=True, timeout=120)
    one_line_error(result, EXIT_ACCESS, "credentials")


@moto_only
def test_unreachable_endpoint(server, tmp_path):
    src = random_file(tmp_path / "f", 10)
    endpoint = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    result = run_cli(server, "put", str(src), "s3://bucket/k", "--endpoint-url", endpoint, "--max-attempts", "2")
    one_line_error(result, EXIT_ENDPOINT, endpoint)
    result = run_cli(server, "get", "s3://bucket/k", str(tmp_path / "out"), "--endpoint-url", endpoint,
                     "--max-attempts", "2")
    one_line_error(result, EXIT_ENDPOINT, endpoint)
    assert not (tmp_path / "out").exists()


@pytest.fixture
def small_disk(tmp_path):
    mount = tmp_path / "small"
    mount.mkdir()
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=8m", "tmpfs", str(mount)], capture_output=True, text=True)
    if done.returncode != 0:
        pytest.skip(f"cannot mount a small tmpfs here: {done.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


@moto_only
def test_disk_full_during_download(server, bucket, tmp_path, small_disk):
    """A 6 MiB object into an 8 MiB disk that already holds 4 MiB: the space is reserved before
    the first byte, so it fails at once, and leaves neither the file nor its temporary."""
    filler = random_file(small_disk / "filler", 4 * MiB, seed=1).read_bytes()
    server.client().put_object(Bucket=bucket, Key="d/too-big",
                               Body=random_file(tmp_path / "big", 6 * MiB, seed=2).read_bytes())
    result = run_cli(server, "get", f"s3://{bucket}/d/too-big", str(small_disk))
    one_line_error(result, EXIT_LOCAL_IO, "too-big", "no space left")
    assert os.listdir(small_disk) == ["filler"] and (small_disk / "filler").read_bytes() == filler


@moto_only
def test_awkward_keys_round_trip_through_the_cli(server, bucket, tmp_path):
    """Keys are kept byte for byte: spaces, +, %, unicode, and a // in the middle."""
    src = random_file(tmp_path / "f", 1234)
    key = "dir with space/a+b/100%25 done/ünï ファイル//x.bin"
    assert run_cli(server, "put", str(src), f"s3://{bucket}/{key}").returncode == 0
    assert keys(server, bucket) == {key}
    out = tmp_path / "out.bin"
    result = run_cli(server, "get", f"s3://{bucket}/{key}", str(out))
    assert result.returncode == 0, result.stderr
    assert out.read_bytes() == src.read_bytes()
    tree = tmp_path / "tree"
    assert asyncio.run(s3ferry.get(f"s3://{bucket}/dir with space/", tree, config=server.config())).ok
    assert (tree / "a+b/100%25 done/ünï ファイル/x.bin").read_bytes() == src.read_bytes()


@moto_only
def test_sizes_around_the_threshold_through_the_cli(server, bucket, tmp_path):
    """Zero bytes and one byte under the threshold (the threshold itself and N x part size are
    in test_put_get.test_edge_sizes_round_trip); a zero-byte get replaces an existing file."""
    src = tmp_path / "src"
    random_file(src / "zero", 0)
    random_file(src / "under", 5 * MiB - 1, seed=1)
    config = server.config(part_size=5 * MiB, multipart_threshold=5 * MiB)
    assert asyncio.run(s3ferry.put(src, f"s3://{bucket}/s/", config=config)).ok
    out = tmp_path / "out"
    out.mkdir()
    (out / "zero").write_bytes(b"old content")
    result = run_cli(server, "get", f"s3://{bucket}/s/", str(out), *MP)
    assert result.returncode == 0, result.stderr
    assert sorted(os.listdir(out)) == ["under", "zero"]
    for name in ("zero", "under"):
        assert (out / name).read_bytes() == (src / name).read_bytes()


def test_hostile_key_writes_nothing_outside(server, bucket, tmp_path):
    """A key with ../ segments in a recursive get is refused on its own; the rest goes on."""
    s3 = server.client()
    s3.put_object(Bucket=bucket, Key="prefix/ok.txt", Body=b"fine")
    s3.put_object(Bucket=bucket, Key="prefix/sub/also-ok.txt", Body=b"fine too")
    s3.put_object(Bucket=bucket, Key="prefix/../../escape", Body=b"evil")
    dest = tmp_path / "a" / "b" / "dest"
    dest.mkdir(parents=True)
    result = run_cli(server, "get", f"s3://{bucket}/prefix/", str(dest))
    one_line_error(result, EXIT_FAILED, "prefix/../../escape", "outside the destination")
    assert (dest / "ok.txt").read_bytes() == b"fine" and (dest / "sub" / "also-ok.txt").read_bytes() == b"fine too"
    found = sorted(str(p.relative_to(tmp_path)) for p in tmp_path.rglob("*") if p.is_file())
    assert found == ["a/b/dest/ok.txt", "a/b/dest/sub/also-ok.txt"]
