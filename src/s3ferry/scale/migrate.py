"""A migration on a cluster: cut shards, run them on an engine, write the report.

The front of scale/ that api.py calls. Only an engine of the kind asked for is imported, so
Dask stays an optional extra."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
from anyio import to_thread

from s3ferry.core.errors import ConfigError, LocalIOError, NotFoundError, S3FerryError
from s3ferry.core.locations import S3Location, is_s3_url, parse_s3_url
from s3ferry.core.objects import overlapping
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.shards import Cluster, KeyRange, Migration, ShardSpec
from s3ferry.core.sync_plan import KeyFilter
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import check_bucket
from s3ferry.ops.sync_guards import check_s3_source
from s3ferry.store.errors import map_error

from .cutting import at_least, count_items, cut_listing, cut_manifest, cut_tree, read_lines
from .runner import Engine, ShardDone, Ticks, drive


class NotATree(ConfigError):
    """put/get/cp with workers of what is one file or object: the one-process path serves it."""


class TooSmall(Exception):
    """Fewer items than were asked for before starting workers: the one-process path is cheaper."""


def open_engine(cluster: Cluster, engine: str = "dask", ticks: Ticks | None = None) -> Engine:
    """Blocking (a local cluster takes a second or two to start): call it on a thread.
    ``ticks`` is told (objects, bytes) as objects finish on the workers, batched."""
    if engine == "processes":
        from .local import LocalEngine

        return LocalEngine(cluster.workers, ticks)
    from .dask import DaskEngine

    return DaskEngine(cluster.address, cluster.workers, ticks)


def _prefix(text: str) -> S3Location:
    loc = parse_s3_url(text)
    return loc if loc.is_prefix else S3Location(loc.bucket, loc.key + "/")


async def shards(ctx: Context, job: Migration, workers: int, manifest: Path | None,
                 schema: str) -> AsyncIterator[ShardSpec]:
    """The shards of ``job``, cut while they are handed out."""
    number = 0
    if manifest is not None:
        for keys in cut_manifest(read_lines(manifest), schema, _prefix(job.source)):
            yield ShardSpec(number, job, KeyRange(), keys)
            number += 1
        return
    spans = cut_listing(ctx.store, _prefix(job.source), workers) if is_s3_url(job.source) else \
        cut_tree(Path(job.source), workers)
    async for span in spans:
        yield ShardSpec(number, job, span)
        number += 1


async def _check_sides(ctx: Context, source_ctx: Context | None, job: Migration, manifest: Path | None,
                       schema: str) -> None:
    """What the one-process command would refuse, refused before any worker starts. A local
    side must be a folder every worker sees at the same absolute path (a shared file system)."""
    for side, side_ctx in ((job.source, source_ctx or ctx), (job.destination, ctx)):
        if is_s3_url(side):
            await check_bucket(side_ctx, parse_s3_url(side).bucket)
        elif not Path(side).is_absolute():
            raise ConfigError(f"a local side of --cluster must be an absolute path, got {side}")
    if not (is_s3_url(job.source) or is_s3_url(job.destination)):
        raise ConfigError(f"{job.action} needs an s3:// prefix on at least one side")
    if not is_s3_url(job.source) and not Path(job.source).is_dir():
        if job.action == "put" and Path(job.source).exists():
            raise NotATree(f"put of one file ({job.source}) runs in one process: leave out --workers/--cluster")
        raise NotFoundError(f"no such folder: {job.source}")
    if job.action in ("get", "cp"):
        await _check_tree_source(source_ctx or ctx, job)
    if manifest is not None:
        if not (is_s3_url(job.source) and is_s3_url(job.destination)):
            raise ConfigError("a manifest names objects: it needs s3:// on both sides")
        # A bad line is found before any shard runs, not halfway through.
        await to_thread.run_sync(_check_manifest, manifest, schema, _prefix(job.source))


async def _check_tree_source(ctx: Context, job: Migration) -> None:
    """get/cp of a tree: the source names a prefix (one object keeps the one-process path),
    with objects in it for get (as get says of a mistyped prefix), not overlapping a cp's
    destination on the same endpoint."""
    source = parse_s3_url(job.source)
    if not source.is_prefix and await ctx.store.head_or_none(source) is not None:
        raise NotATree(f"{source} is one object: {job.action} of one object runs in one process: "
                       "leave out --workers/--cluster")
    base = _prefix(job.source)
    if job.action == "get" and not await at_least(ctx.store, base, 1):
        raise NotFoundError(f"nothing matched {base}: no objects under that prefix")
    if job.action == "cp" and job.source_config is None and overlapping(base, parse_s3_url(job.destination)):
        raise ConfigError(f"cp: the destination {job.destination} is inside the source {base}")


async def migrate(ctx: Context, source_ctx: Context | None, job: Migration, cluster: Cluster, *,
                  manifest: Path | None = None, schema: str = "Bucket, Key", engine: str = "dask",
                  on_result: ShardDone | None = None, report_path: Path | None = None,
                  ticks: Ticks | None = None, min_items: int = 0,
                  on_total: Callable[[int, int], None] | None = None,
                  allow_empty_source: bool = False) -> MigrationReport:
    """Run ``job`` sharded on ``cluster``. The driver checks both buckets with ``ctx`` (the
    destination's store) and ``source_ctx`` (the source's, when on another endpoint), and lists
    the source to cut it. The report is written to ``report_path`` whatever happens; then a
    driver error (a failed listing, an unreachable scheduler) is raised. With ``min_items``,
    a source of fewer files or objects raises TooSmall before any worker starts. ``on_total``
    is told how many items (and bytes) the shards will take, once a second pass over the
    source (as the one-process commands make for their bar) has counted them."""
    await _check_sides(ctx, source_ctx, job, manifest, schema)
    if job.delete and is_s3_url(job.source) and manifest is None:
        # As a one-process sync: an empty source prefix (a typo) would empty the destination.
        await check_s3_source(source_ctx or ctx, _prefix(job.source), KeyFilter(job.excludes, job.includes),
                              delete=True, allow_empty=allow_empty_source)
    if min_items and manifest is None:
        where = parse_s3_url(job.source) if is_s3_url(job.source) else Path(job.source)
        if not await at_least((source_ctx or ctx).store, _prefix(job.source) if is_s3_url(job.source) else where,
                              min_items):
            raise TooSmall(f"fewer than {min_items} items")
    report = MigrationReport(job.action, job.source, job.destination, str(cluster))
    runner = await to_thread.run_sync(open_engine, cluster, engine, ticks)
    try:
        with _written(report, report_path):
            try:
                spec_stream = shards(source_ctx or ctx, job, runner.workers, manifest, schema)
                counting = asyncio.create_task(_count(source_ctx or ctx, job, on_total)) \
                    if on_total is not None and manifest is None else None
                try:
                    await drive(runner, spec_stream, report, on_result)
                finally:
                    if counting is not None:
                        counting.cancel()
            except Exception as exc:  # noqa: BLE001 - the driver's listing: one error of our tree
                mapped = map_error(exc, what=job.source)
                raise mapped if isinstance(mapped, S3FerryError) else exc from None
    finally:
        with anyio.CancelScope(shield=True):  # on Ctrl-C too: stop the workers, close the cluster
            await to_thread.run_sync(runner.close)
    return report


async def _count(ctx: Context, job: Migration, on_total: Callable[[int, int], None]) -> None:
    try:
        on_total(*await count_items(ctx.store, job))
    except Exception:  # noqa: BLE001, S110 - only the bar's total; the shards report any failure
        pass


def _check_manifest(path: Path, schema: str, base: S3Location) -> None:
    try:
        for _ in cut_manifest(read_lines(path), schema, base):
            pass
    except FileNotFoundError:
        raise NotFoundError(f"no such manifest: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise LocalIOError(f"cannot read the manifest {path}: {exc}") from None


@contextmanager
def _written(report: MigrationReport, path: Path | None) -> Iterator[None]:
    try:
        yield
    except BaseException as exc:
        report.error = report.error or f"{type(exc).__name__}: {exc}"
        raise
    finally:
        if path is not None:
            path.write_text(report.to_json() + "\n")
