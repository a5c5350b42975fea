#!/usr/bin/env python3
"""Client CPU per small file of the local side of a get, by how it reaches a worker thread.

    PYTHONPATH=src python -P benchmarks/batches_cpu.py [--files 2000] [--rounds 5] [--inflight 64]

No server: each file is what ops/get_small.write_small does for a 64 KiB object already in
memory (O_EXCL temporary file, fallocate, write + MD5, utime, rename, hash cache row), run from
``--inflight`` tasks at a time on uvloop, as run_jobs runs a tree's downloads. Ways compared,
interleaved round by round (medians of CPU = getrusage(RUSAGE_SELF) user+sys):
- ``hop``: one ``anyio.to_thread.run_sync`` per file (before ops/batched.py);
- ``batched``: ops.batched.LocalBatches (several files per hop, HOPS at a time);
- ``inline``: on the event loop itself (no thread: the floor, for reference only).
"""
from __future__ import annotations

import argparse
import hashlib
import os
import resource
import shutil
import statistics
import tempfile
from datetime import UTC, datetime
from pathlib import Path

import anyio
from anyio import to_thread

from s3ferry.cli import tuning
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.batched import LocalBatches
from s3ferry.ops.get_small import write_small


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def one_round(way: str, root: Path, files: int, inflight: int, body: list[bytes],
                    expected: bytes, cache: HashCache) -> float:
    root.mkdir(parents=True)  # a new folder per round: deleting one makes ext4's next inodes dearer
    stamp = datetime(2026, 1, 1, tzinfo=UTC)
    limit = anyio.Semaphore(inflight)
    started = cpu()

    async def one(i: int, batches: LocalBatches | None) -> None:
        try:
            dest = root / f"f{i:05d}.bin"
            tmp = root / f".f{i:05d}.bin.s3ferry-tmp"
            args = (tmp, dest, body, expected, stamp, (root, dest.name), cache)
            if way == "hop":
                await to_thread.run_sync(write_small, *args)
            elif way == "inline":
                write_small(*args)
                await anyio.lowlevel.checkpoint()
            else:
                assert batches is not None
                await batches.run(write_small, *args)
        finally:
            limit.release()

    async with anyio.create_task_group() as hops:
        batches = LocalBatches(hops)
        async with anyio.create_task_group() as tg:
            for i in range(files):
                await limit.acquire()
                tg.start_soon(one, i, batches)
    return (cpu() - started) / files * 1000


async def main(args: argparse.Namespace) -> None:
    body = [os.urandom(64 * 1024)]
    expected = hashlib.md5(body[0]).digest()
    work = Path(tempfile.mkdtemp(prefix="batches-cpu-"))
    ways = ("hop", "batched", "inline")
    figures: dict[str, list[float]] = {way: [] for way in ways}
    with HashCache(work / "cache.sqlite") as cache:
        for r in range(args.rounds + 1):
            for way in ways[r % 3:] + ways[:r % 3]:
                ms = await one_round(way, work / f"{way}{r}", args.files, args.inflight, body, expected, cache)
                if r:  # the first round warms the disk, the cache and the thread pool
                    figures[way].append(ms)
    shutil.rmtree(work, ignore_errors=True)
    for way in ways:
        spread = ", ".join(f"{v:.3f}" for v in sorted(figures[way]))
        print(f"{way:8s} {statistics.median(figures[way]):.3f} ms CPU/file [{spread}]")


if __name__ == "__main__":
    ap = argparse.ArgumentParser()
    ap.add_argument("--files", type=int, default=2000)
    ap.add_argument("--rounds", type=int, default=5)
    ap.add_argument("--inflight", type=int, default=64)
    tuning.bound_allocator()
    tuning.calm_gc()
    anyio.run(main, ap.parse_args(), backend_options={"use_uvloop": True})
