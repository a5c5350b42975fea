"""ops/pool.py: run_jobs' worker tasks. Bounded, reused, and cancelled with their group."""

from __future__ import annotations

import anyio
import pytest

from s3ferry.ops.pool import JobPool


def test_jobs_run_at_most_size_at_a_time_on_reused_workers():
    done: list[int] = []
    now = peak = 0

    async def run(job: int) -> None:
        nonlocal now, peak
        now += 1
        peak = max(peak, now)
        await anyio.sleep(0.001 * (job % 3))
        now -= 1
        done.append(job)

    async def main() -> int:
        async with anyio.create_task_group() as tg:
            pool = JobPool(tg, 4, run)
            for job in range(40):
                await pool.submit(job)
            pool.close()
        return pool.workers

    workers = anyio.run(main)
    assert sorted(done) == list(range(40))
    assert peak == 4
    assert workers == 4  # later jobs went to idle workers, not new tasks


def test_a_lone_job_at_a_time_keeps_one_worker():
    async def main() -> int:
        async with anyio.create_task_group() as tg:
            pool = JobPool(tg, 8, lambda job: anyio.sleep(0))
            for job in range(5):
                await pool.submit(job)
                await anyio.sleep(0.01)  # the job is over and its worker idle before the next
            pool.close()
        return pool.workers

    assert anyio.run(main) == 1


def test_cancelling_the_group_ends_busy_and_idle_workers_and_a_waiting_producer():
    started: list[int] = []

    async def run(job: int) -> None:
        started.append(job)
        if job:
            await anyio.sleep_forever()

    async def main() -> None:
        with anyio.move_on_after(0.05) as scope:
            async with anyio.create_task_group() as tg:
                pool = JobPool(tg, 2, run)
                await pool.submit(0)  # over at once: its worker goes idle
                await anyio.sleep(0.01)
                for job in (1, 2, 3):  # 3 waits for room that never comes
                    await pool.submit(job)
                pytest.fail("the producer must be cancelled while it waits")
        assert scope.cancelled_caught

    anyio.run(main)
    assert started == [0, 1, 2]


def test_a_job_error_reaches_the_group():
    async def run(job: int) -> None:
        if job == 2:
            raise ValueError("boom")
        await anyio.sleep(0)

    async def main() -> None:
        async with anyio.create_task_group() as tg:
            pool = JobPool(tg, 2, run)
            for job in range(5):
                await pool.submit(job)
            pool.close()

    with pytest.raises(BaseExceptionGroup) as caught:
        anyio.run(main)
    assert caught.group_contains(ValueError)
