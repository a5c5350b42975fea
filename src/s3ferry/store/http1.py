"""A lean HTTP/1.1 client for the lean path's hot requests on plain http endpoints.

Why not aiohttp: per small object its request machinery (URL objects, header multidicts,
the connector, timers, the streams' buffers) is most of the client's CPU (benchmarks/
profile.md "rawhttp"). Here a request is one head string, one socket write and the reply's
bytes parsed with bytes.find; a GET body reaches its consumer as the pieces the socket gave
(no copies). Scope, on purpose: Content-Length request bodies only (no chunked uploads, no
Expect: 100-continue), replies with Content-Length, chunked or close-delimited bodies, no
proxies, no TLS (https stays on aiohttp). Errors are this module's; lean_http maps them.
"""

from __future__ import annotations

import asyncio
import collections
from typing import Any

from s3ferry.core.http1wire import (
    MAX_HEAD,
    BadReply,
    Disconnected,
    HttpError,
    ReadTimeout,
    parse_head,
)
from s3ferry.store.http1_reply import HOLD_ABOVE, WHOLE_BELOW, BodyReceiver, Response, scratch_view

HIGH_WATER = 1024 * 1024  # body bytes buffered (per connection) before the socket is no longer read
JOIN_BELOW = 256 * 1024  # without uvloop, a body up to this size is joined to the head: one syscall
WRITE_SLICE = 1024 * 1024  # a large body goes out in slices: asyncio copies what the socket does not take


class Connection(BodyReceiver, asyncio.BufferedProtocol):
    """One keep-alive connection; its bytes as data_received gave them. A reply's head is parsed
    in the protocol's callback as its bytes arrive, so the waiting request wakes once per reply
    (with a small body: once the body is in too) instead of once per socket read; a small GET
    then costs one wake-up, one future and no timer of its own (profile.md "smallreq")."""

    def __init__(self, pool: Pool, key: tuple[str, int]) -> None:
        self.pool, self.key = pool, key
        self.transport: Any = None
        self.keep = True
        self.answered = False  # a byte of the current request's reply has arrived
        self._pieces: collections.deque[bytes] = collections.deque()
        self._buffered = 0
        self._eof = False
        self._error: BaseException | None = None
        self._paused = False
        self._waiter: asyncio.Future[None] | None = None
        self._drained: asyncio.Future[None] | None = None
        self._want = 1  # a waiting piece() wakes once this many bytes are buffered
        self._head: bytes | None = None  # a reply head's bytes so far; None: no head awaited
        self._head_only = False
        self._reply: tuple[int, dict[str, str], int | None, bool] | None = None  # parsed, not yet claimed
        self._failed: HttpError | None = None
        self._unclaimed = False  # a reply is on its way, its head not yet taken by response()
        self._timer: Any = None  # the read timeout, one per connection (see _expire)
        self._moved = 0.0  # loop time of the last byte received, or of the current wait's start

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        self._loop = asyncio.get_running_loop()
        self._scratch = scratch_view()
        self._uvloop = type(transport).__module__.startswith("uvloop")

    def data_received(self, data: bytes) -> None:
        self._pieces.append(data)
        self._buffered += len(data)
        self._moved = self._loop.time()
        if self._buffered > HIGH_WATER and not self._paused:
            self._paused = True
            self.transport.pause_reading()
        if self._ready():
            self._wake()

    def eof_received(self) -> bool:
        self._eof = True
        self._wake()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._eof, self._error, self.keep = True, exc, False
        self._wake()
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)

    def pause_writing(self) -> None:
        self._drained = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drained is not None and not self._drained.done():
            self._drained.set_result(None)
        self._drained = None

    def _wake(self) -> None:
        if self._waiter is not None and not self._waiter.done():
            self._waiter.set_result(None)

    async def _wait(self) -> None:
        """Until _wake, or a ReadTimeout once no byte arrived for the read timeout. Why one
        timer per connection, moved on lazily, instead of a call_later and its cancel per
        wait: a timer was a third of a small request's wait cost; this one fires about once
        per read timeout while requests come and go, and then only looks at the clock."""
        loop = self._loop
        future = self._waiter = loop.create_future()
        self._moved = loop.time()
        if self._timer is None:
            self._timer = loop.call_at(self._moved + self.pool.read_timeout, self._expire)
        await future

    def _expire(self) -> None:
        self._timer = None
        waiter = self._waiter
        if waiter is None or waiter.done():
            return  # nobody waits: the next wait arms it again
        due = self._moved + self.pool.read_timeout
        if due > self._loop.time():
            self._timer = self._loop.call_at(due, self._expire)
        else:
            waiter.set_exception(ReadTimeout("no data moved for the read timeout"))

    def _ready(self) -> bool:
        """Whether the waiting request has what it waits for: its reply's head (parsed here)
        and, for a small Content-Length body, the whole body; or ``_want`` bytes; or the end."""
        if self._head is not None:
            try:
                if not self._read_head():
                    return self._eof
            except HttpError as exc:
                self._failed, self._head = exc, None
                return True
        return self._buffered >= self._want or self._eof

    def _read_head(self) -> bool:
        """Take a reply head from the pieces, if all of it is in (an interim 1xx is skipped)."""
        while self._pieces:
            data = self._pieces.popleft()
            self._buffered -= len(data)
            self.answered = True
            head = self._head
            data = head + data if head else data
            end = data.find(b"\r\n\r\n")
            if end < 0:
                if len(data) > MAX_HEAD:
                    raise BadReply("reply head too large")
                self._head = data
                continue
            if len(data) > end + 4:
                self.unread(data[end + 4:])
            status, headers, self.keep = parse_head(data[:end])
            self._head = b""
            if status >= 200:
                self._head = None
                length, chunked = self._framing(status, headers)
                self._reply = (status, headers, length, chunked)
                # wait for the rest of a small body before waking; a large one is held (BodyReceiver.hold)
                self._want = length if length is not None and length <= WHOLE_BELOW else 0
                if length is not None and length > HOLD_ABOVE and not chunked:
                    self.hold()
                return True
        return False

    def _framing(self, status: int, headers: dict[str, str]) -> tuple[int | None, bool]:
        """The body's length (None: chunked or until the close) and whether it is chunked."""
        if self._head_only or status in (204, 304):
            return 0, False
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return None, True
        length = headers.get("content-length")
        if length is None:
            self.keep = False  # the body ends when the connection does
            return None, False
        if not (length.isascii() and length.isdigit()):
            raise BadReply(f"bad Content-Length: {length[:40]!r}")
        return int(length), False

    async def send(self, head: bytes, body: Any) -> None:
        self.answered = False
        self._unclaimed = True  # until response() has the head: read no further ahead than scratch
        if not body:
            self.transport.write(head)
        elif self._uvloop:
            self.transport.writelines([head, body])  # one writev, no copy; uvloop keeps what is left by reference
        elif len(body) <= JOIN_BELOW:
            self.transport.write(head + body)  # one small copy, one syscall
        else:  # asyncio's write copies whatever the socket did not take: a slice at a time
            self.transport.write(head)
            view = memoryview(body).cast("B")
            for start in range(0, len(view), WRITE_SLICE):
                if self._eof:
                    return  # reset or closed: the reply read says so
                self.transport.write(view[start:start + WRITE_SLICE])
                if self._drained is not None:
                    await self._drain(self._drained)
        if self._drained is not None:
            await self._drain(self._drained)

    async def _drain(self, future: asyncio.Future[None]) -> None:
        """Until the socket took the body. The read timeout counts from the last byte that went
        out, not from the write: a slow uplink may take minutes over a part and still be alive."""
        loop = asyncio.get_running_loop()

        def watch(left: int) -> None:
            nonlocal timer
            now = self.transport.get_write_buffer_size()
            if now < left:
                timer = loop.call_later(self.pool.read_timeout, watch, now)
            else:
                _time_out(future)

        timer = loop.call_later(self.pool.read_timeout, watch, self.transport.get_write_buffer_size())
        try:
            await future
        finally:
            timer.cancel()

    def ready_piece(self, want: int = 1) -> bytes | None:
        """piece() when it need not wait (``want`` bytes buffered, or the end and bytes left):
        no coroutine for the pieces of a body already in."""
        if self._buffered < want and not (self._eof and self._pieces):
            return None
        data = self._pieces.popleft()
        self._buffered -= len(data)
        if self._paused and self._buffered < HIGH_WATER // 2:
            self._paused = False
            self.transport.resume_reading()
        return data

    async def piece(self, want: int = 1) -> bytes:
        """The next bytes received, once ``want`` bytes are buffered (or the connection ended:
        then what is left, and b"" after that)."""
        while (data := self.ready_piece(want)) is None:
            if self._eof:
                if self._error is not None:  # a reset, not a clean close: never the end of a body
                    raise Disconnected(f"connection lost: {self._error}") from self._error
                return b""
            self.resume_if_low()  # paused with little buffered: a held body (BodyReceiver.hold)
            self._want = want
            await self._wait()
        return data

    def unread(self, data: bytes) -> None:
        self._pieces.appendleft(data)
        self._buffered += len(data)

    async def exchange(self, method: str, head: bytes, body: Any) -> Response:
        await self.send(head, body)
        return await self.response(method == "HEAD")

    async def response(self, head_only: bool) -> Response:
        """The reply's head, and a small body's bytes buffered with it (see _read_head)."""
        self._head, self._head_only, self._reply, self._failed = b"", head_only, None, None
        self._unclaimed = True
        try:
            while not self._ready():
                await self._wait()
        finally:
            partial, self._head, self._want, self._unclaimed = self._head, None, 1, False
        if self._failed is not None:
            raise self._failed
        reply, self._reply = self._reply, None
        if reply is None:  # the connection ended first
            if self._error is not None:
                raise Disconnected(f"connection lost: {self._error}") from self._error
            raise Disconnected("the server closed the connection inside a reply head" if partial
                               else "the server closed the connection before it answered")
        return Response(self, *reply)

    def finished(self) -> None:
        """The reply is read to its end: back to the pool, or closed."""
        if self.keep and not self._pieces and not self._eof:
            self.pool.idle(self)
        else:
            self.close()

    def reusable(self) -> bool:
        return self.keep and not self._eof and not self._pieces and not self.transport.is_closing()

    def close(self) -> None:
        self.keep = False
        if self.transport is not None:
            self.transport.close()


def _time_out(future: asyncio.Future[None]) -> None:
    if not future.done():
        future.set_exception(ReadTimeout("no data moved for the read timeout"))


from s3ferry.store.http1_pool import Pool  # noqa: E402 - its module imports Connection from here
