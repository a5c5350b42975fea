"""ops/slots.py: the global limit, as anyio.CapacityLimiter behaves, without a loop pass
for a free slot."""

from __future__ import annotations

import asyncio

import anyio
import pytest

from s3ferry.ops.slots import Slots


def test_a_free_slot_is_taken_without_a_loop_pass():
    async def main() -> None:
        slots = Slots(2)
        ran: list[str] = []

        async def other() -> None:
            ran.append("other")

        async with anyio.create_task_group() as tg:
            tg.start_soon(other)
            await slots.acquire_on_behalf_of("a")  # no await inside: the other task has not run
            assert ran == [] and slots.borrowed_tokens == 1 and slots.available_tokens == 1
            slots.release_on_behalf_of("a")

    anyio.run(main)


def test_waiters_get_slots_in_order_and_never_more_than_the_total():
    order: list[int] = []
    now = peak = 0

    async def main() -> None:
        slots = Slots(3)

        async def one(i: int) -> None:
            nonlocal now, peak
            await slots.acquire_on_behalf_of(i)
            now += 1
            peak = max(peak, now)
            order.append(i)
            await anyio.sleep(0.001)
            now -= 1
            slots.release_on_behalf_of(i)

        async with anyio.create_task_group() as tg:
            for i in range(20):
                tg.start_soon(one, i)
                await anyio.sleep(0)  # each queues in turn

    anyio.run(main)
    assert order == list(range(20)) and peak == 3


def test_a_cancelled_waiter_leaves_the_queue_and_its_turn_goes_on():
    async def main() -> None:
        slots = Slots(1)
        await slots.acquire_on_behalf_of("held")
        got: list[str] = []

        async def wait(name: str) -> None:
            await slots.acquire_on_behalf_of(name)
            got.append(name)

        async with anyio.create_task_group() as tg:
            doomed = anyio.CancelScope()
            tg.start_soon(_in_scope, doomed, wait("cancelled"))
            await anyio.sleep(0.01)
            tg.start_soon(wait, "next")
            await anyio.sleep(0.01)
            doomed.cancel()
            await anyio.sleep(0.01)
            slots.release_on_behalf_of("held")
        assert got == ["next"] and slots.borrowed_tokens == 1

    anyio.run(main)


async def _in_scope(scope: anyio.CancelScope, call) -> None:
    with scope:
        await call


def test_a_slot_given_as_its_waiter_is_cancelled_is_passed_on():
    """asyncio's own cancel of a task whose wait just ended (anyio does not cancel such a
    task: it takes its slot and meets the cancellation at its next checkpoint)."""
    async def main() -> None:
        slots = Slots(1)
        await slots.acquire_on_behalf_of("held")
        got: list[str] = []

        async def wait(name: str) -> None:
            await slots.acquire_on_behalf_of(name)
            got.append(name)

        first = asyncio.ensure_future(wait("first"))
        await asyncio.sleep(0.01)
        second = asyncio.ensure_future(wait("second"))
        await asyncio.sleep(0.01)
        slots.release_on_behalf_of("held")  # "first" is given the slot ...
        first.cancel()  # ... and cancelled before it runs: the slot goes to "second"
        await asyncio.wait([first, second], timeout=5)
        assert first.cancelled() and got == ["second"] and slots.borrowed_tokens == 1

    asyncio.run(main())


def test_borrower_mistakes_raise_as_anyio_does():
    async def main() -> None:
        slots = Slots(2)
        await slots.acquire_on_behalf_of("a")
        with pytest.raises(RuntimeError):
            await slots.acquire_on_behalf_of("a")
        with pytest.raises(RuntimeError):
            slots.release_on_behalf_of("b")
        async with slots:
            assert slots.borrowed_tokens == 2
        assert slots.borrowed_tokens == 1

    anyio.run(main)
