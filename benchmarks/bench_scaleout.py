#!/usr/bin/env python3
"""Scale-out: objects/s of an S3 -> S3 `sync --cluster local:N` for N = 1, 2, 4 workers.

    .venv/bin/python benchmarks/bench_scaleout.py                       # 2,000 objects, moto
    .venv/bin/python benchmarks/bench_scaleout.py --objects 5000 --server ceph --workers 1,2,4

It fills s3://BUCKET/src/ with tiny objects once (boto3, 16 threads), then for each worker count
runs a fresh `s3ferry sync s3://BUCKET/src/ s3://BUCKET/dst-N/ --cluster local:N` (all copies,
server-side) and a no-op re-run, and reports, from the migration report and wait4's rusage:

  objects/s   objects / the driver's shard time (cluster start-up excluded)
  wall s      the whole command, cluster start-up included
  CPU ms/obj  client CPU (the CLI and every worker process it reaped) per object, less the
              fixed cost of the same command on an empty prefix (cluster start-up, imports in
              every worker), which a long migration amortises

On this machine the server runs on the same 2 cores as the client: more workers compete with
the server, so objects/s here says little about a real cluster. Client CPU per object is the
figure that carries over: a real cluster adds a worker's cores for each worker.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))
from bench_sync_scale import server
from measure import timed

BUCKET = "scaleout"


def fill(s3, count: int, size: int) -> None:  # type: ignore[no-untyped-def]
    def put(index: int) -> None:
        s3.put_object(Bucket=BUCKET, Key=f"src/d{index % 50:02d}/f{index:07d}.bin", Body=b"%07d" % index * (size // 7))

    with ThreadPoolExecutor(16) as pool:
        list(pool.map(put, range(count)))


def run(env: dict[str, str], workers: int, dest: str, report: Path, source: str = "src") -> dict[str, float]:
    wall, cpu, _ = timed([sys.executable, "-m", "s3ferry", "sync", f"s3://{BUCKET}/{source}/", f"s3://{BUCKET}/{dest}/",
                          "--cluster", f"local:{workers}", "--report", str(report), "--quiet"], env,
                         f"sync --cluster local:{workers}")
    data = json.loads(report.read_text())
    objects = data["totals"]["objects"]
    return {"objects": objects, "copied": data["totals"]["copied"], "rate": objects / data["seconds"],
            "wall": wall, "cpu": cpu, "verified": data["verified"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--objects", type=int, default=2000)
    parser.add_argument("--size", type=int, default=1024, help="bytes per object")
    parser.add_argument("--workers", default="1,2,4")
    parser.add_argument("--server", choices=("moto", "ceph"), default="moto")
    args = parser.parse_args()
    import boto3
    from botocore.config import Config as BotoConfig

    scratch = Path(tempfile.mkdtemp(prefix="s3ferry-scaleout-"))
    rows = []
    with server(args.server, scratch) as (url, key, secret):
        env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
               "AWS_DEFAULT_REGION": "us-east-1", "S3FERRY_ENDPOINT_URL": url,
               "PYTHONPATH": str(ROOT / "src")}
        s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=key, aws_secret_access_key=secret,
                          region_name="us-east-1", config=BotoConfig(s3={"addressing_style": "path"},
                                                                     max_pool_connections=16))
        s3.create_bucket(Bucket=BUCKET)
        fill(s3, args.objects, args.size)
        print(f"{args.objects} objects of {args.size} bytes on {args.server}", flush=True)
        for workers in (int(w) for w in args.workers.split(",")):
            fixed = run(env, workers, f"none-{workers}", scratch / f"empty-{workers}.json", source="empty")["cpu"]
            copy = run(env, workers, f"dst-{workers}", scratch / f"copy-{workers}.json")
            noop = run(env, workers, f"dst-{workers}", scratch / f"noop-{workers}.json")
            for row in (copy, noop):
                row["cpu_ms"] = 1000 * max(0.0, row["cpu"] - fixed) / max(1, row["objects"])
                row["fixed"] = fixed
            assert copy["verified"] and copy["copied"] == args.objects and noop["copied"] == 0, (copy, noop)
            rows.append((workers, copy, noop))
            print(f"  {workers} worker(s): copy {copy['rate']:.0f} obj/s ({copy['wall']:.1f} s wall, "
                  f"{copy['cpu_ms']:.2f} ms CPU/obj beyond {fixed:.1f} CPU-s fixed); no-op {noop['rate']:.0f} obj/s "
                  f"({noop['cpu_ms']:.2f} ms CPU/obj)", flush=True)
    print("\n| workers | copy objects/s | copy wall s | client CPU ms/object copied | no-op objects/s "
          "| client CPU ms/object unchanged | fixed CPU-s (start-up) |")
    print("|---|---|---|---|---|---|---|")
    for workers, copy, noop in rows:
        print(f"| {workers} | {copy['rate']:.0f} | {copy['wall']:.1f} | {copy['cpu_ms']:.2f} | {noop['rate']:.0f} "
              f"| {noop['cpu_ms']:.2f} | {copy['fixed']:.1f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
