"""The keep-alive pool of store/http1.py's connections."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from s3ferry.core.http1wire import ConnectFailed, ConnectTimeout, Disconnected, request_head
from s3ferry.store.http1 import Connection
from s3ferry.store.http1_reply import Response
from s3ferry.store.slots import Slots


class Pool:
    """Keep-alive connections per (host, port), at most ``size`` open at once, as aiohttp's
    connector with the limit aiobotocore gives it (Config.pool_size)."""

    def __init__(self, size: int, connect_timeout: float, read_timeout: float) -> None:
        self.size, self.connect_timeout, self.read_timeout = size, connect_timeout, read_timeout
        self._idle: dict[tuple[str, int], list[Connection]] = {}
        self._slots = Slots(size)

    def idle(self, conn: Connection) -> None:
        self._idle.setdefault(conn.key, []).append(conn)

    def close(self) -> None:
        for conns in self._idle.values():
            for conn in conns:
                conn.close()
        self._idle.clear()

    @contextlib.asynccontextmanager
    async def request(self, host: str, port: int, method: str, target: str, headers: dict[str, str],
                      body: Any = None) -> AsyncIterator[Response]:
        """One exchange; the reply's body is read inside the block."""
        response = await self.send(host, port, method, target, headers, body)
        try:
            yield response
        finally:
            self.release(response)

    async def send(self, host: str, port: int, method: str, target: str, headers: dict[str, str],
                   body: Any = None) -> Response:
        """One exchange, up to its reply's head. The caller reads the body, then must call
        ``release`` once (it holds one of the pool's ``size`` slots until then). A coroutine,
        not a context manager: the lean path's hot requests save the generator per request."""
        slots = self._slots
        head = request_head(method, target, headers, body)
        if not slots.try_take():  # no coroutine in the usual case
            await slots.take()
        try:
            return await self._exchange((host, port), method, head, body)
        except BaseException:
            slots.give()
            raise

    def release(self, response: Response) -> None:
        """A response of ``send`` read (its connection pooled) or abandoned (closed), its slot freed."""
        try:
            response.release()
        finally:
            self._slots.give()

    async def _exchange(self, key: tuple[str, int], method: str, head: bytes, body: Any) -> Response:
        conn = self._take(key)
        fresh = conn is None
        if conn is None:
            conn = await self._connect(key)
        try:
            try:
                return await conn.exchange(method, head, body)
            except Disconnected:
                # A pooled connection the server closed between requests: nothing was answered,
                # so sending it again on a new connection is safe (aiohttp does the same, once).
                if fresh or conn.answered:
                    raise
                conn.close()
                conn = await self._connect(key)
                return await conn.exchange(method, head, body)
        except BaseException:
            conn.close()
            raise

    def _take(self, key: tuple[str, int]) -> Connection | None:
        idle = self._idle.get(key)
        while idle:
            conn = idle.pop()
            if conn.reusable():
                return conn
            conn.close()
        return None

    async def _connect(self, key: tuple[str, int]) -> Connection:
        loop = asyncio.get_running_loop()
        try:
            # asyncio.timeout, not wait_for: wait_for wraps the connect in a task of its own
            async with asyncio.timeout(self.connect_timeout):
                _, conn = await loop.create_connection(lambda: Connection(self, key), *key)
        except TimeoutError:
            raise ConnectTimeout(f"connect to {key[0]}:{key[1]} timed out") from None
        except OSError as exc:
            raise ConnectFailed(f"cannot connect to {key[0]}:{key[1]}: {exc}") from exc
        return conn
