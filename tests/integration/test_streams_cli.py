"""put - (stdin of unknown length) and cat / get - (stdout in order) through the real CLI,
piped from and into real processes (issue 15)."""

from __future__ import annotations

import hashlib
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from s3ferry.core.config import Config, MiB
from s3ferry.core.errors import EXIT_MISMATCH

from helpers import boto3_multipart, proxy_in_front, random_file, run_cli, sigint

# Writes N bytes of seeded random data to stdout, 1 MiB at a time: a producer of unknown length.
PRODUCER = ("import random,sys\nrng=random.Random(int(sys.argv[2]))\nleft=int(sys.argv[1])\n"
            "while left:\n n=min(left,1<<20)\n sys.stdout.buffer.write(rng.randbytes(n))\n left-=n\n")


def produced(size: int, seed: int, part_size: int = 5 * MiB) -> tuple[str, str, list[bytes]]:
    """MD5, SHA-256 and the per-part MD5 digests of what PRODUCER writes (a reference
    computed here, independent of the code under test)."""
    rng = random.Random(seed)
    data = b"".join(rng.randbytes(min(size - offset, 1 << 20)) for offset in range(0, size, 1 << 20))
    parts = [hashlib.md5(data[i:i + part_size]).digest() for i in range(0, max(size, 1), part_size)]
    return hashlib.md5(data).hexdigest(), hashlib.sha256(data).hexdigest(), parts


# Runs the CLI and writes its peak RSS (VmHWM, KiB) to a file at exit. The kernel's ru_maxrss
# would not do: it keeps the high-water mark of the forked copy of this (large) test process.
MEASURED = ("import atexit, runpy, sys\nout = sys.argv.pop(1)\n"
            "def hwm():\n"
            "    with open('/proc/self/status') as f:\n"
            "        kib = next(line.split()[1] for line in f if line.startswith('VmHWM:'))\n"
            "    with open(out, 'w') as f:\n"
            "        f.write(kib)\n"
            "atexit.register(hwm)\nsys.argv[0] = 's3ferry'\nrunpy.run_module('s3ferry', run_name='__main__')\n")


def put_from_producer(server, url: str, size: int, seed: int, *extra: str, tmp_path=None
                      ) -> tuple[subprocess.CompletedProcess, int]:
    """Pipe PRODUCER into ``s3ferry put - URL``; returns the result and the CLI's peak RSS (KiB)."""
    hwm = (tmp_path or Path("/tmp")) / f"hwm-{os.getpid()}-{seed}"
    producer = subprocess.Popen([sys.executable, "-c", PRODUCER, str(size), str(seed)], stdout=subprocess.PIPE)
    cli = subprocess.Popen([sys.executable, "-c", MEASURED, str(hwm), "put", "-", url, *extra], stdin=producer.stdout,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=server.env())
    producer.stdout.close()
    stdout, stderr = cli.communicate()
    producer.wait()
    peak = int(hwm.read_text()) if hwm.exists() else 0
    hwm.unlink(missing_ok=True)
    return subprocess.CompletedProcess(cli.args, cli.returncode, stdout, stderr), peak


def stored_md5(s3, bucket: str, key: str) -> str:
    md5 = hashlib.md5()
    for chunk in s3.get_object(Bucket=bucket, Key=key)["Body"].iter_chunks(1 << 20):
        md5.update(chunk)
    return md5.hexdigest()


@pytest.mark.parametrize("server", ["moto"], indirect=True)
def test_stdin_put_of_100_mib_verifies_in_bounded_memory(server, bucket, tmp_path):
    size, part, concurrency = 100 * MiB, 5 * MiB, 4
    md5, _, parts = produced(size, 7)
    result, peak_kib = put_from_producer(server, f"s3://{bucket}/stream.bin", size, 7, "--part-size", "5MiB",
                                         "-c", str(concurrency), "--json", tmp_path=tmp_path)
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout.splitlines()[0])
    assert line["verdict"] == "match" and line["size"] == size, line
    s3 = server.client()
    head = s3.head_object(Bucket=bucket, Key="stream.bin")
    expected_etag = hashlib.md5(b"".join(parts)).hexdigest() + f"-{len(parts)}"
    assert head["ETag"].strip('"') == expected_etag and head["ContentLength"] == size
    assert head["Metadata"]["s3ferry-part-size"] == str(part)
    assert stored_md5(s3, bucket, "stream.bin") == md5
    # Memory: parts in flight x part size plus a constant, measured against a two-part stream
    # (the same requests, so the same code loaded: a one-PUT stream may never load botocore's client).
    small, base_kib = put_from_producer(server, f"s3://{bucket}/small.bin", part + 1000, 8, "--part-size", "5MiB",
                                        "-c", str(concurrency), tmp_path=tmp_path)
    assert small.returncode == 0, small.stderr
    assert peak_kib > 0 and base_kib > 0
    growth = (peak_kib - base_kib) * 1024
    print(f"\nstdin put 100 MiB, 5 MiB parts, -c {concurrency}: peak RSS {peak_kib / 1024:.0f} MiB, "
          f"two-part stream {base_kib / 1024:.0f} MiB, growth {growth / MiB:.0f} MiB")
    assert growth < (concurrency + 2) * part + 16 * MiB, growth / MiB


@pytest.mark.parametrize("server", ["moto"], indirect=True)
def test_stdin_put_at_the_default_concurrency_holds_the_part_budget_not_c_parts(server, bucket, tmp_path):
    """-c 48 by default: 48 parts of 5 MiB would be 240 MiB; the part budget (48 MiB) bounds it."""
    size, part = 120 * MiB, 5 * MiB
    budget = Config(part_size=part).part_budget
    assert Config().max_concurrency * part > 3 * budget  # else this test would prove nothing
    with proxy_in_front(server) as proxy:
        # Each part's reply held 1 s: stdin outruns the store, so parts pile up to the bound.
        proxy.set_fault("stall_response", stall_seconds=1.0, methods={"PUT"},
                        match=lambda method, target: "uploadId=" in target)
        result, peak_kib = put_from_producer(server, f"s3://{bucket}/budget.bin", size, 9, "--part-size", "5MiB",
                                             "--endpoint-url", proxy.url, tmp_path=tmp_path)
        assert result.returncode == 0, result.stderr
        small, base_kib = put_from_producer(server, f"s3://{bucket}/two.bin", part + 1000, 10, "--part-size",
                                            "5MiB", "--endpoint-url", proxy.url, tmp_path=tmp_path)
    assert small.returncode == 0, small.stderr
    growth = (peak_kib - base_kib) * 1024
    print(f"\nstdin put 120 MiB at default -c: growth {growth / MiB:.0f} MiB, part budget {budget / MiB:.0f} MiB")
    assert growth < budget + 16 * MiB, growth / MiB


def test_stdin_put_small_is_a_single_put_and_empty_is_empty(server, bucket):
    small, _ = put_from_producer(server, f"s3://{bucket}/s.bin", 100_000, 3)
    assert small.returncode == 0, small.stderr
    s3 = server.client()
    md5, _, _ = produced(100_000, 3)
    assert s3.head_object(Bucket=bucket, Key="s.bin")["ETag"].strip('"') == md5
    empty = subprocess.run([sys.executable, "-m", "s3ferry", "put", "-", f"s3://{bucket}/e"], input="",
                           capture_output=True, text=True, env=server.env())
    assert empty.returncode == 0, empty.stderr
    assert s3.head_object(Bucket=bucket, Key="e")["ContentLength"] == 0


@pytest.mark.parametrize("server", ["moto"], indirect=True)
def test_stdin_put_interrupted_aborts_the_upload(server, bucket):
    cli = subprocess.Popen([sys.executable, "-m", "s3ferry", "put", "-", f"s3://{bucket}/cut", "--part-size", "5MiB"],
                           stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=False,
                           env=server.env())
    cli.stdin.write(os.urandom(12 * MiB))
    cli.stdin.flush()
    s3 = server.client()
    deadline = time.monotonic() + 60
    while not s3.list_multipart_uploads(Bucket=bucket).get("Uploads") and time.monotonic() < deadline:
        time.sleep(0.05)
    cli.send_signal(signal.SIGINT)
    _, stderr = cli.communicate(timeout=60)
    assert cli.returncode == 130 and b"Traceback" not in stderr, stderr
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)


def test_cat_into_sha256sum_matches(server, bucket, tmp_path):
    path = random_file(tmp_path / "src.bin", 23 * MiB + 17, seed=4)
    expected = hashlib.sha256(path.read_bytes()).hexdigest()
    put = run_cli(server, "put", str(path), f"s3://{bucket}/ours.bin", "--part-size", "5MiB")
    assert put.returncode == 0, put.stderr
    boto3_multipart(server.client(), bucket, "foreign.bin", path.read_bytes(), 6 * MiB)  # no metadata
    for key, command in [("ours.bin", "cat"), ("foreign.bin", "cat"), ("ours.bin", "get")]:
        args = [f"s3://{bucket}/{key}"] + (["-"] if command == "get" else [])
        shell = (f"{sys.executable} -m s3ferry {command} {' '.join(args)} -c 4 --part-size 5MiB "
                 f"| sha256sum; exit ${{PIPESTATUS[0]}}")
        result = subprocess.run(["bash", "-c", shell], capture_output=True, text=True, env=server.env())
        assert result.returncode == 0, (key, command, result.stderr)
        assert result.stdout.split()[0] == expected, (key, command)
        assert "Traceback" not in result.stderr


@pytest.mark.parametrize("server", ["moto"], indirect=True)
def test_cat_of_corrupted_bytes_exits_3_and_says_they_are_out(server, bucket, tmp_path):
    path = random_file(tmp_path / "src.bin", 11 * MiB, seed=9)
    server.client().upload_file(str(path), bucket, "x.bin")
    with proxy_in_front(server) as proxy:
        proxy.set_fault("flip", methods={"GET"})
        result = subprocess.run([sys.executable, "-m", "s3ferry", "cat", f"s3://{bucket}/x.bin", "--endpoint-url",
                                 proxy.url, "--addressing-style", "path"], capture_output=True, env=server.env())
    assert result.returncode == EXIT_MISMATCH, result.stderr
    stderr = result.stderr.decode()
    assert "Traceback" not in stderr and "already" in stderr and "x.bin" in stderr, stderr
