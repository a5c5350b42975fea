"""The pool of part buffers an upload reads into, under a byte budget: lent and given back."""

from __future__ import annotations

import threading

import anyio


class PartBuffers:
    """Part buffers reused from one part to the next, never more than ``budget`` bytes of them
    (lent or free) at once, whatever the concurrency: memory is the budget, not concurrency x
    part size. A fresh 8 MiB buffer costs 2,048 page faults (each page zeroed by the kernel)
    to fill and an munmap to free (~0.4 CPU-s per GiB put), hence the reuse.

    On the event loop a part first waits for room (:meth:`reserve`); a worker thread then
    takes a buffer (:meth:`take`); once the part's reply is in, the loop gives it back
    (:meth:`give`), or forgets it (:meth:`forget`) when a failed send may still hold it; a
    part whose read failed gives back its room with :meth:`release`. A part bigger than the
    whole budget goes alone."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self.peak = 0  # the most bytes held at once (lent + free): what the bound is about
        self._reserved = 0  # bytes of the parts that passed reserve() and are not yet back
        self._room: list[anyio.Event] = []
        self._free: list[memoryview] = []
        self._held = 0  # bytes of buffers that exist, lent or free
        self._lock = threading.Lock()  # take() runs on worker threads

    async def reserve(self, size: int) -> None:
        """Wait (on the loop) until ``size`` more bytes fit in the budget."""
        while self._reserved and self._reserved + size > self.budget:
            event = anyio.Event()
            self._room.append(event)
            await event.wait()
        self._reserved += size

    def take(self, size: int) -> memoryview:
        """A buffer of ``size`` bytes for a part that reserved them (blocking-safe, any thread)."""
        with self._lock:
            for i, buffer in enumerate(self._free):
                if len(buffer) == size:
                    return self._free.pop(i)
            # Free buffers of other sizes still count: drop them to make room.
            while self._free and self._held + size > max(self.budget, size):
                self._held -= len(self._free.pop(0))
            self._held += size
            self.peak = max(self.peak, self._held)
        return memoryview(bytearray(size))

    def give(self, buffer: memoryview) -> None:
        """Return a buffer nothing references any more (its part was sent and answered)."""
        with self._lock:
            self._free.append(buffer)
        self.release(len(buffer))

    def forget(self, buffer: memoryview) -> None:
        """Give back a part's room but not its buffer: a failed send may still hold it."""
        self.discard(buffer)
        self.release(len(buffer))

    def discard(self, buffer: memoryview) -> None:
        """Stop counting a taken buffer that will not be reused (any thread)."""
        with self._lock:
            self._held -= len(buffer)

    def release(self, size: int) -> None:
        """Give back ``size`` reserved bytes (on the loop), waking the parts waiting for room."""
        self._reserved -= size
        waiting, self._room = self._room, []
        for event in waiting:
            event.set()
