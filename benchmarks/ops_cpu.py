#!/usr/bin/env python3
"""Client CPU per object of a tree get / put in the ops layer alone: the store is an in-memory
stand-in answering at once (no HTTP, no signing, no retry policy), so what is measured is
ops/ + local/ (jobs, tasks, limiter, the local file work, results, the hash cache).

    PYTHONPATH=src python -P benchmarks/ops_cpu.py get|put [--files 2000] [--rounds 3] [--profile]

Files go to /dev/shm by default (--dir): ext4's inode allocation alone moves by 0.2 ms per
file from round to round here. CPU = getrusage(RUSAGE_SELF) user+sys of one tree transfer, the first round thrown away,
median of the rest; a new destination folder per round (deleting one makes ext4's next
inodes dearer). ``--profile``: cProfile of one more round, top functions by own time.
"""
from __future__ import annotations

import argparse
import cProfile
import hashlib
import os
import pstats
import resource
import shutil
import statistics
import tempfile
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import anyio

from s3ferry.cli import tuning
from s3ferry.cli.render import Reporter
from s3ferry.core.config import Config
from s3ferry.core.locations import S3Location, parse_s3_url
from s3ferry.core.parts import Part
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.context import Context
from s3ferry.ops.trees import get_path, put_path

SIZE = 64 * 1024


class MemoryStore:
    """The few ObjectStore calls a tree get/put makes, answered from memory at once."""

    def __init__(self, files: int) -> None:
        self.body = os.urandom(SIZE)
        self.etag = '"' + hashlib.md5(self.body).hexdigest() + '"'
        self.files = files
        self.reached = True

    async def retry(self, call: Any) -> Any:
        return await call()

    async def head_bucket(self, bucket: str) -> dict:
        return {}

    async def list_objects(self, where: S3Location, **_: Any) -> AsyncIterator[dict]:
        stamp = datetime(2026, 1, 1, tzinfo=UTC)
        for i in range(self.files):
            yield {"Key": f"{where.key}f{i:05d}.bin", "Size": SIZE, "ETag": self.etag, "LastModified": stamp}

    async def read_range(self, loc: S3Location, part: Part, sink: Any, **_: Any) -> None:
        await anyio.lowlevel.checkpoint()  # a real GET suspends at least once
        await sink(0, [self.body])

    async def put(self, loc: S3Location, body: Any, **params: Any) -> dict:
        await anyio.lowlevel.checkpoint()
        return {"ETag": '"' + hashlib.md5(body).hexdigest() + '"'}


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def one(args: argparse.Namespace, work: Path, n: int, cache: HashCache) -> float:
    store = MemoryStore(args.files)
    ctx = Context(store, Config(), Reporter(json_lines=False, quiet=True))  # type: ignore[arg-type]
    if args.what == "get":
        started = cpu()
        summary = await get_path(ctx, parse_s3_url("s3://bench/p/"), work / f"out{n}", into_folder=True, cache=cache)
    else:
        src = work / "src"
        started = cpu()
        summary = await put_path(ctx, src, parse_s3_url("s3://bench/p/"), cache)
    assert summary.exit_code == 0 and summary.files == args.files, summary
    return (cpu() - started) / args.files * 1000


async def main(args: argparse.Namespace) -> None:
    work = Path(tempfile.mkdtemp(prefix="ops-cpu-", dir=args.dir))
    if args.what == "put":
        (work / "src").mkdir()
        for i in range(args.files):
            (work / "src" / f"f{i:05d}.bin").write_bytes(os.urandom(SIZE))
    figures = []
    with HashCache(work / "cache.sqlite") as cache:
        for n in range(args.rounds + 1):
            ms = await one(args, work, n, cache)
            if n:
                figures.append(ms)
        if args.profile:
            profile = cProfile.Profile()
            profile.enable()
            await one(args, work, args.rounds + 1, cache)
            profile.disable()
            pstats.Stats(profile).sort_stats("tottime").print_stats(35)
    shutil.rmtree(work, ignore_errors=True)
    spread = ", ".join(f"{v:.3f}" for v in sorted(figures))
    print(f"{args.what} ops only: {statistics.median(figures):.3f} ms CPU/object [{spread}]")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("get", "put"))
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--profile", action="store_true")
    ap.add_argument("--dir", default="/dev/shm" if os.path.isdir("/dev/shm") else None,
                    help="where the files go (default tmpfs: the Python side without the disk's noise)")
    tuning.bound_allocator()
    tuning.calm_gc()
    anyio.run(main, ap.parse_args(), backend_options={"use_uvloop": True})
