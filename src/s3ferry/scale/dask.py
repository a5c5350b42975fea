"""The Dask engine: shards as tasks on a Dask distributed cluster (the optional extra
``s3ferry[dask]``; nothing else imports Dask).

``local:N`` starts a LocalCluster of N worker processes on 127.0.0.1 (no dashboard);
``tcp://host:port`` joins a running scheduler. Each worker runs one shard at a time (one
thread): a shard is already concurrent inside, and memory stays workers x one shard.

Dask's own rescheduling is turned off for a cluster we start (allowed-failures 0): a shard
whose worker dies fails at once with KilledWorker and the driver retries it, so the retry is
counted and reported the same way on every engine. A joined scheduler keeps its own setting.
"""

from __future__ import annotations

import logging
from concurrent.futures import Future
from typing import Any

from s3ferry.core.config import CLUSTER_CONNECT_TIMEOUT, SHARD_RESULT_TIMEOUT, WORKER_STOP_TIMEOUT
from s3ferry.core.errors import ConfigError, EndpointError
from s3ferry.core.shards import ShardResult, ShardSpec

from .runner import Tick, Ticks, run_shard, stop_running

TICKS_TOPIC = "s3ferry-ticks"

try:
    from distributed import WorkerPlugin
except ImportError:  # the extra is not installed: DaskEngine says so when asked for
    WorkerPlugin = object


def _distributed() -> Any:
    try:
        import distributed
    except ImportError:
        raise ConfigError("--cluster needs Dask: pip install 's3ferry[dask]'") from None
    return distributed


class DaskEngine:
    def __init__(self, address: str | None, workers: int = 0, ticks: Ticks | None = None):
        distributed = _distributed()
        import dask

        self._cluster = None
        self._live: dict[str, Any] = {}  # Dask drops a task whose future nobody holds
        try:
            if address is None:
                with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
                    # No dashboard; the scheduler's own HTTP routes (health, metrics) on a free
                    # loopback port, not 8787, which another cluster may hold.
                    self._cluster = distributed.LocalCluster(
                        host="127.0.0.1", dashboard_address=None, processes=True, n_workers=workers,
                        threads_per_worker=1, silence_logs=logging.CRITICAL,
                        scheduler_kwargs={"dashboard_address": "127.0.0.1:0"})
                self.client = distributed.Client(self._cluster, timeout=CLUSTER_CONNECT_TIMEOUT)
                self.name = f"local:{workers}"
            else:
                self.client = distributed.Client(address, timeout=CLUSTER_CONNECT_TIMEOUT)
                self.name = address
        except OSError as exc:  # unreachable scheduler: TimeoutError, connection refused
            self.close()
            raise EndpointError(f"cannot reach the Dask scheduler {address}: {exc}") from None
        self.workers = max(1, workers or len(self.client.scheduler_info().get("workers", {})))
        self._sink = None
        if ticks is not None:  # progress batches travel as Dask events (Worker.log_event)
            self.client.subscribe_topic(TICKS_TOPIC, lambda event: ticks(tuple(event[1])))
            self._sink = send_tick
        if self._cluster is not None:
            # Workers we start are stopped by us (Ctrl-C, an error): their shards stop at once
            # and clean up, rather than run to the end of their ranges while the worker closes.
            self.client.register_plugin(_StopShards(), name="s3ferry-stop-shards")

    def submit(self, spec: ShardSpec, attempt: int) -> Future[ShardResult]:
        key = f"s3ferry-shard-{spec.number}-{attempt}"
        task = self.client.submit(run_shard, spec, attempt, self._sink, key=key, pure=False, retries=0)
        self._live[key] = task
        out: Future[ShardResult] = Future()

        def settle(done: Any) -> None:
            # Called on a Dask thread once the task ends (or its worker dies).
            try:  # a result that cannot be fetched in time counts as a lost worker: retried
                out.set_result(done.result(timeout=SHARD_RESULT_TIMEOUT))
            except BaseException as exc:  # noqa: BLE001 - KilledWorker, a shard's bug: the driver decides
                out.set_exception(exc)
            finally:
                self._live.pop(key, None)  # the result is ours now: a later worker loss cannot recompute it

        task.add_done_callback(settle)
        return out

    def close(self) -> None:
        """Cancel what is left, disconnect, stop the workers we started: each step bounded
        in time (a worker that does not stop is killed with its nanny when the driver exits)."""
        client = getattr(self, "client", None)
        try:
            if client is not None:
                client.cancel(list(self._live.values()))
                client.close(timeout=WORKER_STOP_TIMEOUT)
            if self._cluster is not None:
                self._cluster.close(timeout=WORKER_STOP_TIMEOUT * 2)
        except (TimeoutError, OSError) as exc:
            logging.getLogger(__name__).warning("the Dask cluster did not close cleanly: %s", exc)


def send_tick(tick: Tick) -> None:
    """On a Dask worker (a task's thread): one progress batch to the driver."""
    from distributed import get_worker

    get_worker().log_event(TICKS_TOPIC, list(tick))


class _StopShards(WorkerPlugin):  # type: ignore[misc,valid-type]
    """A Dask worker plugin: when the worker closes, its running shards are cancelled and
    given time to abort their multipart uploads (a task thread is not interrupted otherwise)."""

    idempotent = True

    async def teardown(self, worker: Any) -> None:
        import anyio

        await anyio.to_thread.run_sync(stop_running, WORKER_STOP_TIMEOUT)
