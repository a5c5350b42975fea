"""A reply of store/http1.py's client: status, headers, and the body as the socket's pieces."""

from __future__ import annotations

import collections
from typing import TYPE_CHECKING

from s3ferry.core.http1wire import Chunked, Disconnected

if TYPE_CHECKING:
    from s3ferry.store.http1 import Connection


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

    def at_eof(self) -> bool:
        return self._done and not self._ready

    async def readchunk(self) -> tuple[bytes, bool]:
        return await self._next(), False

    async def read(self, limit: int = -1) -> bytes:
        out = bytearray()
        while not self.at_eof() and (limit < 0 or len(out) < limit):
            out += await self._next()
        return bytes(out)

    async def _next(self) -> bytes:
        while not self._ready:
            if self._done:
                return b""
            data = await self.conn.piece()
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
        return self._ready.popleft()

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
