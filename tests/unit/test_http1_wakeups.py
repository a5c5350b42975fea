"""store/http1.py's waits: a small reply wakes its request once (the head parsed in the
protocol's callback, a small body waited for with it), and the read timeout is one timer per
connection, moved on lazily, that still fires after a stall on a connection used before."""

from __future__ import annotations

import asyncio

import pytest

from s3ferry.core.http1wire import ReadTimeout
from s3ferry.store import http1
from fake_transport import FakeTransport


def _counted(conn: http1.Connection) -> list[int]:
    """How many times ``conn`` waited (one future and one task wake-up each)."""
    waits: list[int] = []
    wait = conn._wait

    async def counted() -> None:
        waits.append(1)
        await wait()

    conn._wait = counted  # type: ignore[method-assign]
    return waits


@pytest.mark.parametrize(("pieces", "waits"), [
    (3, 1),  # head, then the body in three reads: one wake-up once all of it is in
    (0, 1),  # head and body in one read
])
def test_a_small_reply_wakes_its_request_once(pieces, waits):
    body = bytes(range(256)) * 256  # 64 KiB
    raw = b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\nETag: \"x\"\r\n\r\n" % len(body) + body

    async def main():
        conn = http1.Connection(http1.Pool(4, 1.0, 5.0), ("h", 80))
        conn.connection_made(FakeTransport())
        waits = _counted(conn)
        cuts = [raw]
        if pieces:  # the head alone first, then the body's reads
            step = -(-len(body) // pieces)
            cuts = [raw[:len(raw) - len(body)]] + [body[i:i + step] for i in range(0, len(body), step)]

        async def push():
            for cut in cuts:
                await asyncio.sleep(0)
                conn.data_received(cut)

        pusher = asyncio.ensure_future(push())
        response = await conn.response(False)
        got = []
        while not response.at_eof():
            got.append((await response.readchunk())[0])  # all in already: no more waits
        await pusher
        return b"".join(got), len(waits), conn

    got, count, conn = asyncio.run(main())
    assert got == body and count == waits and conn.reusable()


def test_a_large_body_still_wakes_its_request_at_the_head():
    """A body above WHOLE_BELOW is not waited for: the head comes back as soon as it is in."""
    async def main():
        conn = http1.Connection(http1.Pool(4, 1.0, 5.0), ("h", 80))
        conn.connection_made(FakeTransport())
        conn.data_received(b"HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % (http1.WHOLE_BELOW + 1) + b"x")
        response = await asyncio.wait_for(conn.response(False), 1)
        return response.status

    assert asyncio.run(main()) == 200


def test_one_timer_serves_many_requests_and_a_later_stall_still_times_out():
    """Requests on one kept-alive connection arm no timer after the first (it was a call_later
    and a cancel per wait); the 21st, which the server never answers, still ends in a
    ReadTimeout."""
    served = []

    async def handler(reader, writer):
        while True:
            try:
                await reader.readuntil(b"\r\n\r\n")
            except asyncio.IncompleteReadError:
                break
            if len(served) == 20:
                await asyncio.sleep(30)  # stalls: no byte
            served.append(1)
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
            await writer.drain()

    async def main():
        server = await asyncio.start_server(handler, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        loop = asyncio.get_running_loop()
        timers = []
        call_at = loop.call_at

        def counted(when, callback, *args, **kwargs):
            timers.append(when)
            return call_at(when, callback, *args, **kwargs)

        loop.call_at = counted  # type: ignore[method-assign]
        pool = http1.Pool(4, 5.0, 0.5)
        try:
            for number in range(20):
                async with pool.request("127.0.0.1", port, "GET", "/b/k", {"host": "x"}) as response:
                    assert await response.read() == b"ok"
                if number == 0:
                    first = len(timers)  # the connect's timeout and the read timeout's timer
            armed = len(timers) - first
            with pytest.raises(ReadTimeout):
                async with pool.request("127.0.0.1", port, "GET", "/b/k", {"host": "x"}) as response:
                    await response.read()
        finally:
            pool.close()
            server.close()
        return armed

    assert asyncio.run(main()) == 0


def test_slots_go_first_come_first_served_and_a_cancelled_waiter_passes_its_slot_on():
    from s3ferry.store.slots import Slots

    async def main():
        slots = Slots(1)
        await slots.take()
        order = []

        async def waiter(name):
            await slots.take()
            order.append(name)

        first = asyncio.ensure_future(waiter("first"))
        second = asyncio.ensure_future(waiter("second"))
        third = asyncio.ensure_future(waiter("third"))
        await asyncio.sleep(0)
        slots.give()  # to first, which is cancelled before it runs: the slot goes on to second
        first.cancel()
        await asyncio.sleep(0)
        await asyncio.sleep(0)
        held_by_second = order == ["second"]
        slots.give()
        await third
        slots.give()
        return held_by_second, order, slots.free, first.cancelled()

    assert asyncio.run(main()) == (True, ["second", "third"], 1, True)
