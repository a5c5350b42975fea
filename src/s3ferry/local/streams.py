"""Standard input and output as byte streams for ``put -`` and ``cat``.

A pipe or terminal is read and written on the event loop (asyncio's pipe transports), never
by a worker thread blocked in read(): a thread stuck on a silent pipe would keep Ctrl-C from
ending the process. A regular file (``< file``, ``> file``) cannot be polled, and never
blocks for long, so it goes through a worker thread."""

from __future__ import annotations

import asyncio
import os
import stat
from typing import BinaryIO

from anyio import to_thread

READ_CHUNK = 1 << 20


def _is_regular(fd: int) -> bool:
    """Regular files, and devices such as /dev/null that epoll refuses: read by threads."""
    mode = os.fstat(fd).st_mode
    return not (stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode) or os.isatty(fd))


class InputStream:
    """Reads into caller-owned part buffers."""

    def __init__(self, source: BinaryIO):
        self._fd = source.fileno()
        self._regular = _is_regular(self._fd)
        self._reader: asyncio.StreamReader | None = None
        self._transport: asyncio.BaseTransport | None = None
        self._pending = b""  # what a pipe read returned beyond the buffer being filled

    async def _pipe(self) -> asyncio.StreamReader:
        if self._reader is None:
            loop = asyncio.get_running_loop()
            self._reader = asyncio.StreamReader(limit=READ_CHUNK, loop=loop)
            protocol = asyncio.StreamReaderProtocol(self._reader, loop=loop)
            # A duplicate, so closing the transport leaves the process's fd 0 alone.
            pipe = os.fdopen(os.dup(self._fd), "rb", buffering=0)
            self._transport, _ = await loop.connect_read_pipe(lambda: protocol, pipe)
        return self._reader

    async def fill(self, buffer: memoryview) -> int:
        """Fill ``buffer`` completely, or up to the end of input; returns the bytes read."""
        filled = 0
        while filled < len(buffer):
            count = await self._read_into(buffer[filled:])
            if count == 0:
                break
            filled += count
        return filled

    async def _read_into(self, view: memoryview) -> int:
        if self._regular:
            return await to_thread.run_sync(os.readv, self._fd, [view])
        if not self._pending:
            self._pending = await (await self._pipe()).read(READ_CHUNK)
        count = min(len(view), len(self._pending))
        view[:count] = self._pending[:count]
        self._pending = self._pending[count:]
        return count

    def close(self) -> None:
        if self._transport is not None:
            self._transport.close()


class OutputStream:
    """Writes whole buffers in order; a closed reader (``| head``) raises BrokenPipeError."""

    def __init__(self, target: BinaryIO):
        self._fd = target.fileno()
        self._regular = _is_regular(self._fd)
        self._writer: asyncio.StreamWriter | None = None

    async def _pipe(self) -> asyncio.StreamWriter:
        if self._writer is None:
            loop = asyncio.get_running_loop()
            pipe = os.fdopen(os.dup(self._fd), "wb", buffering=0)
            transport, protocol = await loop.connect_write_pipe(asyncio.streams.FlowControlMixin, pipe)
            self._writer = asyncio.StreamWriter(transport, protocol, None, loop)
        return self._writer

    async def write(self, data: bytes | memoryview) -> None:
        if self._regular:
            await to_thread.run_sync(_write_all, self._fd, memoryview(data))
            return
        writer = await self._pipe()
        writer.write(data)
        await writer.drain()  # waits while the reader is behind: memory stays bounded

    async def close(self) -> None:
        """Flush what the transport still buffers, then close (our duplicate of) the fd."""
        if self._writer is None:
            return
        try:
            self._writer.transport.set_write_buffer_limits(high=0)  # drain now waits for empty
            await self._writer.drain()
        except (BrokenPipeError, ConnectionResetError):
            pass
        finally:
            self._writer.close()


def _write_all(fd: int, data: memoryview) -> None:
    while data:
        written = os.write(fd, data)
        data = data[written:]
