"""sync (local <-> S3, S3 -> S3) and migrate (the same sync sharded over a cluster)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from s3ferry.api.session import (
    config_for_source,
    open_context,
    source_context,
)
from s3ferry.core.config import Config
from s3ferry.core.deletes import DEFAULT_MAX_DELETE, DeleteLimit
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import S3Location, is_s3_url, parse_s3_url, trash_folder
from s3ferry.core.manifests import INVENTORY_SCHEMA
from s3ferry.core.results import Progress, Summary
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.shards import Migration, parse_cluster
from s3ferry.core.sync_plan import RULES
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.sync import SyncOptions, default_trash, load_filter
from s3ferry.ops.sync import sync as sync_trees
from s3ferry.scale.migrate import migrate as run_migration
from s3ferry.scale.runner import ShardDone, Ticks


@dataclass(frozen=True)
class SyncReport:
    """What a sync did: the transfer summary plus the sync counters."""

    summary: Summary
    copied: int
    skipped: int
    deleted: int
    hashed: int

    @property
    def ok(self) -> bool:
        return self.summary.ok


def _sync_side(text: str | Path) -> Path | S3Location:
    return parse_s3_url(str(text)) if is_s3_url(str(text)) else Path(text)


async def sync(source: str | Path, destination: str | Path, *, config: Config | None = None,
               progress: Progress | None = None, rule: str = "content", delete: bool = False,
               trash: str | None = "default", max_delete: int | str | None = DEFAULT_MAX_DELETE,
               dry_run: bool = False, excludes: Sequence[str] = (), includes: Sequence[str] = (),
               cache_path: Path | None = None, source_endpoint_url: str | None = None,
               source_profile: str | None = None, force: bool = False,
               allow_empty_source: bool = False) -> SyncReport:
    """Make ``destination`` equal to ``source``: a local folder and an s3:// prefix either way,
    or two s3:// prefixes (server-side copies; streamed through this process when the source
    is on ``source_endpoint_url`` or read with ``source_profile``).

    ``rule``: "content" (default: same size is compared by ETag), "size-only" or "mtime".
    With ``delete``, extra remote objects move under ``trash`` (a prefix below the destination;
    "default" is ``.s3ferry-trash/<timestamp>/``, None deletes outright); extra local files are
    removed. ``max_delete`` refuses to delete more than that many ("100"), or more than that
    share of what the destination holds ("50%", the default; None: no limit); ``force``
    deletes past it. With ``delete``, an S3 source with no objects is refused (a mistyped
    prefix would empty the destination) unless ``allow_empty_source``."""
    if rule not in RULES:
        raise ConfigError(f"unknown sync rule {rule!r}: choose {', '.join(RULES)}")
    src, dst = _sync_side(source), _sync_side(destination)
    keys = load_filter(src if isinstance(src, Path) else None, list(excludes), list(includes))
    options = SyncOptions(rule=RULES[rule], delete=delete, trash=default_trash() if trash == "default" else
                          trash_folder(trash),
                          max_delete=DeleteLimit.parse(max_delete), dry_run=dry_run, keys=keys, force=force,
                          allow_empty_source=allow_empty_source)
    config = config or Config()
    source_config = config_for_source(config, source_endpoint_url, source_profile)
    async with open_context(config, progress) as ctx, source_context(ctx, source_config) as src_ctx:
        with HashCache(cache_path) as cache:
            options.cache = cache
            summary, stats = await sync_trees(ctx, src, dst, options, src_ctx)
    summary.counters.update(copied=stats.copied, skipped=stats.skipped, deleted=stats.deleted, hashed=stats.hashed)
    if dry_run:  # what would have been done, named as such (copied/deleted stay 0)
        summary.counters.update(would_copy=stats.would_copy, would_delete=stats.would_delete)
    return SyncReport(summary, stats.copied, stats.skipped, stats.deleted, stats.hashed)


async def migrate(source: str, destination: str, *, cluster: str, config: Config | None = None,
                  rule: str = "content", delete: bool = False, trash: str | None = "default",
                  dry_run: bool = False, excludes: Sequence[str] = (), includes: Sequence[str] = (),
                  source_endpoint_url: str | None = None, source_profile: str | None = None,
                  manifest: Path | None = None, manifest_schema: str = INVENTORY_SCHEMA,
                  report_path: Path | None = None, on_shard: ShardDone | None = None,
                  engine: str = "dask", action: str = "sync", ticks: Ticks | None = None,
                  min_items: int = 0, on_total: Callable[[int, int], None] | None = None,
                  allow_empty_source: bool = False) -> MigrationReport:
    """``sync`` sharded over ``cluster`` ("local:N" or "tcp://host:port"): each shard, a key
    range (or the keys of a ``manifest`` chunk), is a sync of its own on a worker, retried when
    its worker is lost. A local folder must be at the same path on every worker (a shared file
    system); a manifest needs s3:// on both sides. Returns the migration report (also written
    to ``report_path``); ``report.exit_code`` is sync's. ``engine="processes"`` runs the same
    shards on local worker processes without Dask.

    ``action`` "put", "get" or "cp": the tree command instead of sync; every source item is
    copied to where the one-process command puts it (no skip rule, no deletes, no filters).
    ``ticks`` is called (on any thread) with (shard, attempt, objects, bytes) batches as
    objects finish. ``min_items``: raise scale.migrate.TooSmall, before any worker starts,
    when the source holds fewer files or objects (the one-process path is cheaper).
    ``on_total`` is told how many items (and bytes) the shards will take, once counted."""
    if rule not in RULES:
        raise ConfigError(f"unknown sync rule {rule!r}: choose {', '.join(RULES)}")
    where = parse_cluster(cluster)
    config = config or Config()
    # Workers may run elsewhere on a shared file system: a local side goes as an absolute path.
    source, destination = (str(t) if is_s3_url(str(t)) else str(Path(t).resolve()) for t in (source, destination))
    tree = action != "sync"
    job = Migration(source, destination, config, config_for_source(config, source_endpoint_url, source_profile),
                    "all" if tree else rule, delete, None if tree else default_trash() if trash == "default"
                    else trash, dry_run, tuple(excludes), tuple(includes), action)
    async with open_context(config, None) as ctx, source_context(ctx, job.source_config) as src_ctx:
        return await run_migration(ctx, src_ctx, job, where, manifest=manifest, schema=manifest_schema,
                                   engine=engine, on_result=on_shard, report_path=report_path, ticks=ticks,
                                   min_items=min_items, on_total=on_total, allow_empty_source=allow_empty_source)
