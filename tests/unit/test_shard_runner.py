"""The engine-neutral driver: shards handed to any engine, lost attempts retried, a shard
that keeps failing reported after its last attempt, every attempt in the report."""

from __future__ import annotations

from concurrent.futures import Future

import anyio
import pytest

from s3ferry.core.config import MAX_SHARD_ATTEMPTS
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.shards import KeyRange, Migration, ShardResult, ShardSpec
from s3ferry.scale.runner import drive

JOB = Migration("s3://a/src/", "s3://b/dst/", config=None)


class FakeEngine:
    """Answers each attempt from a script: a ShardResult, or an exception (a lost worker)."""

    name = "fake"
    workers = 2

    def __init__(self, script):
        self.script = script
        self.submitted: list[tuple[int, int]] = []

    def submit(self, spec: ShardSpec, attempt: int) -> Future[ShardResult]:
        self.submitted.append((spec.number, attempt))
        future: Future[ShardResult] = Future()
        outcome = self.script(spec.number, attempt)
        if isinstance(outcome, BaseException):
            future.set_exception(outcome)
        else:
            future.set_result(outcome)
        return future

    def close(self) -> None:
        pass


async def specs(count: int):
    for number in range(count):
        yield ShardSpec(number, JOB, KeyRange(None if number == 0 else f"k{number:03d}",
                                              None if number == count - 1 else f"k{number + 1:03d}"))


def run(engine, count: int, seen=None) -> MigrationReport:
    report = MigrationReport("sync", JOB.source, JOB.destination, engine.name)
    anyio.run(drive, engine, specs(count), report, seen)
    return report


def good(number: int, attempt: int) -> ShardResult:
    return ShardResult(number, attempt, "w", copied=10, bytes=100, etag_match=10)


def test_every_shard_runs_once_when_nothing_fails():
    engine = FakeEngine(good)
    seen = []
    report = run(engine, 20, lambda result, rep: seen.append(result.number))
    assert sorted(engine.submitted) == [(n, 1) for n in range(20)]
    assert report.verified and report.totals()["objects"] == 200 and sorted(seen) == list(range(20))


def test_a_lost_worker_is_retried_and_reported():
    engine = FakeEngine(lambda n, a: RuntimeError("KilledWorker: worker died") if (n, a) == (3, 1) else good(n, a))
    report = run(engine, 6)
    assert (3, 2) in engine.submitted and report.retried == [3] and report.verified and report.exit_code == 0
    shard = report.as_dict()["shards"][3]
    assert shard["attempts"] == 2 and "KilledWorker" in shard["retries"][0]["cause"]


class EngineCancels(FakeEngine):
    """Cancels an attempt's future, as Dask does to every future when its client loses the
    scheduler: the attempt is lost (and retried), never silently dropped."""

    def submit(self, spec: ShardSpec, attempt: int) -> Future[ShardResult]:
        if (spec.number, attempt) != (2, 1):
            return super().submit(spec, attempt)
        self.submitted.append((spec.number, attempt))
        future: Future[ShardResult] = Future()
        future.cancel()
        return future


def test_an_attempt_the_engine_cancels_is_retried_not_dropped():
    engine = EngineCancels(good)
    report = run(engine, 4)
    assert (2, 2) in engine.submitted and report.retried == [2]
    assert report.complete and report.verified and report.totals()["copied"] == 40


def test_a_shard_that_keeps_failing_is_reported_not_retried_forever():
    engine = FakeEngine(lambda n, a: RuntimeError("boom") if n == 1 else good(n, a))
    report = run(engine, 3)
    assert [a for n, a in engine.submitted if n == 1] == list(range(1, MAX_SHARD_ATTEMPTS + 1))
    assert report.failed_shards == [1] and report.exit_code == 1 and not report.complete


def test_failed_objects_are_retried_and_keep_their_exit_code():
    def script(number, attempt):
        return ShardResult(number, attempt, failed=2, exit_code=5, causes=("denied",)) if number == 0 else \
            good(number, attempt)
    report = run(FakeEngine(script), 2)
    assert len(report.records[0].attempts) == MAX_SHARD_ATTEMPTS and report.exit_code == 5


def test_a_cutting_error_stops_the_driver_with_the_report_so_far():
    async def broken():
        yield ShardSpec(0, JOB)
        raise OSError("listing failed")

    report = MigrationReport("sync", JOB.source, JOB.destination, "fake")
    with pytest.raises(BaseException) as caught:
        anyio.run(drive, FakeEngine(good), broken(), report)
    assert "listing failed" in repr(caught.value) and report.seconds > 0


class _Stuck:
    """A worker process that ignores SIGTERM, as one hung on a queue lock a killed sibling held."""

    def __init__(self) -> None:
        import subprocess
        import sys

        code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(flush=True); time.sleep(60)"
        self._popen = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
        self._popen.stdout.readline()  # its handler is in place
        self.pid = self._popen.pid

    def is_alive(self) -> bool:
        return self._popen.poll() is None

    def join(self, timeout: float) -> None:
        import subprocess

        try:
            self._popen.wait(timeout)
        except subprocess.TimeoutExpired:
            pass

    def kill(self) -> None:
        self._popen.kill()


def test_a_retired_worker_that_ignores_sigterm_is_killed_at_close(monkeypatch):
    from s3ferry.scale import local

    monkeypatch.setattr(local, "WORKER_STOP_TIMEOUT", 0.3)
    engine = local.LocalEngine(1)
    stuck = _Stuck()
    engine._pool._processes = {stuck.pid: stuck}  # the broken pool's survivor
    engine._retire()
    assert stuck.is_alive()  # SIGTERM alone does not end it
    engine._pool = engine._new_pool()
    engine.close()
    assert not stuck.is_alive()
