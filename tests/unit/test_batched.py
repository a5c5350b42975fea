"""ops/batched.py: small files' local work, several calls per worker-thread hop. Each call
keeps its own outcome, a cancelled call never runs or is waited for (and undone), and the
cheaper room counter of run_jobs still bounds the files in flight."""

from __future__ import annotations

import threading
import time
from types import SimpleNamespace

import anyio
import pytest

from s3ferry.core.config import FILES_PER_SLOT, Config
from s3ferry.core.results import Summary, TransferResult
from s3ferry.ops.batched import LocalBatches, run_local
from s3ferry.ops.jobs import run_jobs


def test_many_calls_share_hops_and_keep_their_own_results_and_errors():
    seen_threads: set[int] = set()

    def work(i: int) -> int:
        seen_threads.add(threading.get_ident())
        time.sleep(0.001)  # long enough for the others to queue behind the first hop
        if i % 7 == 3:
            raise ValueError(f"bad {i}")
        return i * i

    async def main() -> tuple[dict[int, object], int]:
        outcomes: dict[int, object] = {}
        async with anyio.create_task_group() as hops:
            batches = LocalBatches(hops)

            async def one(i: int) -> None:
                try:
                    outcomes[i] = await batches.run(work, i)
                except ValueError as exc:
                    outcomes[i] = str(exc)

            async with anyio.create_task_group() as tg:
                for i in range(100):
                    tg.start_soon(one, i)
        return outcomes, batches.hops

    outcomes, hops = anyio.run(main)
    assert outcomes == {i: (f"bad {i}" if i % 7 == 3 else i * i) for i in range(100)}
    assert hops < 50  # batched: far fewer hops than calls
    assert threading.get_ident() not in seen_threads  # never on the loop's thread


def test_a_lone_call_goes_at_once_and_without_batches_each_call_hops():
    async def main() -> tuple[int, int, int]:
        async with anyio.create_task_group() as hops:
            batches = LocalBatches(hops)
            first = await batches.run(lambda: 1)
            second = await batches.run(lambda: 2)
        plain = await run_local(None, lambda: 3)
        return first + second, batches.hops, plain

    assert anyio.run(main) == (3, 2, 3)


def test_a_call_cancelled_while_queued_never_runs():
    ran: list[int] = []
    release = threading.Event()

    def blocker() -> None:
        release.wait(5)

    async def main() -> None:
        async with anyio.create_task_group() as hops:
            batches = LocalBatches(hops, hops=1)
            async with anyio.create_task_group() as tg:
                tg.start_soon(batches.run, blocker)
                await anyio.sleep(0.05)  # the blocker's hop is running: the next call queues
                with anyio.move_on_after(0.05):
                    await batches.run(ran.append, 1)
                release.set()

    anyio.run(main)
    assert ran == []


def test_a_call_cancelled_while_running_is_waited_for_and_undone():
    started, release = threading.Event(), threading.Event()
    undone: list[str] = []

    def opens() -> str:
        started.set()
        release.wait(5)
        return "fd"

    async def main() -> None:
        async with anyio.create_task_group() as hops:
            batches = LocalBatches(hops)
            with anyio.CancelScope() as scope:
                async def cancel_when_running() -> None:
                    await anyio.to_thread.run_sync(started.wait, 5)
                    scope.cancel()  # this task is cancelled too: the thread lets the call go
                    threading.Timer(0.05, release.set).start()

                async with anyio.create_task_group() as tg:
                    tg.start_soon(cancel_when_running)
                    await batches.run(opens, undo=undone.append)
                pytest.fail("the cancellation must go on once the call is undone")

    anyio.run(main)
    assert undone == ["fd"]


def test_run_jobs_still_bounds_files_in_flight():
    limit = 3
    ctx = SimpleNamespace(config=Config(max_concurrency=limit), progress=SimpleNamespace(finished=lambda r: None),
                          batches=None)
    now = peak = 0

    async def job() -> TransferResult:
        nonlocal now, peak
        now += 1
        peak = max(peak, now)
        await anyio.sleep(0.001)
        now -= 1
        return TransferResult("get", "s", "d")

    async def jobs():
        for _ in range(50):
            yield job

    summary = anyio.run(run_jobs, ctx, jobs(), Summary("get"))
    assert summary.files == 50
    assert peak == limit * FILES_PER_SLOT
    assert ctx.batches is None  # restored once the run is over
