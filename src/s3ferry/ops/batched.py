"""Small files' blocking local work, several files per worker-thread hop.

A hop (``anyio.to_thread.run_sync``) costs ~0.1 ms of CPU (the queue, waking a thread, waking
the loop, the GIL handed back and forth, a context switch each way), as much as a 64 KiB file's
own open/write/rename. Calls that arrive while a hop is running wait and go together in the
next one: a tree of small files under load pays one hop per batch, a lone call goes at once.
At most ``HOPS`` hops run at a time for one run_jobs; each call's outcome (result or error) is
its own, as if it had had a hop of its own."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, TypeVar

import anyio
from anyio import CancelScope, to_thread
from anyio.abc import TaskGroup

from s3ferry.core import md5lanes
from s3ferry.core.md5lanes import Md5
from s3ferry.local import lanes
from s3ferry.local.lanes import LaneJob

T = TypeVar("T")

# Hops at a time. One: the calls that arrive while it runs go together in the next, which keeps
# batches large, and the lane jobs in a batch hash side by side (a second hop would take the one
# call that arrived first, to hash alone). A 1 GiB get: 1.45 -> 1.30 CPU-s with one hop instead
# of two, small trees no dearer (benchmarks/profile.md, "lanes").
HOPS = 1
# Files per hop at most: a batch's first file waits for its last, holding its slot meanwhile.
BATCH = 32
# A hop about to start with fewer than GATHER_BELOW lane jobs, the first of which asked to
# gather (a download's receive blocks), waits GATHER_SECONDS for more to hash side by side: the
# ranges' blocks fill at different times and reached the hop ~5 at a time. A 1 GiB get on a
# local Ceph: 2.13-2.23 -> 2.00-2.08 s, 0.72-0.78 -> 0.56-0.63 user CPU-s (benchmarks/profile.md,
# "lanes"). The other ranges keep receiving meanwhile; small files never wait.
GATHER_BELOW = 8
GATHER_SECONDS = 0.006

# A call is queued, then in a batch being run, then run (on the thread), then handed back (on
# the loop, its waiter woken).
_QUEUED, _RUNNING, _DONE, _HANDED = 0, 1, 2, 3


class _Call(Generic[T]):
    __slots__ = ("args", "done", "error", "func", "gather", "lane", "result", "state")

    def __init__(self, func: Callable[..., T] | None, args: tuple[Any, ...],
                 lane: tuple[Md5, LaneJob[T]] | None = None, gather: bool = False) -> None:
        self.func, self.args, self.lane, self.gather = func, args, lane, gather
        self.state = _QUEUED
        self.result: T | None = None
        self.error: BaseException | None = None
        # A bare future of the loop: an anyio.Event costs a cancel scope and a loop pass more
        # per wait. A waiter cancelled while its call runs waits on an Event instead.
        self.done: asyncio.Future[None] | anyio.Event = asyncio.get_running_loop().create_future()

    def run(self) -> None:  # on the worker thread
        try:
            self.result = self.func(*self.args)  # type: ignore[misc]
        except BaseException as exc:  # noqa: BLE001 - the caller's to raise, on its own task
            self.error = exc
        self.state = _DONE

    def ran(self, outcome: lanes.Outcome) -> None:  # on the worker thread
        self.result, self.error = outcome.result, outcome.error
        self.state = _DONE

    def hand_back(self) -> None:  # on the loop
        if self.state != _DONE:  # cancelled before the thread took its batch: never ran
            self.error = anyio.get_cancelled_exc_class()()
        self.state = _HANDED
        if isinstance(self.done, anyio.Event):
            self.done.set()
        elif not self.done.done():
            self.done.set_result(None)


def _run_all(calls: list[_Call[Any]]) -> None:
    """The batch's lane jobs side by side in MD5 lanes, then its plain calls."""
    side = [call for call in calls if call.lane is not None]
    if side:
        for call, outcome in zip(side, lanes.drive([call.lane for call in side])):  # type: ignore[misc]
            call.ran(outcome)
    for call in calls:
        if call.lane is None:
            call.run()


class LocalBatches:
    """Runs blocking calls on worker threads, batched; its hops are tasks of ``group``."""

    def __init__(self, group: TaskGroup, hops: int = HOPS, batch: int = BATCH) -> None:
        self._group = group
        self._hops, self._batch = hops, batch
        self._queue: list[_Call[Any]] = []
        self._running = 0
        self.hops = 0  # how many hops ran (tests and profiles)
        self._small: list[tuple[Any, asyncio.Future[bytes]]] = []
        self.small_batches = 0  # how many md5_small passes ran (tests and profiles)

    async def md5_small(self, data: Any) -> bytes:
        """The MD5 of a small buffer (a file of at most INLINE_READ), side by side in MD5 lanes
        with the others asked for in the same pass of the event loop, hashed on the loop itself:
        for 64 KiB a worker-thread hop costs more than the hashing, and the files of a tree
        reach this one or two at a time (a hop per file, mostly)."""
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[bytes] = loop.create_future()
        self._small.append((data, waiter))
        if len(self._small) == 1:
            loop.call_soon(self._hash_small)
        return await waiter

    def _hash_small(self) -> None:
        pending, self._small = self._small, []
        self.small_batches += 1
        try:
            digests = md5lanes.md5_many([data for data, _ in pending])
        except BaseException as exc:  # noqa: BLE001 - each waiter's to raise
            for _, waiter in pending:
                if not waiter.done():
                    waiter.set_exception(exc)
            return
        for (_, waiter), digest in zip(pending, digests):
            if not waiter.done():  # a cancelled waiter has gone
                waiter.set_result(digest)

    async def run(self, func: Callable[..., T], *args: Any,
                  undo: Callable[[T], None] | None = None) -> T:
        """``func(*args)`` on a worker thread; its error is raised here. Cancelled while queued,
        it never runs; cancelled while running, it is waited for (as ``to_thread`` waits),
        and ``undo`` is given its result (close the file it opened, remove the temporary
        file it left) before the cancellation goes on."""
        return await self._wait(_Call(func, args), undo)

    async def run_lane(self, md5: Md5, job: LaneJob[T], undo: Callable[[T], None] | None = None,
                       gather: bool = False) -> T:
        """A lane job (local/lanes.py) run to its end on a worker thread, side by side with
        the other lane jobs of its batch; as ``run`` otherwise. ``gather``: a hop it would
        start nearly alone waits a moment for more (GATHER_SECONDS)."""
        return await self._wait(_Call(None, (), (md5, job), gather), undo)

    async def _wait(self, call: _Call[T], undo: Callable[[T], None] | None) -> T:
        self._queue.append(call)
        if self._running < self._hops:
            self._running += 1
            self._group.start_soon(self._drain)
        try:
            await call.done  # type: ignore[misc]
        except BaseException:
            if call.state == _QUEUED:
                self._queue.remove(call)
                raise
            if call.state != _HANDED:  # our cancellation cancelled the future: wait on an Event
                call.done = anyio.Event()
                with CancelScope(shield=True):
                    await call.done.wait()
            if undo is not None and call.error is None:
                undo(call.result)  # type: ignore[arg-type]
            raise
        if call.error is not None:
            raise call.error
        return call.result  # type: ignore[return-value]

    async def _drain(self) -> None:
        try:
            while self._queue:
                if len(self._queue) < GATHER_BELOW and self._queue[0].gather:
                    await anyio.sleep(GATHER_SECONDS)
                batch, self._queue = self._queue[:self._batch], self._queue[self._batch:]
                for call in batch:
                    call.state = _RUNNING
                try:
                    await to_thread.run_sync(_run_all, batch)
                    self.hops += 1
                finally:
                    for call in batch:
                        call.hand_back()
        finally:
            self._running -= 1


async def run_local(batches: LocalBatches | None, func: Callable[..., T], *args: Any,
                    undo: Callable[[T], None] | None = None) -> T:
    """``func(*args)`` on a worker thread: in a batch when a run_jobs provides ``batches``,
    else a hop of its own."""
    if batches is None:
        return await to_thread.run_sync(func, *args)
    return await batches.run(func, *args, undo=undo)


async def md5_of(batches: LocalBatches | None, data: Any) -> bytes:
    """The MD5 of bytes already in memory, on a worker thread, side by side with the lane jobs
    of its batch."""
    md5 = Md5()
    await run_lane(batches, md5, lanes.hash_job(data))
    return md5.digest()


async def run_lane(batches: LocalBatches | None, md5: Md5, job: LaneJob[T],
                   undo: Callable[[T], None] | None = None, gather: bool = False) -> T:
    """A lane job run to its end on a worker thread: in a batch, side by side with others,
    when a run_jobs provides ``batches``, else alone in a hop of its own. A job not yet
    started when it is cancelled is closed without running."""
    if batches is None:
        return await to_thread.run_sync(lanes.drive_one, md5, job)
    return await batches.run_lane(md5, job, undo, gather)
