"""Engine-neutral shard running: a shard -> an idempotent call -> a result.

Worker side, :func:`run_shard`: a plain, picklable function that any engine runs in any process.
It opens its own event loop and store and runs the normal sync engine over the shard's keys
(same content-exact skip rules, same ETag verification), and returns a ShardResult; it never
raises for a failed object or a failed shard (the result says so).

Driver side, :func:`drive`: hands shards to an engine as they are cut, a bounded window ahead
(more shards than workers, so a fast worker takes more), and retries a shard whose attempt was
lost or had failures while attempts remain (core.shards.should_retry); every attempt goes into
the migration report. A retry redoes only what is left: the shard is a sync of its range.
"""

from __future__ import annotations

import asyncio
import os
import socket
import sys
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from typing import Protocol

import anyio

from s3ferry.core.errors import describe
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.config import SHARDS_PER_WORKER
from s3ferry.core.shards import ShardResult, ShardSpec, lost, should_retry
from .shard import sync_shard


class Engine(Protocol):
    name: str
    workers: int

    def submit(self, spec: ShardSpec, attempt: int) -> Future[ShardResult]: ...
    def close(self) -> None: ...


def run_shard(spec: ShardSpec, attempt: int = 1) -> ShardResult:
    """Run one attempt at a shard here, on a fresh event loop. Executed by the workers."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    started = time.monotonic()
    try:
        result = anyio.run(sync_shard, spec, attempt, worker, backend="asyncio",
                           backend_options={"use_uvloop": sys.platform != "win32"})
    except Exception as exc:  # noqa: BLE001 - a shard's failure is its result, whatever it was
        code = getattr(exc, "exit_code", 1)
        return ShardResult(spec.number, attempt, worker, seconds=time.monotonic() - started,
                           exit_code=code, cause=f"{type(exc).__name__}: {describe(exc)}")
    return result


ShardDone = Callable[[ShardResult, MigrationReport], None]


async def drive(engine: Engine, shards: AsyncIterator[ShardSpec], report: MigrationReport,
                on_result: ShardDone | None = None) -> MigrationReport:
    """Run every shard to success or to its last attempt; the report holds every attempt."""
    started = time.monotonic()
    window = anyio.Semaphore(max(1, engine.workers) * SHARDS_PER_WORKER)

    async def attempts(spec: ShardSpec) -> None:
        try:
            attempt = 0
            while True:
                attempt += 1
                result = await _attempt(engine, spec, attempt)
                report.attempted(result)
                if on_result is not None:
                    on_result(result, report)
                if not should_retry(result):
                    return
        finally:
            window.release()

    try:
        async with anyio.create_task_group() as group:
            async for spec in shards:
                await window.acquire()
                report.planned(spec)
                group.start_soon(attempts, spec)
    finally:
        report.seconds = time.monotonic() - started
    return report


async def _attempt(engine: Engine, spec: ShardSpec, attempt: int) -> ShardResult:
    future = engine.submit(spec, attempt)
    try:
        return await asyncio.wrap_future(future)
    except asyncio.CancelledError:
        future.cancel()
        raise
    except Exception as exc:  # noqa: BLE001 - the worker was lost (KilledWorker, BrokenProcessPool)
        return lost(spec.number, attempt, f"worker lost: {type(exc).__name__}: {describe(exc)}")
