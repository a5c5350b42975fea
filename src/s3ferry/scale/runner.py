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
import signal
import socket
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable
from concurrent.futures import Future
from typing import Protocol

import anyio

from s3ferry.core.config import SHARDS_PER_WORKER
from s3ferry.core.errors import EXIT_INTERRUPTED, describe
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.shards import ShardResult, ShardSpec, lost, should_retry

from . import kept
from .shard import sync_shard

# Progress from the workers, batched: (shard number, attempt, objects, bytes) done since the
# last batch. An engine carries the batches to the driver its own way (a process queue, Dask's
# events) and calls the driver's Ticks with them; a final ShardResult supersedes its ticks.
Tick = tuple[int, int, int, int]
Ticks = Callable[[Tick], None]
TickSink = Callable[[Tick], None]


class Engine(Protocol):
    """Runs shards somewhere. Built with an optional Ticks callback for per-object progress
    (called on any thread); an engine that cannot carry ticks only reports finished shards."""

    name: str
    workers: int

    def submit(self, spec: ShardSpec, attempt: int) -> Future[ShardResult]: ...
    def close(self) -> None: ...


# The shards running in this process, by their loop: a worker that is being stopped cancels
# them (stop_running), and each aborts its multipart uploads and removes its temporary files
# as a one-process sync does on Ctrl-C, instead of dying with them.
_running: dict[asyncio.AbstractEventLoop, asyncio.Task[ShardResult]] = {}
_lock = threading.Lock()


def run_shard(spec: ShardSpec, attempt: int = 1, sink: TickSink | None = None) -> ShardResult:
    """Run one attempt at a shard here, on a fresh event loop. Executed by the workers: in a
    process's main thread (the local engine; SIGTERM cancels it) or on a worker thread (Dask;
    stop_running cancels it). ``sink`` (picklable: a module-level function) takes batches of
    progress."""
    worker = f"{socket.gethostname()}:{os.getpid()}"
    started = time.monotonic()
    main_thread = threading.current_thread() is threading.main_thread()
    loop_kept = kept.current() if main_thread else None

    async def main() -> ShardResult:
        loop = asyncio.get_running_loop()
        with _lock:
            _running[loop] = asyncio.current_task()  # type: ignore[assignment]
        stoppable = main_thread and sys.platform != "win32"
        if stoppable:
            # A worker process is stopped with SIGTERM: the shard is cancelled and cleans up
            # (aborts its multipart uploads, removes its temporary files) as a Ctrl-C would.
            loop.add_signal_handler(signal.SIGTERM, _running[loop].cancel)
        try:
            return await sync_shard(spec, attempt, worker, sink, loop_kept.store if loop_kept else None)
        finally:
            if stoppable:  # between shards a SIGTERM just ends the process
                loop.remove_signal_handler(signal.SIGTERM)
            with _lock:
                _running.pop(loop, None)

    try:
        if loop_kept is not None:
            return loop_kept.runner.run(main())
        with asyncio.Runner(loop_factory=loop_factory()) as runner:
            return runner.run(main())
    except asyncio.CancelledError:  # stopped (SIGTERM, stop_running): cleaned up, reported as such
        return ShardResult(spec.number, attempt, worker, seconds=time.monotonic() - started,
                           exit_code=EXIT_INTERRUPTED, cause="stopped: the worker was shut down")
    except Exception as exc:  # noqa: BLE001 - a shard's failure is its result, whatever it was
        code = getattr(exc, "exit_code", 1)
        return ShardResult(spec.number, attempt, worker, seconds=time.monotonic() - started,
                           exit_code=code, cause=f"{type(exc).__name__}: {describe(exc)}")


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    if sys.platform == "win32":
        return None
    try:
        import uvloop
    except ImportError:
        return None
    return uvloop.new_event_loop


def stop_running(timeout: float) -> None:
    """Cancel the shards running in this process and wait (up to ``timeout`` seconds) for
    them to clean up. Called from another thread while a worker shuts down."""
    with _lock:
        running = list(_running.items())
    for loop, task in running:
        loop.call_soon_threadsafe(task.cancel)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with _lock:
            if not any(loop in _running for loop, _ in running):
                return
        time.sleep(0.05)


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
    except asyncio.CancelledError as exc:
        current = asyncio.current_task()
        if current is not None and not current.cancelling():
            # Not our cancellation: the engine cancelled the attempt (Dask cancels every
            # future when its client loses the scheduler). Lost, then: retried, not dropped.
            return lost(spec.number, attempt, f"worker lost: {type(exc).__name__}: {describe(exc)}")
        future.cancel()
        raise
    except Exception as exc:  # noqa: BLE001 - the worker was lost (KilledWorker, BrokenProcessPool)
        return lost(spec.number, attempt, f"worker lost: {type(exc).__name__}: {describe(exc)}")
