"""The public async API: one function per operation, keyword-only options, typed results."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path

from s3ferry.core.config import Config
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import S3Location, is_s3_url, parse_s3_url
from s3ferry.core.results import NoProgress, Progress, Summary
from s3ferry.core.sync_plan import RULES
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.context import Context
from s3ferry.ops.sync import SyncOptions, default_trash, load_filter
from s3ferry.ops.sync import sync as sync_trees
from s3ferry.ops.trees import get_path, put_path
from s3ferry.ops.uploads import IncompleteUpload, install_lifecycle_rule, list_incomplete
from s3ferry.ops.uploads import abort as abort_upload_id
from s3ferry.ops.verify import verify_path
from s3ferry.store.errors import map_error
from s3ferry.store.s3 import open_store


@asynccontextmanager
async def _context(config: Config | None, progress: Progress | None) -> AsyncIterator[Context]:
    config = config or Config()
    try:
        async with open_store(config) as store:
            yield Context(store, config, progress or NoProgress())
    except Exception as exc:  # noqa: BLE001 - our tree out, whatever botocore raised
        raise map_error(exc) from exc


async def put(source: str | Path, destination: str, *, config: Config | None = None,
              progress: Progress | None = None) -> Summary:
    """Upload a file, or a folder recursively, to ``s3://bucket/key`` (or ``.../prefix/``)."""
    if is_s3_url(str(source)):
        raise ConfigError(f"put takes a local source, got {source} (use get or sync)")
    dest = parse_s3_url(destination)
    async with _context(config, progress) as ctx:
        return await put_path(ctx, Path(source), dest)


async def get(source: str, destination: str | Path, *, config: Config | None = None,
              progress: Progress | None = None) -> Summary:
    """Download an object, or a prefix recursively, to a local file or folder."""
    if is_s3_url(str(destination)):
        raise ConfigError(f"get takes a local destination, got {destination} (use put or sync)")
    src = parse_s3_url(source)
    async with _context(config, progress) as ctx:
        return await get_path(ctx, src, Path(destination))


async def verify(source: str | Path, destination: str, *, config: Config | None = None,
                 progress: Progress | None = None) -> Summary:
    """Check a local file (or folder, recursively) against ``s3://bucket/key`` (or a prefix).

    Every pair gets one verdict (match, mismatch, missing-local, missing-remote, unverifiable);
    ``summary.exit_code`` is 0 only when every pair matches, 3 when any pair mismatches or
    cannot be verified, else 4 when any side is missing.
    """
    if is_s3_url(str(source)):
        raise ConfigError(f"verify takes a local file or folder first, got {source}")
    remote = parse_s3_url(destination)
    async with _context(config, progress) as ctx:
        return await verify_path(ctx, Path(source), remote)


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
               trash: str | None = "default", max_delete: int | None = None, dry_run: bool = False,
               excludes: Sequence[str] = (), includes: Sequence[str] = (),
               cache_path: Path | None = None, source_endpoint_url: str | None = None,
               source_profile: str | None = None) -> SyncReport:
    """Make ``destination`` equal to ``source``: a local folder and an s3:// prefix either way,
    or two s3:// prefixes (server-side copies; streamed through this process when the source
    is on ``source_endpoint_url`` or read with ``source_profile``).

    ``rule``: "content" (default: same size is compared by ETag), "size-only" or "mtime".
    With ``delete``, extra remote objects move under ``trash`` (a prefix below the destination;
    "default" is ``.s3ferry-trash/<timestamp>/``, None deletes outright); extra local files are
    removed. ``max_delete`` refuses to delete more than that many."""
    if rule not in RULES:
        raise ConfigError(f"unknown sync rule {rule!r}: choose {', '.join(RULES)}")
    src, dst = _sync_side(source), _sync_side(destination)
    keys = load_filter(src if isinstance(src, Path) else None, list(excludes), list(includes))
    options = SyncOptions(rule=RULES[rule], delete=delete, trash=default_trash() if trash == "default" else trash,
                          max_delete=max_delete, dry_run=dry_run, keys=keys)
    config = config or Config()
    source_config = _source_config(config, source_endpoint_url, source_profile)
    async with _context(config, progress) as ctx, _source_context(ctx, source_config) as src_ctx:
        with HashCache(cache_path) as cache:
            options.cache = cache
            summary, stats = await sync_trees(ctx, src, dst, options, src_ctx)
    summary.counters.update(copied=stats.copied, skipped=stats.skipped, deleted=stats.deleted, hashed=stats.hashed)
    return SyncReport(summary, stats.copied, stats.skipped, stats.deleted, stats.hashed)


def _source_config(config: Config, endpoint_url: str | None, profile: str | None) -> Config | None:
    """The source's config when it differs from the destination's (another endpoint or
    profile); None when both sides are one endpoint, which allows server-side copies."""
    endpoint_url = endpoint_url or config.endpoint_url
    profile = profile or config.profile
    if (endpoint_url, profile) == (config.endpoint_url, config.profile):
        return None
    return config.replace(endpoint_url=endpoint_url, profile=profile)


@asynccontextmanager
async def _source_context(ctx: Context, config: Config | None) -> AsyncIterator[Context | None]:
    if config is None:
        yield None
        return
    try:
        async with open_store(config) as store:
            # One limit across both stores: parts in flight stay bounded by the concurrency.
            yield Context(store, config, ctx.progress, ctx.slots, ctx.buffers)
    except Exception as exc:  # noqa: BLE001
        raise map_error(exc) from exc


async def list_uploads(where: str, *, older_than: timedelta | None = None,
                       config: Config | None = None) -> list[IncompleteUpload]:
    """Incomplete multipart uploads under ``s3://bucket[/prefix]`` (optionally only old ones)."""
    loc = parse_s3_url(where)
    async with _context(config, None) as ctx:
        return [u async for u in list_incomplete(ctx, loc, older_than)]


async def abort_uploads(where: str, *, older_than: timedelta | None = None,
                        config: Config | None = None) -> list[IncompleteUpload]:
    """Abort the incomplete multipart uploads under ``s3://bucket[/prefix]``; returns them."""
    loc = parse_s3_url(where)
    async with _context(config, None) as ctx:
        found = [u async for u in list_incomplete(ctx, loc, older_than)]
        for upload in found:
            await abort_upload_id(ctx, upload)
        return found


async def add_abort_rule(bucket: str, *, days: int = 7, config: Config | None = None) -> None:
    """Install the bucket lifecycle rule AbortIncompleteMultipartUpload after ``days``."""
    loc = parse_s3_url(bucket)
    async with _context(config, None) as ctx:
        await install_lifecycle_rule(ctx, loc.bucket, days)
