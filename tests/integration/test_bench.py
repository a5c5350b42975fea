"""`s3ferry bench` through the real CLI: against the embedded server and against each lane,
interrupted, failing, and given bad arguments. Each run must leave no object, no incomplete
upload (the `bucket` fixture checks) and no temporary file behind."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys

import pytest

from s3ferry.core.config import KiB, MiB
from s3ferry.core.errors import EXIT_ACCESS, EXIT_NOT_FOUND, EXIT_USAGE

from helpers import interrupt_when, proxy_in_front

moto_only = pytest.mark.parametrize("server", ["moto"], indirect=True)


def bench_env(base: dict[str, str], tmp_path) -> dict[str, str]:
    """The bench's temporary files go to a folder the test can inspect afterwards."""
    scratch = tmp_path / "scratch"
    scratch.mkdir(exist_ok=True)
    return {**base, "TMPDIR": str(scratch)}


def run_cli(server, *args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "s3ferry", *args], env=env, capture_output=True, text=True,
                          timeout=600)


def objects(server, bucket: str) -> list[str]:
    return [o["Key"] for o in server.client().list_objects_v2(Bucket=bucket).get("Contents", [])]


def one_line_error(result: subprocess.CompletedProcess[str], code: int, needle: str) -> None:
    assert "Traceback" not in result.stderr, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode == code, (result.returncode, result.stderr)
    assert len(lines) == 1 and lines[0].startswith("error: ") and needle in lines[0], result.stderr


def test_bench_on_the_embedded_server_json(tmp_path):
    env = bench_env({k: v for k, v in os.environ.items() if k != "S3FERRY_ENDPOINT_URL"}, tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "s3ferry", "bench", "--json", "--size", "12MiB", "--part-sizes", "5MiB,8MiB",
         "--concurrency-levels", "1,2,8", "--files", "6", "--file-size", "4KiB"],
        env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["target"].startswith("embedded moto server http://127.0.0.1:")
    settings = {(r["workload"], r["part_size"] // MiB, r["concurrency"]) for r in report["results"]}
    # 12 MiB is 3 parts of 5 MiB (1, 2 and 3 in flight differ) or 2 of 8 MiB (8 in flight acts as 2).
    assert settings == {("large", 5, 1), ("large", 5, 2), ("large", 5, 8), ("large", 8, 1), ("large", 8, 2),
                        ("small", 5, 1), ("small", 5, 2), ("small", 5, 8)}
    assert report["skipped"] == [{"workload": "large", "part_size": 8 * MiB, "concurrency": 8,
                                  "same_as": {"part_size": 8 * MiB, "concurrency": 2}}]
    for row in report["results"]:
        assert row["put"]["mib_per_second"] > 0 and row["get"]["mib_per_second"] > 0
    runs = report["runs"]
    assert len(runs) == 2 * len(settings)
    assert all(r["bytes"] == 12 * MiB and r["files"] == 1 for r in runs if r["workload"] == "large")
    assert all(r["bytes"] == 6 * 4 * KiB and r["files"] == 6 for r in runs if r["workload"] == "small")
    fastest_put = max(r["put"]["mib_per_second"] for r in report["results"] if r["workload"] == "large")
    assert report["best"]["large"]["put"]["mib_per_second"] == fastest_put
    assert report["unverified"] == 0
    cleanup = report["cleanup"]
    assert cleanup["created"] == 5 * 1 + 3 * 6 == cleanup["deleted"] and cleanup["left"] == 0
    assert list((tmp_path / "scratch").iterdir()) == []


def table_row(stdout: str, *cells: str) -> bool:
    pattern = r"\W+".join(re.escape(c) for c in cells)
    return any(re.search(rf"^\W*{pattern}\W", line) for line in stdout.splitlines())


def test_bench_against_the_lane_prints_the_table(server, bucket, tmp_path):
    result = run_cli(server, "bench", f"s3://{bucket}/mine/", "--size", "12MiB", "--part-sizes", "5MiB,8MiB",
                     "--concurrency-levels", "2,4", "--files", "5", "--file-size", "1KiB",
                     env=bench_env(server.env(), tmp_path))
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert f"s3ferry bench: {server.endpoint_url}" in out
    for cells in (("1 x 12MiB", "5MiB", "2"), ("1 x 12MiB", "5MiB", "4"), ("1 x 12MiB", "8MiB", "2"),
                  ("5 x 1KiB", "single PUT", "2"), ("5 x 1KiB", "single PUT", "4")):
        assert table_row(out, *cells), (cells, out)
    assert not table_row(out, "1 x 12MiB", "8MiB", "4")  # 2 parts: 4 in flight is the same as 2
    assert re.search(r"best put for 1 x 12MiB: --part-size (5|8)MiB -c (2|4) \(\d+\.\d MiB/s\)", out), out
    assert re.search(r"best get for 5 x 1KiB: --part-size 5MiB -c (2|4)", out), out
    assert f"under s3://{bucket}/mine/s3ferry-bench/" in result.stderr
    assert objects(server, bucket) == []
    assert list((tmp_path / "scratch").iterdir()) == []


def test_interrupted_bench_leaves_nothing(server, bucket, tmp_path):
    s3 = server.client()
    process = subprocess.Popen(
        [sys.executable, "-m", "s3ferry", "bench", f"s3://{bucket}", "--size", "64MiB", "--part-sizes", "5MiB",
         "--concurrency-levels", "1", "--rounds", "20"],
        env=bench_env(server.env(), tmp_path), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # a shell may have ignored it
    stdout, stderr = interrupt_when(
        process, lambda: bool(s3.list_multipart_uploads(Bucket=bucket).get("Uploads") or objects(server, bucket)),
        timeout=180)
    assert "Traceback" not in stderr and "interrupted" in stderr
    assert stdout == ""  # no table for a run that did not finish
    assert objects(server, bucket) == []
    assert list((tmp_path / "scratch").iterdir()) == []


@moto_only
def test_failing_transfer_stops_the_bench_and_cleans_up(server, bucket, tmp_path):
    with proxy_in_front(server) as proxy:
        # Every object GET is refused (403 fails at once: no retries); listing still works.
        proxy.set_fault("status", status=403, match=lambda method, target: method == "GET"
                        and "list-type" not in target and "uploads" not in target and "/" in target.strip("/"))
        result = run_cli(server, "bench", f"s3://{bucket}", "--endpoint-url", proxy.url, "--addressing-style",
                         "path", "--size", "6MiB", "--part-sizes", "5MiB", "--concurrency-levels", "2", "--quiet",
                         env=bench_env(server.env(), tmp_path))
    one_line_error(result, EXIT_ACCESS, "access denied")
    assert result.stderr.startswith(f"error: get s3://{bucket}/s3ferry-bench/"), result.stderr
    assert objects(server, bucket) == []
    assert list((tmp_path / "scratch").iterdir()) == []


@moto_only
@pytest.mark.parametrize("args, code, needle", [
    (["--size", "lots"], EXIT_USAGE, "not a size: 'lots'"),
    (["--part-sizes", "1MiB,8MiB"], EXIT_USAGE, "between 5MiB and 5GiB"),
    (["--concurrency-levels", "4,many"], EXIT_USAGE, "concurrency levels"),
    (["--endpoint-url", "http://127.0.0.1:9"], EXIT_USAGE, "needs a bucket"),
    (["s3:/nope"], EXIT_USAGE, "not an S3 URL"),
    (["s3://no-such-bucket-s3ferry"], EXIT_NOT_FOUND, "bucket does not exist: no-such-bucket-s3ferry"),
])
def test_bad_arguments_give_one_line(server, tmp_path, args, code, needle):
    env = bench_env(server.env(), tmp_path)
    if "--endpoint-url" in args:
        env.pop("S3FERRY_ENDPOINT_URL")
    result = run_cli(server, "bench", *args, env=env)
    one_line_error(result, code, needle)
    assert list((tmp_path / "scratch").iterdir()) == []
