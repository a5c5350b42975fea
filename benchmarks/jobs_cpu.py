#!/usr/bin/env python3
"""CPU per job of ops.jobs.run_jobs alone: 20,000 jobs that each yield to the loop twice and
return a result, 5 rounds, median (getrusage user+sys), uvloop.

    PYTHONPATH=src python benchmarks/jobs_cpu.py LABEL
"""
from __future__ import annotations

import asyncio
import resource
import statistics
import sys
from functools import partial

import anyio

from s3ferry.core.config import Config
from s3ferry.core.results import NoProgress, Summary, TransferResult
from s3ferry.ops.jobs import run_jobs

N = 20000


class Ctx:
    def __init__(self) -> None:
        self.config = Config()
        self.progress = NoProgress()
        self.batches = None


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


async def job(i: int) -> TransferResult:
    await asyncio.sleep(0)
    await asyncio.sleep(0)
    return TransferResult("get", "a", "b", 1)


async def jobs():
    for i in range(N):
        yield partial(job, i)


async def main() -> None:
    out = []
    for _ in range(5):
        started = cpu()
        await run_jobs(Ctx(), jobs(), Summary("get"))  # type: ignore[arg-type]
        out.append((cpu() - started) / N * 1e6)
    label = sys.argv[1] if len(sys.argv) > 1 else ""
    print(label, "us CPU per job", round(statistics.median(out), 2), [round(x, 1) for x in out])


if __name__ == "__main__":
    anyio.run(main, backend_options={"use_uvloop": True})
