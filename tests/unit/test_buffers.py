"""The part-buffer pool: reuse, and the byte budget that bounds upload memory."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3ferry.local.buffers import PartBuffers

pytestmark = pytest.mark.anyio


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


async def test_buffers_are_reused() -> None:
    buffers = PartBuffers(budget=200)
    await buffers.reserve(100)
    a = buffers.take(100)
    buffers.give(a)
    await buffers.reserve(100)
    assert buffers.take(100) is a  # reused, not allocated again
    buffers.forget(a)  # a failed part's buffer is never handed out again
    await buffers.reserve(100)
    assert buffers.take(100) is not a
    assert buffers.peak == 100


async def test_a_free_buffer_of_another_size_makes_room() -> None:
    buffers = PartBuffers(budget=150)
    for size in (100, 100):  # one buffer, reused
        await buffers.reserve(size)
        buffers.give(buffers.take(size))
    await buffers.reserve(120)
    assert len(buffers.take(120)) == 120  # the free 100 was dropped: 220 would exceed 150
    assert buffers.peak == 120


async def test_a_part_bigger_than_the_budget_goes_alone() -> None:
    buffers = PartBuffers(budget=50)
    await buffers.reserve(80)
    big = buffers.take(80)
    with anyio.move_on_after(0.05) as waited:  # a second part must wait for the first
        await buffers.reserve(10)
    assert waited.cancelled_caught
    buffers.give(big)
    await buffers.reserve(80)
    assert buffers.take(80) is big


@settings(max_examples=40, deadline=None)
@given(budget=st.integers(1, 400), sizes=st.lists(st.sampled_from([30, 60, 100, 250]), min_size=1, max_size=30),
       fails=st.lists(st.booleans(), min_size=30, max_size=30), width=st.integers(1, 16))
def test_bytes_held_never_exceed_the_budget(budget: int, sizes: list[int], fails: list[bool], width: int) -> None:
    """Parts of mixed sizes, some failing (their buffers forgotten), ``width`` at a time: the
    bytes held (lent + free) stay within the budget, or one part's size when it is larger."""
    buffers = PartBuffers(budget=budget)
    limit = max(budget, max(sizes))
    lent = [0]

    async def part(size: int, fail: bool, slots: anyio.CapacityLimiter) -> None:
        async with slots:
            await buffers.reserve(size)
            buffer = buffers.take(size)
            lent[0] += size
            assert lent[0] <= limit
            await anyio.lowlevel.checkpoint()
            lent[0] -= size
            if fail:
                buffers.forget(buffer)
            else:
                buffers.give(buffer)

    async def main() -> None:
        slots = anyio.CapacityLimiter(width)
        async with anyio.create_task_group() as tg:
            for size, fail in zip(sizes, fails):
                tg.start_soon(part, size, fail, slots)

    anyio.run(main)
    assert buffers.peak <= limit
    assert buffers._reserved == 0
