"""CPU of one `s3ferry put` of one small file (start-up, imports, one PUT, exit), against moto.

    PYTHONPATH=src .venv/bin/python benchmarks/startup_cpu.py [--runs 5] [--engines lean,botocore] [-- extra CLI args]

Each run is a fresh process measured with getrusage(RUSAGE_CHILDREN) (user + sys); prints
the median and range. Also `python -X importtime` for the biggest imports of one run.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import tempfile

import boto3

try:
    from s3ferry.tools.embedded import moto_server
except ImportError:
    from s3ferry.embedded import moto_server


def _cpu(cmd: list[str], env: dict[str, str]) -> float:
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    subprocess.run(cmd, env=env, check=True, capture_output=True)
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--runs", type=int, default=5)
    parser.add_argument("--engines", default="lean,botocore")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    with moto_server() as server, tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, **server.env()}
        boto3.client("s3", endpoint_url=server.endpoint_url, aws_access_key_id=server.access_key,
                     aws_secret_access_key=server.secret_key, region_name="us-east-1").create_bucket(Bucket="startup")
        path = os.path.join(tmp, "small.txt")
        with open(path, "wb") as handle:
            handle.write(os.urandom(10_000))
        put = [sys.executable, "-m", "s3ferry", "put", path, "s3://startup/small.txt", *args.extra]
        help_ = [sys.executable, "-m", "s3ferry", "--help"]
        bare = [sys.executable, "-c", "pass"]
        cases = [("python -c pass", bare, None), ("s3ferry --help", help_, None)]
        cases += [(f"s3ferry put 10 KB, {engine}", put, engine) for engine in args.engines.split(",")]
        values: dict[str, list[float]] = {name: [] for name, _, _ in cases}
        for _ in range(args.runs):  # interleaved, so every case sees the same load
            for name, cmd, engine in cases:
                values[name].append(_cpu(cmd, {**env, "S3FERRY_ENGINE": engine} if engine else env))
        for name, got in values.items():
            print(f"{name:28s} {statistics.median(got):.3f} CPU-s [{min(got):.3f}-{max(got):.3f}] "
                  f"over {args.runs} runs")
        trace = subprocess.run([sys.executable, "-X", "importtime", *put[1:]], env=env, capture_output=True, text=True,
                               check=False)
        rows = []
        for line in trace.stderr.splitlines():
            if line.startswith("import time:") and "|" in line:
                _, cumulative, name = line[len("import time:"):].split("|")
                if cumulative.strip().isdigit():
                    rows.append((int(cumulative), name.rstrip()))
        top = [r for r in rows if r[1].startswith(" ") and not r[1].startswith("   ")]
        print("largest top-level imports (cumulative, ms):")
        for cumulative, name in sorted(top, reverse=True)[:12]:
            print(f"  {cumulative / 1000:7.1f}  {name.strip()}")


if __name__ == "__main__":
    main()
