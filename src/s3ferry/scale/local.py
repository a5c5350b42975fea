"""The local engine: shards on N worker processes of this machine ("every core busy").

Each worker is a fresh interpreter (spawn: no inherited event loop, client or locks) that runs
run_shard with its own event loop and store. A worker that dies breaks the whole pool in
concurrent.futures; the engine then starts a new pool for the next submissions, and the driver
retries the shards that were lost, as it does for a lost Dask worker.
"""

from __future__ import annotations

import multiprocessing
import os
import signal
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from s3ferry.core.config import WORKER_STOP_TIMEOUT
from s3ferry.core.shards import ShardResult, ShardSpec

from .runner import run_shard


class LocalEngine:
    def __init__(self, workers: int):
        self.workers = workers
        self.name = f"local processes:{workers}"
        self._pool = self._new_pool()

    def _new_pool(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(self.workers, mp_context=multiprocessing.get_context("spawn"))

    def submit(self, spec: ShardSpec, attempt: int) -> Future[ShardResult]:
        try:
            return self._pool.submit(run_shard, spec, attempt)
        except BrokenProcessPool:
            # A worker died: its pool refuses new work. The shards it held fail on their own
            # futures and come back here as retries.
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new_pool()
            return self._pool.submit(run_shard, spec, attempt)

    def close(self) -> None:
        """Cancel what has not started. A running shard gets SIGINT, as on Ctrl-C in one
        process: it aborts its multipart uploads and removes its temporary files, then ends."""
        processes = list((getattr(self._pool, "_processes", None) or {}).values())
        self._pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            if process.is_alive() and process.pid is not None:
                os.kill(process.pid, signal.SIGINT)
        for process in processes:
            process.join(WORKER_STOP_TIMEOUT)
            if process.is_alive():
                process.terminate()
