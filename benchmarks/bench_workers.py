#!/usr/bin/env python3
"""`put` of a tree with --workers 1, 2, 4 (issue 13 item 2): objects/s and client CPU per object.

    .venv/bin/python benchmarks/bench_workers.py --server ceph                  # 2,000 x 64 KiB
    .venv/bin/python benchmarks/bench_workers.py --server ceph --files 100 --rounds 5   # a small tree

Makes a tree of FILES files of SIZE bytes (20 folders) once, then runs `s3ferry put TREE
s3://bench/rN-wW/ --workers W --quiet` for each worker count, ROUNDS rounds, the worker counts
interleaved (rotated every round) so that a noisy neighbour hits them alike. Reported, medians:

  objects/s   files / the whole command's wall time (process start, worker spawn included)
  CPU ms/obj  client CPU (user + system) of the CLI and every worker process it reaped
              (wait4's rusage), divided by the files: what a real multi-core client pays

--workers 1 is the one-process put (no worker processes); 2 and 4 start that many spawned
worker processes. On this 2-core machine the server (Ceph RGW or moto) shares the cores with
the client: more workers compete with the server, so objects/s here is no scaling figure for
a machine with spare cores; the CPU per object is the part that carries over.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
sys.path.insert(0, str(ROOT / "scripts"))
from bench_sync_scale import server
from measure import timed
from compiled import as_installed  # benchmarks/ is the script's folder, on sys.path

BUCKET = "bench"


def make_tree(root: Path, count: int, size: int) -> None:
    block = os.urandom(size)
    for index in range(count):
        folder = root / f"d{index % 20:02d}"
        folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index:06d}.bin").write_bytes(index.to_bytes(8, "big") + block[8:])


def put(env: dict[str, str], tree: Path, dest: str, workers: int) -> tuple[float, float]:
    """(wall seconds, client CPU seconds) of one `s3ferry put`."""
    wall, cpu, _ = timed([sys.executable, "-m", "s3ferry", "put", str(tree), f"s3://{BUCKET}/{dest}/",
                          "--workers", str(workers), "--quiet"], env, f"put --workers {workers}")
    return wall, cpu


def main() -> int:
    as_installed()  # bytecode, as an installed copy has (benchmarks/compiled.py)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--files", type=int, default=2000)
    parser.add_argument("--size", type=int, default=64 * 1024, help="bytes per file")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--server", choices=("moto", "ceph"), default="ceph")
    args = parser.parse_args()
    import boto3
    from botocore.config import Config as BotoConfig

    counts = [int(w) for w in args.workers.split(",")]
    scratch = Path(tempfile.mkdtemp(prefix="s3ferry-workers-"))
    tree = scratch / "tree"
    make_tree(tree, args.files, args.size)
    results: dict[int, list[tuple[float, float]]] = {w: [] for w in counts}
    with server(args.server, scratch) as (url, key, secret):
        env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
               "AWS_DEFAULT_REGION": "us-east-1", "S3FERRY_ENDPOINT_URL": url, "PYTHONPATH": str(ROOT / "src"),
               "XDG_CACHE_HOME": str(scratch / "cache")}
        s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=key, aws_secret_access_key=secret,
                          region_name="us-east-1", config=BotoConfig(s3={"addressing_style": "path"}))
        s3.create_bucket(Bucket=BUCKET)
        put(env, tree, "warm-up", 1)
        print(f"{args.files} files of {args.size} bytes, put to {args.server}, {args.rounds} rounds", flush=True)
        for round_ in range(args.rounds):
            order = counts[round_ % len(counts):] + counts[:round_ % len(counts)]
            for workers in order:
                wall, cpu = put(env, tree, f"r{round_}-w{workers}", workers)
                results[workers].append((wall, cpu))
                print(f"  round {round_ + 1}, --workers {workers}: {args.files / wall:.0f} objects/s, "
                      f"{1000 * cpu / args.files:.2f} ms CPU/object", flush=True)
    print("\n| --workers | objects/s | client CPU ms/object (all processes) | wall s |")
    print("|---|---|---|---|")
    for workers in counts:
        wall = statistics.median(w for w, _ in results[workers])
        cpu = statistics.median(c for _, c in results[workers])
        print(f"| {workers} | {args.files / wall:.0f} | {1000 * cpu / args.files:.2f} | {wall:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
