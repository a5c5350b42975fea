"""Client CPU per request of the store as the CLI opens it (open_store: LeanStore, the retry
policy, the raw HTTP/1.1 pool), against a server that keeps connections alive (Ceph RGW).

    AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... PYTHONPATH=src .venv/bin/python \\
        benchmarks/request_cpu.py --endpoint-url URL [--ops head,put,get] [--requests 1000] [--profile]

64 KiB objects, 16 in flight, uvloop and the CLI's tuning, as benchmarks/http_floor.py's "lean"
engine (whose put/get/head it runs: Content-MD5 on puts, md5 of every GET's body). One warm-up
batch per op, then one measured batch per op: user+sys CPU of this process per request.
To compare builds, run it with each build's src first on PYTHONPATH, interleaved. --profile
adds Python function calls per request (cProfile: a count, so independent of the machine's
load) and the files they are spent in.
"""

from __future__ import annotations

import argparse
import collections
import sys
import time
from contextlib import AsyncExitStack
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p != HERE]  # benchmarks/profile.py would shadow the stdlib's
import cProfile
import pstats

import uvloop

sys.path.insert(0, HERE)
import http_floor  # the engines and the tuning live there

from s3ferry.core.config import Config


async def run(args: argparse.Namespace) -> None:
    import boto3

    s3 = boto3.client("s3", endpoint_url=args.endpoint_url, region_name="us-east-1")
    if http_floor.BUCKET not in {b["Name"] for b in s3.list_buckets()["Buckets"]}:
        s3.create_bucket(Bucket=http_floor.BUCKET)
    config = Config(endpoint_url=args.endpoint_url, max_concurrency=16, addressing_style="path")
    keys = [f"k/{i:05d}" for i in range(args.requests)]
    async with AsyncExitStack() as stack:
        engine = await http_floor.lean_engine(config, stack)
        ops = args.ops.split(",")
        await http_floor.batch(engine["put"], keys, 16)  # every object exists, the pool is warm
        for op in ops:
            await http_floor.batch(engine[op], keys, 16)
        profile = cProfile.Profile(time.process_time) if args.profile else None
        for op in ops:
            if profile:
                profile.enable()
            user, system, rate = await http_floor.batch(engine[op], keys, 16)
            if profile:
                profile.disable()
            print(f"{op} {user + system:.0f} us CPU/request (user {user:.0f}, sys {system:.0f}), {rate:.0f} req/s")
        if profile:
            _calls(profile, len(keys) * len(ops))


def _calls(profile: cProfile.Profile, requests: int) -> None:
    calls: collections.Counter[str] = collections.Counter()
    for (path, _, _), (_, count, _, _, _) in pstats.Stats(profile).stats.items():  # type: ignore[attr-defined]
        calls[path.split("site-packages/")[-1].split("/src/")[-1].split("python3.11/")[-1]] += count
    print(f"Python calls per request: {sum(calls.values()) / requests:.1f} (~ = builtins)")
    for path, count in calls.most_common(15):
        print(f"  {count / requests:6.1f} {path}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--endpoint-url", required=True)
    parser.add_argument("--ops", default="head,put,get")
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--profile", action="store_true")
    args = parser.parse_args()
    http_floor.tuning.bound_allocator()
    http_floor.tuning.coalesce_without_copy()
    http_floor.tuning.calm_gc()
    uvloop.run(run(args))


if __name__ == "__main__":
    main()
