"""A local worker process's event loop and stores, kept for the life of the process.

A shard on a fresh loop must open a fresh store (an aiobotocore client and a connection pool:
65-140 ms of CPU measured per shard, and new TCP connections); a worker process of the local
engine runs many shards one after another on its main thread, so it keeps one loop and one
store per endpoint configuration and lends them to each shard. Dask workers do not: their
shards run on task threads, a loop each.
"""

from __future__ import annotations

import asyncio
import atexit
from collections.abc import Callable
from contextlib import AsyncExitStack
from typing import Any

from s3ferry.store.s3 import ObjectStore, open_store


class KeptLoop:
    def __init__(self, loop_factory: Callable[[], asyncio.AbstractEventLoop] | None):
        self.runner = asyncio.Runner(loop_factory=loop_factory)
        self._stores: dict[str, ObjectStore] = {}
        self._exits = AsyncExitStack()
        atexit.register(self.close)

    async def store(self, config: Any) -> ObjectStore:
        """The store for ``config`` (an equal Config, as each shard brings its own copy)."""
        key = repr(config)
        if key not in self._stores:
            self._stores[key] = await self._exits.enter_async_context(open_store(config))
        return self._stores[key]

    def close(self) -> None:
        try:
            self.runner.run(self._exits.aclose())
        except BaseException:  # noqa: BLE001, S110 - the process is ending: its connections go with it
            pass
        self.runner.close()


_kept: KeptLoop | None = None


def keep(loop_factory: Callable[[], asyncio.AbstractEventLoop] | None) -> None:
    """Called once in a local worker process, before its first shard."""
    global _kept
    _kept = KeptLoop(loop_factory)


def current() -> KeptLoop | None:
    return _kept
