#!/usr/bin/env python3
"""Client CPU per small file of the local side of a get, by how it reaches a worker thread.

    PYTHONPATH=src python -P benchmarks/batches_cpu.py [--files 2000] [--rounds 5] [--inflight 64]

No server: each file is what ops/get_small.write_small does for a 64 KiB object already in
memory (O_EXCL temporary file, fallocate, write + MD5, utime, rename, hash cache row), run from
``--inflight`` tasks at a time on uvloop, as run_jobs runs a tree's downloads. Ways compared,
interleaved round by round (medians of CPU = getrusage(RUSAGE_SELF) user+sys):
- ``hop``: one ``anyio.to_thread.run_sync`` per file (before ops/batched.py);
- ``batched``: ops.batched.LocalBatches (several files per hop, HOPS at a time);
- ``alone``: LocalBatches, each file's lane job run alone, one after another in its hop;
- ``inline``: on the event loop itself (no thread: the floor, for reference only).
``batched`` runs a hop's files side by side (their MD5s in lanes): compare it with ``alone``.
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
from s3ferry.core.md5lanes import Md5
from s3ferry.local import lanes
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
            md5 = Md5()
            job = write_small(md5, tmp, dest, body, expected, stamp, (root, dest.name), cache)
            if way == "hop":
                await to_thread.run_sync(lanes.drive_one, md5, job)
            elif way == "inline":
                lanes.drive_one(md5, job)
                await anyio.lowlevel.checkpoint()
            elif way == "alone":
                assert batches is not None
                await batches.run(lanes.drive_one, md5, job)
            else:
                assert batches is not None
                await batches.run_lane(md5, job)
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
    ways = ("hop", "batched", "alone", "inline")
    figures: dict[str, list[float]] = {way: [] for way in ways}
    with HashCache(work / "cache.sqlite") as cache:
        for r in range(args.rounds + 1):
            for way in ways[r % len(ways):] + ways[:r % len(ways)]:
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
