"""Lane jobs (local/lanes.py) and their batches (ops/batched.py): every job hashes exactly its own
pieces, in order, whatever it shares a step with; a job's error is its own."""

from __future__ import annotations

import hashlib
import os

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from s3ferry.core import md5lanes
from s3ferry.core.md5lanes import Md5
from s3ferry.local import files as fileio
from s3ferry.local import lanes
from s3ferry.local.buffers import PartBuffers
from s3ferry.ops.batched import LocalBatches, run_lane


def _pieces(chunks):
    for chunk in chunks:
        yield chunk if len(chunk) % 3 else [chunk[:1], chunk[1:]]  # a list of pieces now and then
    return sum(map(len, chunks))


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(st.binary(max_size=300), max_size=6), max_size=12))
def test_each_job_hashes_its_own_pieces_in_order(jobs):
    md5s = [Md5() for _ in jobs]
    outcomes = lanes.drive([(m, _pieces(chunks)) for m, chunks in zip(md5s, jobs)])
    for md5, chunks, outcome in zip(md5s, jobs, outcomes):
        assert md5.digest() == hashlib.md5(b"".join(chunks)).digest()
        assert (outcome.result, outcome.error) == (sum(map(len, chunks)), None)


def test_a_failing_job_fails_alone_and_the_others_finish():
    def broken():
        yield b"abc"
        raise OSError(5, "I/O error")

    good, bad = Md5(), Md5()
    outcomes = lanes.drive([(good, _pieces([b"x" * 100, b"y" * 7])), (bad, broken())])
    assert good.digest() == hashlib.md5(b"x" * 100 + b"y" * 7).digest()
    assert outcomes[0].error is None and isinstance(outcomes[1].error, OSError)
    with pytest.raises(OSError):
        lanes.drive_one(Md5(), broken())


def test_a_piece_that_cannot_be_hashed_fails_its_step_and_closes_its_jobs():
    closed = []

    def job(piece):
        try:
            yield piece
            yield b"more"
        finally:
            closed.append(piece)

    outcomes = lanes.drive([(Md5(), job(b"fine")), (Md5(), job("not bytes"))])
    assert all(isinstance(o.error, TypeError) for o in outcomes)
    assert sorted(map(str, closed)) == ["b'fine'", "not bytes"]


def test_read_part_job_reads_hashes_and_hands_back_the_buffer(tmp_path):
    data = os.urandom(300_000)
    path = tmp_path / "f"
    path.write_bytes(data)
    buffers = PartBuffers(1 << 20)
    fd = os.open(path, os.O_RDONLY)
    try:
        md5s = [Md5(), Md5()]
        jobs = [fileio.read_part_job(buffers, fd, 0, 200_000), fileio.read_part_job(buffers, fd, 200_000, 100_000)]
        outcomes = lanes.drive(list(zip(md5s, jobs)))
    finally:
        os.close(fd)
    assert bytes(outcomes[0].result) == data[:200_000] and bytes(outcomes[1].result) == data[200_000:]
    assert [m.digest() for m in md5s] == [hashlib.md5(data[:200_000]).digest(), hashlib.md5(data[200_000:]).digest()]


def test_write_jobs_side_by_side_write_every_byte_where_it_belongs(tmp_path):
    data = os.urandom(700_000)
    path = tmp_path / "f"
    fd = os.open(path, os.O_RDWR | os.O_CREAT)
    try:
        halves = [(0, [data[:123], data[123:400_000]]), (400_000, [data[400_000:]])]
        md5s = [Md5(), Md5()]
        lanes.drive([(m, fileio.write_job(fd, offset, chunks)) for m, (offset, chunks) in zip(md5s, halves)])
    finally:
        os.close(fd)
    assert path.read_bytes() == data
    assert [m.digest() for m in md5s] == [hashlib.md5(data[:400_000]).digest(), hashlib.md5(data[400_000:]).digest()]


def test_lane_jobs_that_arrive_together_share_a_hop():
    async def main():
        async with anyio.create_task_group() as hops:
            batches = LocalBatches(hops, hops=1)
            md5s = [Md5() for _ in range(8)]
            async with anyio.create_task_group() as tg:
                for i, md5 in enumerate(md5s):
                    tg.start_soon(run_lane, batches, md5, _pieces([bytes([i]) * 1000] * 3))
            return batches.hops, md5s

    hops, md5s = anyio.run(main)
    assert [m.digest() for m in md5s] == [hashlib.md5(bytes([i]) * 3000).digest() for i in range(8)]
    assert hops < 8  # one hop for the first, one for the rest that queued meanwhile


def test_a_lane_job_without_batches_runs_alone_and_raises_its_error():
    def broken():
        raise ValueError("nope")
        yield b""

    async def main():
        md5 = Md5()
        assert await run_lane(None, md5, _pieces([b"abc"])) == 3
        assert md5.hexdigest() == hashlib.md5(b"abc").hexdigest()
        with pytest.raises(ValueError):
            await run_lane(None, Md5(), broken())

    anyio.run(main)


def test_the_kernel_in_use_is_one_of_the_known_ones():
    assert (md5lanes.KERNEL, md5lanes.LANES) in {("avx512", 16), ("avx2", 16), ("hashlib", 1)}


def test_a_width_keeps_that_many_jobs_live_and_starts_the_next_as_one_ends():
    live, most = [0], [0]

    def job(data, pieces):
        live[0] += 1
        most[0] = max(most[0], live[0])
        try:
            for _ in range(pieces):
                yield data
        finally:
            live[0] -= 1
        return pieces

    specs = [(bytes([i]) * 50, i % 3 + 1) for i in range(7)]
    md5s = [Md5() for _ in specs]
    outcomes = lanes.drive(zip(md5s, (job(d, n) for d, n in specs)), width=2)
    assert [o.result for o in outcomes] == [n for _, n in specs]
    assert [m.digest() for m in md5s] == [hashlib.md5(d * n).digest() for d, n in specs]
    assert most[0] == 2


def test_small_md5s_asked_for_in_one_loop_pass_are_hashed_together_and_a_cancelled_one_goes():
    bodies = [os.urandom(1000 + i) for i in range(10)]

    async def main():
        async with anyio.create_task_group() as hops:
            batches = LocalBatches(hops)
            got = {}

            async def one(i):
                got[i] = await batches.md5_small(bodies[i])

            async with anyio.create_task_group() as tg:
                for i in range(10):
                    tg.start_soon(one, i)
                with anyio.CancelScope() as gone:  # asked for in the same pass, then cancelled
                    gone.cancel()
                    await batches.md5_small(b"never")
            return got, batches.small_batches

    got, passes = anyio.run(main)
    assert got == {i: hashlib.md5(b).digest() for i, b in enumerate(bodies)}
    assert passes < 10  # together, not one pass per file


def test_a_gathering_job_waits_a_moment_for_company_and_a_plain_one_does_not(monkeypatch):
    from s3ferry.ops import batched

    monkeypatch.setattr(batched, "GATHER_SECONDS", 0.2)
    sizes = []
    real = batched._run_all
    monkeypatch.setattr(batched, "_run_all", lambda calls: (sizes.append(len(calls)), real(calls))[1])

    async def two(gather):
        async with anyio.create_task_group() as hops:
            batches = LocalBatches(hops)
            async with anyio.create_task_group() as tg:
                tg.start_soon(lambda: batches.run_lane(Md5(), _pieces([b"a" * 100]), gather=gather))
                await anyio.sleep(0.05)  # the second arrives after the first could have started
                tg.start_soon(lambda: batches.run_lane(Md5(), _pieces([b"b" * 100]), gather=gather))

    anyio.run(two, True)
    assert sizes == [2]
    sizes.clear()
    anyio.run(two, False)
    assert sizes == [1, 1]
