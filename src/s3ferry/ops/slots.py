"""The global limit on requests that carry a part's bytes (Context.slots): anyio's
CapacityLimiter, less its cost when a slot is free.

anyio's acquire is always a checkpoint: a cancel-scope check, then a shielded scope and a
loop pass even when a slot is free (~6 us of CPU and a task wake-up per acquire; a small
file takes one slot per request). Here a free slot is taken at once, with no await; a
waiter queues (first come, first served, as anyio's) in store/slots.py's queue, the connection
pool's. The interface is the subset of CapacityLimiter s3ferry uses."""

from __future__ import annotations

import asyncio
from types import TracebackType

from s3ferry.store.slots import Slots as Free


class Slots:
    def __init__(self, total_tokens: int) -> None:
        self.total_tokens = total_tokens
        self._borrowers: set[object] = set()
        self._slots = Free(total_tokens)  # the queue: first come, first served

    @property
    def borrowed_tokens(self) -> int:
        return len(self._borrowers)

    @property
    def available_tokens(self) -> int:
        return self.total_tokens - len(self._borrowers)

    async def acquire_on_behalf_of(self, borrower: object) -> None:
        if borrower in self._borrowers:
            raise RuntimeError("this borrower is already holding one of this limiter's tokens")
        if not self._slots.try_take():
            await self._slots.take()  # handed a slot just as it was cancelled: it passes it on
        self._borrowers.add(borrower)

    def release_on_behalf_of(self, borrower: object) -> None:
        try:
            self._borrowers.remove(borrower)
        except KeyError:
            raise RuntimeError("this borrower isn't holding any of this limiter's tokens") from None
        self._slots.give()

    async def acquire(self) -> None:
        await self.acquire_on_behalf_of(asyncio.current_task())

    def release(self) -> None:
        self.release_on_behalf_of(asyncio.current_task())

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.release()
