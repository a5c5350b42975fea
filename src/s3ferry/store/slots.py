"""A FIFO limit on holders without a coroutine per take when a slot is free: the connection
pool's (store/http1_pool.py) and, with borrowers on top, the transfers' (ops/slots.py)."""

from __future__ import annotations

import asyncio
import collections


class Slots:
    """At most ``size`` holders at once, first come first served: asyncio.Semaphore's job
    without its cost per request (its acquire is a coroutine that scans the waiters with
    any() even when a slot is free). A freed slot goes straight to the oldest waiter."""

    def __init__(self, size: int) -> None:
        self.free = size
        self.waiters: collections.deque[asyncio.Future[None]] = collections.deque()

    def try_take(self) -> bool:
        """A free slot at once (no waiter ahead), or False."""
        if self.free and not self.waiters:
            self.free -= 1
            return True
        return False

    async def take(self) -> None:
        if self.try_take():
            return
        future = asyncio.get_running_loop().create_future()
        self.waiters.append(future)
        try:
            await future
        except BaseException:  # a cancel (or anything else) while waiting
            if future.done() and not future.cancelled():
                self.give()  # handed a slot, then cancelled before using it: pass it on
            raise

    def give(self) -> None:
        waiters = self.waiters
        while waiters:
            future = waiters.popleft()
            if not future.done():  # a cancelled waiter is done: skipped
                future.set_result(None)
                return
        self.free += 1
