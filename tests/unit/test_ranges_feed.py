"""store/ranges.feed_range reads a body straight off its stream: pieces already buffered come
from ``ready_chunk`` without a coroutine, the rest from ``readchunk``, under any split of the
socket's bytes and any framing; and a small GET on the lean path runs no async generator."""

from __future__ import annotations

import asyncio
import hashlib
import itertools
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core.config import Config
from s3ferry.core.errors import RangeIntegrityError
from s3ferry.core.locations import S3Location
from s3ferry.core.parts import Part
from s3ferry.store import http1
from s3ferry.store.ranges import feed_range
from fake_transport import FakeTransport


def _chunked(body: bytes, size: int) -> bytes:
    out = [b"%x\r\n%s\r\n" % (len(body[i:i + size]), body[i:i + size]) for i in range(0, len(body), size)]
    return b"".join(out) + b"0\r\n\r\n"


def _raw(body: bytes, framing: str) -> bytes:
    if framing == "length":
        return b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body
    if framing == "chunked":
        return b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + _chunked(body, 700)
    return b"HTTP/1.1 200 OK\r\n\r\n" + body  # until the connection closes


async def _feed(raw: bytes, cuts: list[int], before: int, part: Part, counted: list[str]) -> bytes:
    """feed_range over a reply whose first ``before`` pieces are in before the read starts,
    the rest arriving while it runs; ``counted`` records which read each piece came by."""
    conn = http1.Connection(http1.Pool(4, 1.0, 5.0), ("h", 80))
    conn.connection_made(FakeTransport())
    points = sorted({min(c, len(raw)) for c in cuts} | {0, len(raw)})
    pieces = [raw[a:b] for a, b in itertools.pairwise(points)]
    for piece in pieces[:before]:
        conn.data_received(piece)

    async def push():
        for piece in pieces[before:]:
            await asyncio.sleep(0)
            conn.data_received(piece)
        await asyncio.sleep(0)
        conn.eof_received()

    pusher = asyncio.ensure_future(push())
    response = await conn.response(False)
    ready, readchunk = response.ready_chunk, response.readchunk

    def ready_chunk():
        got = ready()
        if got:
            counted.append("ready")
        return got

    async def read():
        counted.append("await")
        return await readchunk()

    response.ready_chunk, response.readchunk = ready_chunk, read  # type: ignore[method-assign]
    got: list[bytes] = []

    async def sink(offset: int, batch: list[bytes]) -> None:
        assert offset == part.offset + sum(map(len, got))
        got.extend(batch)

    try:
        await feed_range(response, part, sink, 1000)
    finally:
        pusher.cancel()
    return b"".join(got)


@given(st.binary(max_size=3000), st.lists(st.integers(min_value=0, max_value=4000), max_size=10),
       st.integers(min_value=0, max_value=11), st.sampled_from(["length", "chunked", "close"]))
def test_any_split_and_framing_feeds_the_same_bytes(body, cuts, before, framing):
    got = asyncio.run(_feed(_raw(body, framing), cuts, before, Part(1, 0, len(body)), []))
    assert got == body


@pytest.mark.parametrize("framing", ["length", "chunked", "close"])
@pytest.mark.parametrize("size", [99, 101])
def test_a_body_of_another_length_than_the_range_is_an_integrity_error(framing, size):
    with pytest.raises(RangeIntegrityError):
        asyncio.run(_feed(_raw(b"x" * size, framing), [], 99, Part(1, 0, 100), []))


def test_a_body_in_with_its_head_is_read_without_an_await():
    counted: list[str] = []
    body = bytes(range(256)) * 256
    assert asyncio.run(_feed(_raw(body, "length"), [40], 2, Part(1, 0, len(body)), counted)) == body
    assert counted and "await" not in counted


OBJECT = bytes(range(256)) * 256
ETAG = hashlib.md5(OBJECT).hexdigest()


async def _object_server(reader, writer) -> None:
    while await reader.readuntil(b"\r\n\r\n"):
        writer.write(b'HTTP/1.1 200 OK\r\nContent-Length: %d\r\nETag: "%s"\r\n\r\n' % (len(OBJECT), ETAG.encode()))
        await writer.drain()
        writer.write(OBJECT)  # the body apart from the head, as the RGW writes it


def test_a_small_get_on_the_lean_path_runs_no_async_generator_and_parses_no_reply(monkeypatch):
    """Each async generator per GET (an @asynccontextmanager, a generator of pieces) cost
    its frames and the loop's asyncgen hooks, and read_range returns no reply to parse:
    profile.md "smallreq7"."""
    from s3ferry.core import s3wire
    from s3ferry.store.s3 import open_store

    parsed: list[int] = []
    parse_reply = s3wire.parse_reply
    monkeypatch.setattr(s3wire, "parse_reply", lambda *a: parsed.append(1) or parse_reply(*a))
    for name in ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY", "AWS_PROFILE", "AWS_DEFAULT_PROFILE",
                 "AWS_CREDENTIAL_EXPIRATION", "S3FERRY_HTTP", "S3FERRY_ENGINE"):
        monkeypatch.delenv(name, raising=False)  # the default path: lean engine, raw HTTP client
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AK")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "SK")

    async def main() -> tuple[bytes, int]:
        server = await asyncio.start_server(_object_server, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        generators = 0
        old = sys.get_asyncgen_hooks()

        def firstiter(gen) -> None:
            nonlocal generators
            generators += 1
            if old.firstiter is not None:
                old.firstiter(gen)

        got: list[bytes] = []

        async def sink(offset: int, pieces: list[bytes]) -> None:
            got.extend(bytes(p) for p in pieces)

        async with server:
            async with open_store(Config(endpoint_url=f"http://127.0.0.1:{port}", addressing_style="path")) as store:
                loc = S3Location("bkt", "k")
                await store.read_range(loc, Part(1, 0, len(OBJECT)), sink, whole=True)  # warm: the bucket resolved
                got.clear()
                sys.set_asyncgen_hooks(firstiter=firstiter, finalizer=old.finalizer)
                try:
                    for _ in range(3):
                        await store.read_range(loc, Part(1, 0, len(OBJECT)), sink, whole=True, if_match=f'"{ETAG}"')
                finally:
                    sys.set_asyncgen_hooks(*old)
        return b"".join(got), generators

    body, generators = asyncio.run(main())
    assert body == OBJECT * 3
    assert generators == 0 and not parsed
