"""CPU of one `s3ferry put` of one small file (start-up, imports, one PUT, exit), against moto.

    PYTHONPATH=src .venv/bin/python benchmarks/startup_cpu.py [--runs 5] [--engines lean,botocore]
        [--before OTHER/src] [-- extra CLI args]

Each run is a fresh process measured with getrusage(RUSAGE_CHILDREN) (user + sys); prints
the median and range. Also `python -X importtime` for the biggest imports of one run.
With --before, every case also runs on that source tree (e.g. `git archive main src`
unpacked somewhere), interleaved run by run, so both see the same machine load.

Bytecode: the children run without PYTHONDONTWRITEBYTECODE and one unmeasured round goes
first, so s3ferry's modules are compiled once, as in an installed package; otherwise every
run would also compile ~90 modules from source (~0.1 s) and the figures would not be a
user's.
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
    parser.add_argument("--before", help="another source tree (its src/) to measure interleaved")
    parser.add_argument("extra", nargs="*")
    args = parser.parse_args()
    with moto_server() as server, tempfile.TemporaryDirectory() as tmp:
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"} | server.env()
        boto3.client("s3", endpoint_url=server.endpoint_url, aws_access_key_id=server.access_key,
                     aws_secret_access_key=server.secret_key, region_name="us-east-1").create_bucket(Bucket="startup")
        path = os.path.join(tmp, "small.txt")
        with open(path, "wb") as handle:
            handle.write(os.urandom(10_000))
        put = [sys.executable, "-m", "s3ferry", "put", path, "s3://startup/small.txt", *args.extra]
        help_ = [sys.executable, "-m", "s3ferry", "--help"]
        bare = [sys.executable, "-c", "pass"]
        runner = [sys.executable, "-c", "import s3ferry.scale.runner"]  # what a --workers process imports
        cases = [("python -c pass", bare, None), ("s3ferry --help", help_, None), ("import scale.runner", runner, None)]
        cases += [(f"s3ferry put 10 KB, {engine}", put, engine) for engine in args.engines.split(",")]
        trees = {"": env.get("PYTHONPATH", "")} | ({"before: ": args.before} if args.before else {})
        values: dict[str, list[float]] = {}
        for run in range(args.runs + 1):  # interleaved, so every case sees the same load; round 0 compiles
            for label, tree in trees.items():
                for name, cmd, engine in cases:
                    case_env = {**env, "PYTHONPATH": tree} | ({"S3FERRY_ENGINE": engine} if engine else {})
                    cpu = _cpu(cmd, case_env)
                    if run:
                        values.setdefault(f"{label}{name}", []).append(cpu)
        for name, got in values.items():
            print(f"{name:36s} {statistics.median(got):.3f} CPU-s [{min(got):.3f}-{max(got):.3f}] "
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
