#!/usr/bin/env python3
"""Client CPU per object of a tree put or get, in one process, without process start-up.

    PYTHONPATH=src python benchmarks/inproc_cpu.py put|get --endpoint-url URL [--profile]

Needs benchmarks/profile.py's data (DATA/small: 2,000 x 64 KiB, made by one profile.py run)
and its bucket; credentials from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY. Runs the
transfer twice with the CLI's start-up tuning (GC, allocator) and measures the second run with
getrusage(RUSAGE_SELF): what one object costs the engine, start-up aside (profile.py's
figures include ~0.8 s of start-up, ~0.4 ms per object at 2,000 objects). ``--profile``
prints cProfile's top functions of the measured run.
"""
from __future__ import annotations

import argparse
import cProfile
import os
import pstats
import resource
import shutil
import tempfile
import time

import anyio

from s3ferry import api
from s3ferry.cli import tuning
from s3ferry.cli.render import Reporter
from s3ferry.core.config import Config

COUNT = 2000


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def main(args: argparse.Namespace) -> None:
    data = args.data
    out = os.path.join(data, "out")
    config = Config(endpoint_url=args.endpoint_url)

    async def once() -> int:
        quiet = Reporter(json_lines=False, quiet=True)
        if args.what == "get":
            shutil.rmtree(out, ignore_errors=True)  # outside the measured call below
            os.makedirs(out)
            started = cpu()
            summary = await api.get(f"s3://{args.bucket}/small/", out + "/small/", progress=quiet, config=config)
        else:
            started = cpu()
            summary = await api.put(os.path.join(data, "small"), f"s3://{args.bucket}/small/", progress=quiet,
                                    config=config)
        assert summary.exit_code == 0, summary
        return started

    await once()
    profile = cProfile.Profile() if args.profile else None
    wall = time.monotonic()
    if profile:
        profile.enable()
    started = await once()
    spent = cpu() - started
    if profile:
        profile.disable()
        pstats.Stats(profile).sort_stats("cumtime").print_stats(50)
    print(f"{args.what} {1000 * spent / COUNT:.3f} ms CPU/object (no start-up), wall {time.monotonic() - wall:.2f} s")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("put", "get"))
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("--bucket", default="perf")
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "s3ferry-profile-data"))
    ap.add_argument("--profile", action="store_true")
    tuning.bound_allocator()
    tuning.coalesce_without_copy()
    tuning.calm_gc()
    anyio.run(main, ap.parse_args(), backend="asyncio", backend_options={"use_uvloop": True})
