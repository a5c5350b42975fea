"""The global limit on requests that carry a part's bytes (Context.slots): anyio's
CapacityLimiter, less its cost when a slot is free.

anyio's acquire is always a checkpoint: a cancel-scope check, then a shielded scope and a
loop pass even when a slot is free (~6 us of CPU and a task wake-up per acquire; a small
file takes one slot per request). Here a free slot is taken at once, with no await; a
waiter queues (first come, first served, as anyio's) on a bare loop future. The interface is
the subset of CapacityLimiter s3ferry uses."""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque
from types import TracebackType


class Slots:
    def __init__(self, total_tokens: int) -> None:
        self.total_tokens = total_tokens
        self._borrowers: set[object] = set()
        self._waiters: deque[tuple[object, asyncio.Future[None]]] = deque()

    @property
    def borrowed_tokens(self) -> int:
        return len(self._borrowers)

    @property
    def available_tokens(self) -> int:
        return self.total_tokens - len(self._borrowers)

    async def acquire_on_behalf_of(self, borrower: object) -> None:
        if borrower in self._borrowers:
            raise RuntimeError("this borrower is already holding one of this limiter's tokens")
        if not self._waiters and len(self._borrowers) < self.total_tokens:
            self._borrowers.add(borrower)
            return
        waiter = (borrower, asyncio.get_running_loop().create_future())
        self._waiters.append(waiter)
        try:
            await waiter[1]
        except BaseException:
            if borrower in self._borrowers:  # given the slot just as it was cancelled: pass it on
                self.release_on_behalf_of(borrower)
            else:
                with contextlib.suppress(ValueError):  # still queued (a release skips it if not)
                    self._waiters.remove(waiter)
            raise

    def release_on_behalf_of(self, borrower: object) -> None:
        try:
            self._borrowers.remove(borrower)
        except KeyError:
            raise RuntimeError("this borrower isn't holding any of this limiter's tokens") from None
        while self._waiters and len(self._borrowers) < self.total_tokens:
            waiting, future = self._waiters.popleft()
            if not future.done():
                self._borrowers.add(waiting)
                future.set_result(None)

    async def acquire(self) -> None:
        await self.acquire_on_behalf_of(asyncio.current_task())

    def release(self) -> None:
        self.release_on_behalf_of(asyncio.current_task())

    async def __aenter__(self) -> None:
        await self.acquire()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.release()
