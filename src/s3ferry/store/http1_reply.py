"""A reply of store/http1.py's client: status, headers, and the body as the socket's pieces,
or (``Response.readinto``) received straight into the caller's buffer.

Why a BufferedProtocol: a large GET's body went socket -> uvloop's read buffer -> a new bytes
object per read (memmove) -> the consumer, which hashed and wrote it from there. Receiving
into the caller's reused block saves that copy and a Python object per read (~4,000 per
GiB), and the block is hashed and written from the CPU cache right after the socket filled
it (benchmarks/profile.md "bigfile")."""

from __future__ import annotations

import collections
import threading
from typing import TYPE_CHECKING, Any

from s3ferry.core.http1wire import Chunked, Disconnected

if TYPE_CHECKING:
    from s3ferry.store.http1 import Connection

# Where bytes go while no body is being received into a caller's buffer (heads, small
# bodies): read into this and copied out once, as uvloop's own read buffer is (its size).
SCRATCH = 256 * 1024
# A body longer than this waits in the kernel until its consumer reads it: into a buffer, not
# into scratch first (a small one is read on, as it arrives).
HOLD_ABOVE = 1024 * 1024
LOW_WATER = 512 * 1024  # http1.HIGH_WATER // 2: below it a paused connection reads again
# A Content-Length body up to this size is waited for whole before its request wakes (with the
# head: one wake-up for a small GET), and a longer one read piece by piece is handed on in
# pieces of about this many bytes, not one wake-up per socket read. At most SCRATCH: a reply
# not yet taken reads no further ahead than that.
WHOLE_BELOW = SCRATCH
_scratch = threading.local()  # one per thread: each event loop has its own


def scratch_view() -> memoryview:
    view: memoryview | None = getattr(_scratch, "view", None)
    if view is None:
        view = _scratch.view = memoryview(bytearray(SCRATCH))
    return view


class BodyReceiver:
    """The receiving side of http1.Connection, as an asyncio BufferedProtocol: the socket's
    bytes land in the buffer ``receive`` was given or, when none is, in a scratch buffer and
    from there in ``data_received`` as a bytes piece (heads, bodies read piece by piece)."""

    # Connection's own state (store/http1.py), used here
    transport: Any
    pool: Any
    _pieces: collections.deque[bytes]
    _buffered: int
    _eof: bool
    _error: BaseException | None
    _paused: bool
    _unclaimed: bool
    _scratch: memoryview  # scratch_view() of the connection's thread
    _loop: Any
    _moved: float

    _target: memoryview | None = None  # where the next bytes go, from _filled on
    _filled = 0
    _pause_when_full = False  # more body follows the target: stop reading until the next one

    def data_received(self, data: bytes) -> None:
        raise NotImplementedError

    def _wake(self) -> None:
        raise NotImplementedError

    async def _wait(self) -> None:
        raise NotImplementedError

    def get_buffer(self, sizehint: int) -> memoryview:
        target = self._target
        if target is not None:
            return target[self._filled:]
        return self._scratch

    def buffer_updated(self, nbytes: int) -> None:
        target = self._target
        if target is None:
            self.data_received(bytes(self._scratch[:nbytes]))
            if self._unclaimed and not self._paused and self._buffered >= SCRATCH:
                # A reply's head is not taken yet: read no further ahead, or a large body's
                # first MiB would go through scratch instead of straight into its buffer.
                self._paused = True
                self.transport.pause_reading()
            return
        self._filled += nbytes
        self._moved = self._loop.time()
        if self._filled == len(target):
            self._target = None
            if self._pause_when_full and not self._paused:
                # Not read into scratch meanwhile (a copy, and a second one into the next
                # block): the kernel holds the bytes until the consumer is ready again.
                self._paused = True
                self.transport.pause_reading()
            self._wake()

    def take_buffered(self, view: memoryview) -> int:
        """Copy into ``view`` what was received as pieces before the buffer was given (the
        bytes that came with the reply's head): how many."""
        filled = 0
        while filled < len(view) and self._pieces:
            data = self._pieces.popleft()
            take = min(len(data), len(view) - filled)
            view[filled:filled + take] = memoryview(data)[:take]
            if take < len(data):
                self._pieces.appendleft(data[take:])
            self._buffered -= take
            filled += take
        return filled  # still paused, if it was: receive() resumes once it has a buffer

    def hold(self) -> None:
        """A large body follows its head: read none of it into scratch before its consumer
        gives a buffer (receive) or asks for a piece."""
        if not self._paused:
            self._paused = True
            self.transport.pause_reading()

    def resume_if_low(self) -> None:
        """After a body: a connection left paused reads again (the next reply's head)."""
        if self._paused and self._buffered < LOW_WATER:
            self._paused = False
            self.transport.resume_reading()

    async def receive(self, view: memoryview, more: bool) -> None:
        """Fill ``view`` straight from the socket (nothing may be buffered as pieces). ``more``:
        the body goes on after it, so reading pauses once it is full. The read timeout counts
        from the last byte that arrived, as for pieces."""
        if self._eof:
            raise self._lost(len(view))
        self._target, self._filled, self._pause_when_full = view, 0, more
        if self._paused:
            self._paused = False
            self.transport.resume_reading()
        try:
            await self._wait()
        finally:
            filled, self._target = self._filled, None
        if filled < len(view):
            raise self._lost(len(view) - filled)

    def _lost(self, left: int) -> Disconnected:
        if self._error is not None:  # a reset, not a clean close
            return Disconnected(f"connection lost: {self._error}")
        return Disconnected(f"connection closed with {left} bytes of the body unread")


class Response:
    """A reply: status, headers, and its body read piece by piece (``content`` is itself, with
    the two calls store/ranges.py and lean_http make on aiohttp's stream)."""

    def __init__(self, conn: Connection, status: int, headers: dict[str, str], length: int | None,
                 chunked: bool) -> None:
        self.conn, self.status, self.headers = conn, status, headers
        self.content = self
        self._left = length  # None: chunked or until the connection closes
        self._chunked = Chunked() if chunked else None
        self._ready: collections.deque[bytes] = collections.deque()
        self._done = length == 0
        if self._done:
            conn.finished()
        elif length is not None and length > HOLD_ABOVE and not chunked:
            conn.hold()

    def at_eof(self) -> bool:
        return self._done and not self._ready

    async def readchunk(self) -> tuple[bytes, bool]:
        if self._ready:
            return self._ready.popleft(), False
        return await self._next(), False

    async def read(self, limit: int = -1) -> bytes:
        out = bytearray()
        while not self.at_eof() and (limit < 0 or len(out) < limit):
            out += await self._next()
        return bytes(out)

    async def readinto(self, view: memoryview) -> int:
        """Up to ``len(view)`` bytes of the body into ``view``: how many, fewer only at the
        body's end. A Content-Length body is received straight into it (no bytes objects)."""
        if self._left is None or self._ready:
            return await self._copy_into(view)
        want = min(len(view), self._left)
        if want:
            view = view[:want]
            filled = self.conn.take_buffered(view)
            if filled < want:
                await self.conn.receive(view[filled:], more=want < self._left)
            self._left -= want
            if not self._left:
                self.conn.resume_if_low()
            self._end_if(self._left == 0, b"")
        return want

    async def _copy_into(self, view: memoryview) -> int:
        """readinto for a chunked or close-delimited body: its pieces copied."""
        filled = 0
        while filled < len(view) and not self.at_eof():
            data = await self._next()
            take = min(len(data), len(view) - filled)
            view[filled:filled + take] = memoryview(data)[:take]
            if take < len(data):
                self._ready.appendleft(data[take:])
            filled += take
        return filled

    def ready_chunk(self) -> bytes | None:
        """readchunk's piece when it need not wait (b"" at the end), else None: a body already
        buffered (a small GET's, in with its head) is taken without a coroutine per piece."""
        while not self._ready:
            if self._done:
                return b""
            data = self.conn.ready_piece(self._want())
            if data is None:
                return None
            self._take(data)
        return self._ready.popleft()

    async def _next(self) -> bytes:
        while not self._ready:
            if self._done:
                return b""
            want = self._want()
            data = self.conn.ready_piece(want)
            if data is None:
                data = await self.conn.piece(want)
            self._take(data)
        return self._ready.popleft()

    def _want(self) -> int:
        left = self._left
        return 1 if left is None else min(left, WHOLE_BELOW)

    def _take(self, data: bytes) -> None:
        """Bytes from the connection (b"": it ended) into the body's ready pieces."""
        if self._chunked is not None:
            if not data:
                raise Disconnected("connection closed inside a chunked body")
            self._ready.extend(self._chunked.feed(data))
            self._end_if(self._chunked.done, bytes(self._chunked.buf))
        elif self._left is None:
            self._ready.append(data)
            self._end_if(not data, b"")
        else:
            if not data:
                raise Disconnected(f"connection closed with {self._left} bytes of the body unread")
            if len(data) > self._left:
                data, extra = data[:self._left], data[self._left:]
                self.conn.keep = False  # more bytes than announced: never reuse this connection
                self.conn.unread(extra)
            self._left -= len(data)
            self._ready.append(data)
            self._end_if(self._left == 0, b"")

    def _end_if(self, ended: bool, leftover: bytes) -> None:
        if ended:
            self._done = True
            if leftover:
                self.conn.keep = False
            self.conn.finished()

    def release(self) -> None:
        """After use: an unread body closes the connection (reading it could take long)."""
        if not self._done:
            self._done = True
            self.conn.close()
