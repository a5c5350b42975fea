"""store/http1_reply.py's body receiver: a reply body read with ``readinto`` straight into
the caller's buffer, under any split of the socket's bytes, with the connection's reading
paused while the consumer works, cut bodies, over-long bodies and stalls as errors."""

from __future__ import annotations

import asyncio
import itertools

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3ferry.core.errors import RangeIntegrityError
from s3ferry.core.http1wire import Disconnected, ReadTimeout
from s3ferry.core.parts import Part
from s3ferry.store import http1
from s3ferry.store.ranges import fill_range


class PushTransport:
    """A transport whose bytes a test pushes through get_buffer/buffer_updated, as uvloop
    does, honouring pause_reading."""

    def __init__(self) -> None:
        self.paused = False
        self.closed = False

    def write(self, data) -> None:
        pass

    def pause_reading(self) -> None:
        self.paused = True

    def resume_reading(self) -> None:
        self.paused = False

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True


def _conn(read_timeout: float = 5.0) -> tuple[http1.Connection, PushTransport, list[int]]:
    """A connection, its transport, and a list that counts the bytes read into scratch."""
    conn = http1.Connection(http1.Pool(4, 1.0, read_timeout), ("h", 80))
    transport = PushTransport()
    conn.connection_made(transport)
    scratch: list[int] = []
    received = conn.data_received

    def counted(data: bytes) -> None:
        scratch.append(len(data))
        received(data)

    conn.data_received = counted  # type: ignore[method-assign]
    return conn, transport, scratch


async def _push(conn: http1.Connection, transport: PushTransport, pieces: list[bytes], *, eof: bool = True,
                error: BaseException | None = None) -> None:
    for piece in pieces:
        view = memoryview(piece)
        while view:
            while transport.paused:
                await asyncio.sleep(0)
            buffer = conn.get_buffer(-1)
            n = min(len(buffer), len(view))
            buffer[:n] = view[:n]
            conn.buffer_updated(n)
            view = view[n:]
            await asyncio.sleep(0)
    if error is not None:
        conn.connection_lost(error)
    elif eof:
        conn.eof_received()


async def _read_all(response, block: int, pause: int = 0) -> bytes:
    """The body by readinto, ``pause`` loop turns between blocks (a consumer's thread hop)."""
    buffer, out = memoryview(bytearray(block)), bytearray()
    while got := await response.readinto(buffer):
        out += buffer[:got]
        for _ in range(pause):
            await asyncio.sleep(0)
    return bytes(out)


async def _get(pieces: list[bytes], block: int, *, eof: bool = False, pause: int = 0, read_timeout: float = 5.0,
               error: BaseException | None = None):
    conn, transport, scratch = _conn(read_timeout)
    pusher = asyncio.ensure_future(_push(conn, transport, pieces, eof=eof, error=error))
    try:
        response = await conn.response(False)
        body = await asyncio.wait_for(_read_all(response, block, pause), 10)
    finally:
        pusher.cancel()
    return body, response, conn, transport, scratch


def _splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


def _reply(body: bytes, length: int | None = None) -> bytes:
    return b"HTTP/1.1 206 Partial Content\r\nContent-Length: %d\r\n\r\n" % (
        len(body) if length is None else length) + body


@settings(max_examples=60, deadline=None)
@given(st.binary(max_size=3000), st.lists(st.integers(min_value=0, max_value=3100), max_size=10),
       st.integers(min_value=1, max_value=700), st.integers(min_value=0, max_value=3))
def test_readinto_gets_any_split_of_a_content_length_body(body, cuts, block, pause):
    got, response, conn, transport, _ = asyncio.run(_get(_splits(_reply(body), cuts), block, pause=pause))
    assert got == body and response.at_eof()
    assert conn.reusable() and not transport.paused  # the next reply's head can be read


@settings(max_examples=30, deadline=None)
@given(st.binary(max_size=2000), st.lists(st.integers(min_value=1, max_value=500), max_size=5),
       st.lists(st.integers(min_value=0, max_value=2500), max_size=8), st.integers(min_value=1, max_value=300))
def test_readinto_copies_a_chunked_body(body, sizes, cuts, block):
    chunks, at = [], 0
    for size in sizes:
        if body[at:at + size]:
            chunks.append(b"%x\r\n%s\r\n" % (len(body[at:at + size]), body[at:at + size]))
        at += size
    if body[at:]:
        chunks.append(b"%x\r\n%s\r\n" % (len(body) - at, body[at:]))
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"".join(chunks) + b"0\r\n\r\n"
    got, _, conn, _, _ = asyncio.run(_get(_splits(raw, cuts), block))
    assert got == body and conn.reusable()


def test_a_large_body_goes_into_the_buffer_not_through_scratch():
    """Bytes that arrive while the consumer hashes the last block wait in the kernel (reading
    paused), instead of being copied into scratch and then into the next block."""
    body = bytes(range(256)) * (16 * 1024)  # 4 MiB
    raw = _reply(body)
    first = 64 * 1024
    pieces = [raw[:first]] + [raw[i:i + first] for i in range(first, len(raw), first)]
    got, _, conn, transport, scratch = asyncio.run(_get(pieces, 1 << 20, pause=5))
    assert got == body and conn.reusable() and not transport.paused
    assert sum(scratch) == first  # only the bytes that came with the head


def test_a_body_longer_than_announced_is_never_reused():
    got, response, conn, _, _ = asyncio.run(_get([_reply(b"0123456789", 6)], 4))
    assert got == b"012345" and response.at_eof() and not conn.reusable()


@pytest.mark.parametrize("error", [None, ConnectionResetError(104, "reset")])
def test_a_body_cut_short_is_a_closed_connection(error):
    with pytest.raises(Disconnected, match="lost" if error else "unread"):
        asyncio.run(_get([_reply(b"x" * 3000, 100_000)], 1024, eof=True, error=error))


def test_a_stall_inside_the_body_times_out_and_a_trickle_does_not():
    async def trickle(conn, transport, pieces, delay):
        for piece in pieces:
            await _push(conn, transport, [piece], eof=False)
            await asyncio.sleep(delay)

    async def main(delay: float, stop_after: int):
        conn, transport, _ = _conn(read_timeout=0.3)
        raw = _reply(b"y" * 4000)
        pieces = [raw[:200]] + [raw[i:i + 400] for i in range(200, len(raw), 400)][:stop_after]
        pusher = asyncio.ensure_future(trickle(conn, transport, pieces, delay))
        try:
            response = await conn.response(False)
            return await _read_all(response, 4096)  # one block: many arrivals fill it
        finally:
            pusher.cancel()

    assert asyncio.run(main(0.1, 100)) == b"y" * 4000  # 1 s in all, never 0.3 s without a byte
    with pytest.raises(ReadTimeout):
        asyncio.run(main(0.01, 3))


@pytest.mark.parametrize(("length", "why"), [(3000, "more than"), (1000, "got 1000 of 2000")])
def test_fill_range_checks_the_body_against_the_range(length, why):
    async def main():
        conn, transport, _ = _conn()
        pusher = asyncio.ensure_future(_push(conn, transport, [_reply(b"z" * length)], eof=False))
        response = await conn.response(False)
        seen = []

        async def sink(offset, views):
            seen.append((offset, bytes(views[0])))

        try:
            await fill_range(response, Part(1, 100, 2000), sink, memoryview(bytearray(512)))
        finally:
            pusher.cancel()

    with pytest.raises(RangeIntegrityError, match=why):
        asyncio.run(main())


def test_fill_range_hands_each_full_block_with_its_offset():
    async def main():
        conn, transport, _ = _conn()
        pusher = asyncio.ensure_future(_push(conn, transport, [_reply(bytes(range(250)) * 8)], eof=False))
        response = await conn.response(False)
        seen = []

        async def sink(offset, views):
            seen.append((offset, bytes(views[0])))

        await fill_range(response, Part(3, 1000, 2000), sink, memoryview(bytearray(768)))
        pusher.cancel()
        return seen

    seen = asyncio.run(main())
    assert [(o, len(b)) for o, b in seen] == [(1000, 768), (1768, 768), (2536, 464)]
    assert b"".join(b for _, b in seen) == bytes(range(250)) * 8


def test_held_bodies_on_a_kept_alive_connection_over_a_real_socket():
    """Two large GETs on one connection through the pool, each body read with readinto: the
    connection reads the second reply's head after the first body was held and paused."""
    body = bytes(range(256)) * 12_000  # ~3 MiB: held (above HOLD_ABOVE)
    connections = []

    async def handler(reader, writer):
        connections.append(writer)
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            writer.write(_reply(body))
            await writer.drain()

    async def main():
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        pool = http1.Pool(4, 5.0, 5.0)
        got = []
        try:
            for _ in range(2):
                async with pool.request("127.0.0.1", port, "GET", "/b/k", {"host": "x"}) as response:
                    got.append(await _read_all(response, 1 << 20, pause=3))
        finally:
            pool.close()
            server.close()
        return got

    assert asyncio.run(main()) == [body, body]
    assert len(connections) == 1


def test_a_held_body_read_piece_by_piece_still_arrives():
    """A large body is held (reading paused) for readinto; a consumer that reads pieces
    instead (aiohttp's calls) resumes the reading."""
    body = b"p" * (2 << 20)

    async def main():
        conn, transport, _ = _conn(read_timeout=1.0)
        head = _reply(b"", len(body))  # the head alone first: nothing buffered once it is parsed
        pusher = asyncio.ensure_future(_push(conn, transport, [head] + [body[i:i + 65536] for i in range(
            0, len(body), 65536)], eof=False))
        try:
            response = await conn.response(False)
            return await response.read(), conn
        finally:
            pusher.cancel()

    got, conn = asyncio.run(main())
    assert got == body and conn.reusable()
