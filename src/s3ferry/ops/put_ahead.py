"""A multipart put's part MD5s (and CRCs), hashed ahead of the sends: up to ``md5lanes.LANES``
parts side by side in one worker-thread hop, each read through a small buffer of its own.

Why ahead: a part is read only once it has room in the part budget (48 MiB, 6 parts of 8 MiB),
and room comes back a part at a time as uploads end, so parts hashed as they are read reach the
hashing thread one by one (53 of a 1 GiB put's 128 parts were hashed alone, on one lane).
Hashed ahead, 16 at a time, their MD5 costs about a tenth; the send reads the part again, from
the page cache (one more copy, ~0.1 CPU-s per GiB). The hashing stays at most ``HASH_AHEAD``
bytes ahead of the sends, so the bytes are still cached when they are read again.

The bytes hashed and the bytes sent are two reads. A file changed between them fails the part
at the second read: its size, mtime or ctime differ (files.check_unchanged; a rewrite that puts
the mtime back still moves the ctime). Should that miss one, the server checks each part's
Content-MD5 against the bytes it receives (BadDigest), and the composite ETag is checked at the
end, as before.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import anyio
from anyio import to_thread

from s3ferry.core import md5lanes
from s3ferry.core.config import HASH_AHEAD
from s3ferry.core.md5lanes import Md5
from s3ferry.core.parts import Part
from s3ferry.local import files as fileio
from s3ferry.local import lanes

Crc = Callable[..., int]  # (data, previous=0) -> CRC


def worth_it() -> bool:
    """Only MD5 lanes make hashing ahead pay for its second read."""
    return md5lanes.LANES > 1


class PartDigests:
    """The parts' (MD5, CRC), hashed in part order, a group of LANES parts per hop, while
    senders ask for them (``get``). ``run`` is the hashing task; its error is each waiting
    part's error."""

    def __init__(self, fd: int, parts: Sequence[Part], crc: Crc | None) -> None:
        self._fd, self._parts, self._crc = fd, list(parts), crc
        self._done: list[tuple[bytes, int | None] | None] = [None] * len(self._parts)
        self._ready = [anyio.Event() for _ in self._parts]
        self._error: BaseException | None = None
        self._asked = 0  # how many parts (in order) senders have reached
        self._moved = anyio.Event()
        size = self._parts[0].size if self._parts else 1
        self._window = max(md5lanes.LANES, HASH_AHEAD // max(1, size))

    async def run(self) -> None:
        try:
            for first in range(0, len(self._parts), md5lanes.LANES):
                while first >= self._asked + self._window:
                    self._moved = anyio.Event()
                    await self._moved.wait()
                group = self._parts[first:first + md5lanes.LANES]
                for index, result in enumerate(await to_thread.run_sync(_hash_group, self._fd, group, self._crc),
                                               start=first):
                    self._done[index] = result
                    self._ready[index].set()
        except Exception as exc:  # noqa: BLE001 - raised by every part that waits for it
            self._error = exc
            for event in self._ready:
                event.set()

    async def get(self, part: Part) -> tuple[bytes, int | None]:
        index = part.number - 1
        if index + 1 > self._asked:
            self._asked = index + 1
            self._moved.set()
        await self._ready[index].wait()
        done = self._done[index]
        if done is None:
            assert self._error is not None
            raise self._error
        return done


def _hash_group(fd: int, group: Sequence[Part], crc: Crc | None) -> list[tuple[bytes, int | None]]:
    """The group's parts hashed side by side: [(MD5, CRC)]; the first part's error is raised."""
    md5s = [Md5() for _ in group]
    outcomes = lanes.drive(list(zip(md5s, (fileio.hash_part_job(fd, p.offset, p.size, crc) for p in group))))
    for outcome in outcomes:
        if outcome.error is not None:
            raise outcome.error
    return [(md5.digest(), outcome.result) for md5, outcome in zip(md5s, outcomes)]
