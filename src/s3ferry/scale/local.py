"""The local engine: shards on N worker processes of this machine ("every core busy").

Each worker is a fresh interpreter (spawn: no inherited event loop, client or locks) that runs
run_shard with its own event loop and store. A worker that dies breaks the whole pool in
concurrent.futures; the engine then starts a new pool for the next submissions, and the driver
retries the shards that were lost, as it does for a lost Dask worker.

Signals: the workers ignore SIGINT, so a Ctrl-C at the terminal (which reaches the whole
process group) is the driver's alone to handle; the driver then stops them with SIGTERM, on
which a running shard is cancelled and cleans up (runner.run_shard).
"""

from __future__ import annotations

import multiprocessing
import os
import queue
import signal
import threading
import time
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

from s3ferry.core.config import WORKER_STOP_TIMEOUT
from s3ferry.core.shards import ShardResult, ShardSpec

from . import kept
from .runner import Tick, Ticks, loop_factory, run_shard

_CONTEXT = multiprocessing.get_context("spawn")
_ticks_out: Any = None  # in a worker: the queue its progress batches go to


def _start_worker(ticks: Any) -> None:
    global _ticks_out
    _ticks_out = ticks
    if ticks is not None:  # never wait at exit on a queue a killed sibling may have left locked
        ticks.cancel_join_thread()
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    kept.keep(loop_factory())


def _send_tick(tick: Tick) -> None:
    if _ticks_out is not None:
        _ticks_out.put_nowait(tick)


class LocalEngine:
    def __init__(self, workers: int, ticks: Ticks | None = None):
        self.workers = workers
        self.name = f"local processes:{workers}"
        self._ticks = ticks
        self._queue: Any = _CONTEXT.Queue() if ticks is not None else None
        self._pool = self._new_pool()
        self._pending: set[Future[ShardResult]] = set()
        self._retired: list[tuple[Any, float]] = []  # (process, when to kill it)
        self._stopping = threading.Event()
        self._reader: threading.Thread | None = None
        if ticks is not None:
            self._reader = threading.Thread(target=self._read_ticks, name="s3ferry-ticks", daemon=True)
            self._reader.start()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=_CONTEXT, initializer=_start_worker,
                                   initargs=(self._queue,))

    def _read_ticks(self) -> None:
        assert self._ticks is not None
        # The driver never writes to the queue (a worker killed mid-write leaves its lock
        # taken, and a writer here would then wait on it forever at exit): it polls, and
        # stops when told.
        while not self._stopping.is_set():
            try:
                tick = self._queue.get(timeout=0.2)
            except queue.Empty:
                continue
            except (EOFError, OSError, ValueError):  # the queue was closed: the engine is done
                return
            self._ticks(tick)

    def submit(self, spec: ShardSpec, attempt: int) -> Future[ShardResult]:
        sink = _send_tick if self._queue is not None else None
        try:
            future = self._pool.submit(run_shard, spec, attempt, sink)
        except BrokenProcessPool:
            # A worker died: its pool refuses new work. The shards it held fail on their own
            # futures and come back here as retries; its other processes are stopped.
            self._retire()
            self._pool = self._new_pool()
            future = self._pool.submit(run_shard, spec, attempt, sink)
        self._pending.add(future)
        future.add_done_callback(self._pending.discard)
        return future

    def close(self) -> None:
        """Every shard done: the workers end as a pool's workers do (closing their stores,
        flushing their queue). Otherwise (Ctrl-C, an error) what has not started is cancelled
        and the workers get SIGTERM: a running shard aborts its multipart uploads and removes
        its temporary files, then ends; an idle worker just ends. Either way no process of
        this engine outlives it."""
        if self._pending:
            self._retire()
        else:
            self._pool.shutdown(wait=True)
        self._reap()
        self._stop_reader()

    def _retire(self) -> None:
        """Stop the current pool's processes without waiting for them (SIGTERM: a running shard
        cleans up); _reap waits for them. A broken pool's survivors need this: a SIGKILLed
        sibling may have died holding the result queue's lock, and a worker that then sends
        its result waits on that lock forever."""
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive() and process.pid is not None:
                try:
                    os.kill(process.pid, signal.SIGTERM)
                except ProcessLookupError:
                    pass
        deadline = time.monotonic() + WORKER_STOP_TIMEOUT
        self._retired.extend((process, deadline) for process in processes)

    def _reap(self) -> None:
        """Wait for the retired processes until their deadline, then kill what is left."""
        for process, deadline in self._retired:
            process.join(max(0.0, deadline - time.monotonic()))
            if process.is_alive():
                process.kill()
                process.join(5)
        self._retired.clear()

    def _stop_reader(self) -> None:
        self._stopping.set()
        if self._reader is not None:
            self._reader.join(5)
        if self._queue is not None:
            self._queue.cancel_join_thread()
            self._queue.close()
