"""Which path a tree command takes: --cluster (Dask), --workers (local worker processes), or
this one process. Light on purpose (the commands import it for --help): the runs themselves
are cli/cluster.py's, imported only when one starts."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from s3ferry.cli import tuning
from s3ferry.cli.options import TransferOptions
from s3ferry.cli.running import guard, usage_error

if TYPE_CHECKING:
    from s3ferry.core.shards import WorkerCount

api = tuning.lazy_import("s3ferry.api")
shards = tuning.lazy_import("s3ferry.core.shards")  # its dataclasses cost ~3 ms of a one-process start
cluster_cli = tuning.lazy_import("s3ferry.cli.cluster")

# --workers when it is not given. "1" keeps every command in this one process: on the
# 2-core machine measured (benchmarks/bench_scaleout.py) worker processes did not pay for
# themselves; "auto" would start one per core for trees of AUTO_WORKERS_MIN_ITEMS or more.
DEFAULT_WORKERS = "1"


def workers_given(text: str | None, cluster: str | None) -> WorkerCount | None:
    """The parsed --workers (None: run in this process), refusing it next to --cluster."""
    if text is not None and cluster is not None:
        usage_error("--workers and --cluster: choose one (--cluster brings its own workers)")
    text = DEFAULT_WORKERS if text is None else text
    if text == "1":
        return None
    workers = guard(lambda: shards.parse_workers(text))
    return None if workers.count == 1 else workers


def not_a_tree(flag_text: str | None, cluster: str | None, why: str) -> None:
    """One file (or stdin, a URL...): --workers/--cluster given by the user is refused."""
    if cluster is not None:
        usage_error(f"--cluster {why}")
    if flag_text is not None and guard(lambda: shards.parse_workers(flag_text)).count != 1:
        usage_error(f"--workers {why}")


def route(action: str, source: str, destination: str, opts: TransferOptions, *, workers_text: str | None,
          cluster: str | None, one_process: Callable[[], None], **options: Any) -> None:
    """Run ``action`` of a tree on --cluster or --workers, or call ``one_process``."""
    workers = workers_given(workers_text, cluster)
    if cluster is not None:
        cluster_cli.run_migration(api, source, destination, report_path=options.pop("report_path", None),
                                  quiet=opts.quiet, as_json=opts.json_lines, cluster=cluster, action=action,
                                  **options)
    if workers is None:
        one_process()
        return
    cluster_cli.run_workers(api, action, source, destination, workers, one_process=one_process, quiet=opts.quiet,
                            as_json=opts.json_lines, **options)
