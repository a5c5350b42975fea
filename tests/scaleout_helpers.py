"""Shard stand-ins the Dask workers of a test import by name (spawned workers get the test's
sys.path): a shard that waits to be cancelled and leaves a mark when it is."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from s3ferry.core.shards import ShardResult
from s3ferry.scale import runner


def waiting_shard(spec, attempt: int, mark: str) -> ShardResult:
    async def wait(spec, attempt, worker, *_):
        Path(mark + ".started").write_text(str(os.getpid()))
        try:
            await asyncio.sleep(600)
        except asyncio.CancelledError:
            Path(mark).write_text("cancelled")  # where a real shard aborts its uploads
            raise
        return ShardResult(spec.number, attempt)

    runner.sync_shard = wait
    return runner.run_shard(spec, attempt)
