"""The pool of part buffers an upload reads into: at most one per slot, lent and given back."""

from __future__ import annotations

import threading


class PartBuffers:
    """Part buffers reused from one part to the next. A fresh 8 MiB buffer costs 2,048 page
    faults (each page zeroed by the kernel) to fill and an munmap to free: ~0.4 CPU-s per GiB
    put. Never more than ``limit`` buffers (the parts in flight) exist, lent or free, so the
    memory bound holds; buffers of another size are dropped to make room."""

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._free: list[memoryview] = []
        self._lent = 0
        self._lock = threading.Lock()

    def take(self, size: int) -> memoryview:
        with self._lock:
            self._lent += 1
            for i, buffer in enumerate(self._free):
                if len(buffer) == size:
                    return self._free.pop(i)
            if self._free and self._lent + len(self._free) > self._limit:
                self._free.pop(0)
        return memoryview(bytearray(size))

    def give(self, buffer: memoryview) -> None:
        """Return a buffer nothing references any more (its part was sent and answered)."""
        with self._lock:
            self._lent -= 1
            self._free.append(buffer)

    def forget(self) -> None:
        """A lent buffer that must not be reused: a failed send may still hold it."""
        with self._lock:
            self._lent -= 1
