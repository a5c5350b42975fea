"""store/http1.py: the reply parser (any split of the bytes parses the same), chunked bodies,
bad input raising the errors lean_http maps, and the pool against a local asyncio server."""

from __future__ import annotations

import asyncio
import itertools
import socket

import pytest
from botocore.exceptions import (
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from hypothesis import example, given
from hypothesis import strategies as st

from s3ferry.core import http1wire
from s3ferry.store import http1
from s3ferry.store.lean_http import botocore_error
from s3ferry.store.retry import is_retryable, unreachable
from fake_transport import FakeTransport


def _conn(pool=None):
    conn = http1.Connection(pool or http1.Pool(4, 1.0, 5.0), ("h", 80))
    conn.connection_made(FakeTransport())
    return conn


async def _parse(pieces: list[bytes], head_only=False, eof=True):
    """The status, headers and body a connection reads from ``pieces``, and whether it would be reused."""
    conn = _conn()
    for piece in pieces:
        conn.data_received(piece)
    if eof:
        conn.eof_received()
    response = await conn.response(head_only)
    body = []
    while True:
        chunk, _ = await response.readchunk()
        if not chunk and response.at_eof():
            break
        body.append(chunk)
    return response.status, response.headers, b"".join(body), conn


def _chunked(body: bytes, sizes: list[int]) -> bytes:
    out, at = [], 0
    for size in sizes:
        piece = body[at:at + size]
        if piece:
            out.append(b"%x;ext=1\r\n%s\r\n" % (len(piece), piece))
        at += size
    if at < len(body):
        out.append(b"%x\r\n%s\r\n" % (len(body) - at, body[at:]))
    return b"".join(out) + b"0\r\nx-trailer: y\r\n\r\n"


def _splits(data: bytes, cuts: list[int]) -> list[bytes]:
    points = sorted({min(c, len(data)) for c in cuts} | {0, len(data)})
    return [data[a:b] for a, b in itertools.pairwise(points)]


BODY = st.binary(max_size=3000)
CUTS = st.lists(st.integers(min_value=0, max_value=4000), max_size=12)


@given(BODY, CUTS)
def test_any_split_of_a_content_length_reply_parses_the_same(body, cuts):
    raw = b"HTTP/1.1 206 Partial Content\r\nETag: \"abc\"\r\nContent-Length: %d\r\nX-Amz-Meta-A:  b \r\n\r\n" % len(
        body) + body
    status, headers, got, conn = asyncio.run(_parse(_splits(raw, cuts), eof=False))
    assert (status, got) == (206, body)
    assert headers == {"etag": '"abc"', "content-length": str(len(body)), "x-amz-meta-a": "b"}
    assert conn.keep and conn.reusable()


@given(BODY, st.lists(st.integers(min_value=1, max_value=700), max_size=6), CUTS)
def test_any_split_of_a_chunked_reply_decodes_the_same(body, sizes, cuts):
    raw = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(body, sizes)
    status, _, got, conn = asyncio.run(_parse(_splits(raw, cuts), eof=False))
    assert (status, got) == (200, body) and conn.reusable()


@given(BODY, CUTS)
def test_a_body_without_length_ends_with_the_connection(body, cuts):
    raw = b"HTTP/1.1 200 OK\r\n\r\n" + body
    _, _, got, conn = asyncio.run(_parse(_splits(raw, cuts)))
    assert got == body and not conn.keep


def test_head_reply_has_no_body_and_connection_close_is_honoured():
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: 12345\r\n\r\n"
    status, headers, got, conn = asyncio.run(_parse([raw], head_only=True, eof=False))
    assert (status, got, headers["content-length"]) == (200, b"", "12345") and conn.reusable()
    raw = b"HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n"
    _, _, got, conn = asyncio.run(_parse([raw], eof=False))
    assert got == b"" and not conn.keep
    raw = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok"
    status, _, got, conn = asyncio.run(_parse([raw], eof=False))
    assert (status, got) == (200, b"ok") and not conn.keep  # HTTP/1.0 without keep-alive


@pytest.mark.parametrize("raw", [
    b"HTTP/2 200 OK\r\n\r\n",
    b"ICY 200 OK\r\nContent-Length: 0\r\n\r\n",
    b"HTTP/1.1 2x0 OK\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1, 1\r\n\r\nx",
    b"HTTP/1.1 200 OK\r\nContent-Length: 1\xc2\xb2\r\n\r\nx",  # a digit to str.isdigit, not to int()
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n0x5\r\nhello\r\n0\r\n\r\n",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nabc\r\n0\r\n\r\n",
])
def test_bad_replies_raise_a_mapped_network_error(raw):
    with pytest.raises(http1wire.BadReply) as caught:
        asyncio.run(_parse([raw]))
    assert isinstance(botocore_error(caught.value, "http://h/"), ConnectionClosedError)


@pytest.mark.parametrize("raw", [
    b"",
    b"HTTP/1.1 200 OK\r\nContent-Le",
    b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort",
    b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhel",
])
def test_a_reply_cut_short_is_a_closed_connection(raw):
    with pytest.raises(http1wire.Disconnected) as caught:
        asyncio.run(_parse([raw]))
    assert isinstance(botocore_error(caught.value, "http://h/"), ConnectionClosedError)


def test_a_reset_inside_a_close_delimited_body_is_not_its_end():
    async def main():
        conn = _conn()
        conn.data_received(b"HTTP/1.1 200 OK\r\n\r\npart of it")
        response = await conn.response(False)
        conn.connection_lost(ConnectionResetError(104, "reset"))
        return await response.read()

    with pytest.raises(http1wire.Disconnected):
        asyncio.run(main())


def test_a_request_is_one_head_and_the_body():
    head = http1wire.request_head("PUT", "/b/k?partNumber=1", {"host": "h:1", "content-md5": "x=="}, memoryview(b"abc"))
    assert head == (b"PUT /b/k?partNumber=1 HTTP/1.1\r\nuser-agent: s3ferry\r\nhost: h:1\r\ncontent-md5: x==\r\n"
                    b"content-length: 3\r\n\r\n")
    assert b"content-length" not in http1wire.request_head("GET", "/", {}, None)
    with pytest.raises(ValueError):
        http1wire.request_head("GET", "/", {"x-amz-meta-a": "b\r\nevil: 1"}, None)


# ---- the pool against a local server ---------------------------------------------------------


async def _server(handler):
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _read_request(reader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + await reader.readexactly(length)


def test_keep_alive_reuses_and_a_connection_closed_while_idle_is_retried_once():
    connections = []

    async def handler(reader, writer):
        connections.append(writer)
        served = 0
        while True:
            try:
                await _read_request(reader)
            except asyncio.IncompleteReadError:
                break
            served += 1
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()
            if len(connections) == 1 and served == 2:
                writer.close()  # the server's keep-alive limit: closed between requests
                break

    async def main():
        server, port = await _server(handler)
        pool = http1.Pool(4, 5.0, 5.0)
        bodies = []
        for _ in range(4):
            async with pool.request("127.0.0.1", port, "PUT", "/b/k", {"host": "x"}, b"data") as response:
                bodies.append(await response.read())
            await asyncio.sleep(0.05)  # let the close arrive, or not: both ways must work
        pool.close()
        server.close()
        return bodies

    assert asyncio.run(main()) == [b"ok"] * 4
    assert len(connections) == 2


def test_a_reset_after_the_reply_began_is_not_retried_and_a_stall_times_out():
    async def reset(reader, writer):
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial")
        await writer.drain()
        writer.transport.abort()

    async def stall(reader, writer):
        await _read_request(reader)
        await asyncio.sleep(30)

    async def main(handler, read_timeout):
        server, port = await _server(handler)
        pool = http1.Pool(4, 5.0, read_timeout)
        try:
            async with pool.request("127.0.0.1", port, "GET", "/b/k", {"host": "x"}) as response:
                return await response.read()
        finally:
            pool.close()
            server.close()

    with pytest.raises(http1wire.Disconnected) as caught:
        asyncio.run(main(reset, 5.0))
    assert isinstance(botocore_error(caught.value, "u"), ConnectionClosedError)
    with pytest.raises(http1wire.ReadTimeout) as caught:
        asyncio.run(main(stall, 0.2))
    assert isinstance(botocore_error(caught.value, "u"), ReadTimeoutError)


def test_a_slow_upload_is_no_timeout_while_its_bytes_move(monkeypatch):
    """The read timeout is silence, not the time to send a part over a slow link: 32 MiB taken
    at 16 MiB/s (2 s) under a 1 s read timeout. The server's receive buffer is kept small, so
    what is still in flight once the client's last write left it (its kernel send buffer, at
    most 4 MiB here: 0.25 s at that rate) drains well inside the timeout."""
    monkeypatch.setattr(http1, "WRITE_SLICE", 64 << 20)  # the whole body in one write, as under uvloop
    rate, size = 16 << 20, 32 << 20
    received = []

    async def slow(reader, writer):
        head = await reader.readuntil(b"\r\n\r\n")
        length = int(head.lower().split(b"content-length: ")[1].split(b"\r\n")[0])
        loop = asyncio.get_running_loop()
        started, got = loop.time(), 0
        while got < length:
            chunk = await reader.read(min(length - got, 64 * 1024))
            got += len(chunk)
            received.append(len(chunk))
            ahead = got / rate - (loop.time() - started)  # a late wake-up is caught up, not owed
            if ahead > 0:
                await asyncio.sleep(ahead)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n")
        await writer.drain()

    async def main():
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)  # inherited by accept()
        listener.bind(("127.0.0.1", 0))
        server = await asyncio.start_server(slow, sock=listener)
        pool = http1.Pool(4, 5.0, 1.0)
        try:
            async with pool.request("127.0.0.1", listener.getsockname()[1], "PUT", "/b/k", {},
                                    memoryview(bytes(size))) as response:
                return response.status
        finally:
            pool.close()
            server.close()

    assert asyncio.run(main()) == 200 and sum(received) == size


def test_connection_refused_is_an_endpoint_error():
    async def main():
        server, port = await _server(lambda r, w: None)
        server.close()
        await server.wait_closed()
        pool = http1.Pool(4, 5.0, 5.0)
        async with pool.request("127.0.0.1", port, "HEAD", "/", {}):
            pass

    with pytest.raises(http1wire.ConnectFailed) as caught:
        asyncio.run(main())
    mapped = botocore_error(caught.value, "http://127.0.0.1:9/b")
    assert isinstance(mapped, EndpointConnectionError) and is_retryable(mapped)
    assert unreachable(mapped)  # an outage the retry budget rides out, as with aiohttp
    assert "127.0.0.1" in str(mapped)


def test_a_connect_that_hangs_is_a_connect_timeout_and_frees_its_slot():
    async def main():
        loop = asyncio.get_running_loop()

        async def hang(*args, **kwargs):
            await asyncio.sleep(60)

        loop.create_connection = hang  # type: ignore[method-assign]
        pool = http1.Pool(1, 0.05, 5.0)
        for _ in range(2):  # one slot: a second attempt would wait forever if the first kept it
            with pytest.raises(http1wire.ConnectTimeout) as caught:
                await pool.send("127.0.0.1", 9, "GET", "/", {})
        return caught.value

    error = asyncio.run(main())
    assert isinstance(botocore_error(error, "http://127.0.0.1:9/b"), ConnectTimeoutError)


def test_send_holds_a_slot_until_release():
    """send() returns the response with one of the pool's slots held; release() gives it back
    and pools the connection, whatever was read."""
    async def ok(reader, writer):
        while True:
            await _read_request(reader)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    async def main():
        server, port = await _server(ok)
        pool = http1.Pool(1, 5.0, 5.0)
        try:
            first = await pool.send("127.0.0.1", port, "GET", "/b/k", {"host": "x"})
            second = asyncio.ensure_future(pool.send("127.0.0.1", port, "GET", "/b/k", {"host": "x"}))
            await asyncio.sleep(0.05)
            waited = not second.done()  # the only slot is the first's
            assert await first.read() == b"ok"
            pool.release(first)
            response = await second
            pool.release(response)  # its body unread: the connection is closed, the slot freed
            third = await pool.send("127.0.0.1", port, "GET", "/b/k", {"host": "x"})
            body = await third.read()
            pool.release(third)
            return waited, body, len(pool._idle[("127.0.0.1", port)])
        finally:
            pool.close()
            server.close()

    assert asyncio.run(main()) == (True, b"ok", 1)


# ---- the switch ------------------------------------------------------------------------------


def test_the_switch_reads_s3ferry_http_and_refuses_other_values(monkeypatch):
    from s3ferry.core.config import Config, ConfigError

    monkeypatch.delenv("S3FERRY_HTTP", raising=False)
    assert Config().http == "raw"
    monkeypatch.setenv("S3FERRY_HTTP", "aiohttp")
    assert Config().http == "aiohttp" and Config(http="raw").http == "raw"
    monkeypatch.setenv("S3FERRY_HTTP", "curl")
    with pytest.raises(ConfigError, match="S3FERRY_HTTP must be aiohttp or raw"):
        Config()


@pytest.mark.parametrize(("url", "raw"), [("http://127.0.0.1:9", True), ("https://127.0.0.1:9", False)])
def test_raw_serves_plain_http_only(url, raw):
    from s3ferry.core.config import Config
    from s3ferry.store.client import new_session
    from s3ferry.store.direct import open_direct

    async def main():
        config = Config(endpoint_url=url, http="raw")
        async with open_direct(config, new_session(config)) as direct:
            return direct.raw

    assert (asyncio.run(main()) is not None) == raw


def _parse_head_bytewise(head: bytes) -> tuple[int, dict[str, str], bool]:
    """The reference: the head parsed line by line on bytes (the parser before it went to str)."""
    lines = head.split(b"\r\n")
    version, _, rest = lines[0].partition(b" ")
    code = rest[:3]
    if version not in (b"HTTP/1.1", b"HTTP/1.0") or len(code) != 3 or not code.isdigit() or rest[3:4] not in (b"", b" "):
        raise http1wire.BadReply("status")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        if not sep or not name or name != name.strip():
            raise http1wire.BadReply("header")
        headers[name.decode("latin-1").lower()] = value.strip().decode("utf-8", "replace")
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection if version == b"HTTP/1.1" else "keep-alive" in connection
    return int(code), headers, keep


HEAD_BYTES = st.sampled_from([b"HTTP/1.1", b"HTTP/1.0", b"HTTP/2", b" ", b":", b"\t", b"\x0b", b"\x1c", b"\x85",
                              b"\xa0", b"\xb2", b"\xc3\xa9", b"\xff", b"200", b"2\xb20", b"OK", b"Content-Length",
                              b"Connection", b"close", b"keep-alive", b"X-Amz-Meta-A", b"a", b"Z", b"0"])
HEAD_LINES = st.lists(st.lists(HEAD_BYTES, max_size=6).map(b"".join), max_size=6).map(b"\r\n".join)


@given(HEAD_LINES)
@example(b"a:\x1c")
@example(b"a:\xa0b\x85")
@example(b"Connection: close\r\nconnection:\tkeep-alive")
def test_parse_head_agrees_with_a_bytewise_parse(lines):
    """Any head (ASCII or not, odd whitespace, Unicode digits) gives what a line-by-line parse
    on bytes gives: the same status, headers and keep-alive, or BadReply from both."""
    for head in (lines, b"HTTP/1.1 200 OK\r\n" + lines, b"HTTP/1.0 2\xb20 OK\r\n" + lines):
        try:
            expected = _parse_head_bytewise(head)
        except http1wire.BadReply:
            with pytest.raises(http1wire.BadReply):
                http1wire.parse_head(head)
        else:
            assert http1wire.parse_head(head) == expected
