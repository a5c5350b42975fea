"""The public async API: one function per operation, keyword-only options, typed results."""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import BinaryIO

from s3ferry.core.config import TEAM_MAX_DELETE, TEAM_WAIT, Config
from s3ferry.core.deletes import DEFAULT_MAX_DELETE, DeleteLimit
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import S3Location, is_s3_url, parse_s3_url, trash_folder
from s3ferry.core.manifests import INVENTORY_SCHEMA
from s3ferry.core.objects import DuTotals, Entry
from s3ferry.core.presign import Manifest, is_http_url, parse_manifest
from s3ferry.core.results import NoProgress, Progress, Summary, TransferResult
from s3ferry.core.shard_report import MigrationReport
from s3ferry.core.shards import Migration, parse_cluster
from s3ferry.core.sync_plan import RULES
from s3ferry.local.hashcache import HashCache
from s3ferry.local.streams import InputStream, OutputStream
from s3ferry.ops import move as moving
from s3ferry.ops import objects, remove
from s3ferry.ops import presign as presigning
from s3ferry.ops.context import Context
from s3ferry.ops.copy import Endpoints
from s3ferry.ops.jobs import run_jobs, single_job
from s3ferry.ops.presign import URLContext
from s3ferry.ops.presigned_get import get_url
from s3ferry.ops.put import upload_file
from s3ferry.ops.stream import cat_object, put_stream
from s3ferry.ops.sync import SyncOptions, default_trash, load_filter
from s3ferry.ops.sync import sync as sync_trees
from s3ferry.ops.trees import get_path, put_path
from s3ferry.ops.unchanged import upload_if_changed
from s3ferry.ops.uploads import IncompleteUpload, install_lifecycle_rule, list_incomplete
from s3ferry.ops.uploads import abort as abort_upload_id
from s3ferry.ops.verify import verify_path
from s3ferry.ops.teamsync import TeamOptions, team_filter
from s3ferry.ops.teamsync import team_sync as team_sync_tree
from s3ferry.ops.teamsync_reset import reset as reset_team_state
from s3ferry.scale.migrate import migrate as run_migration
from s3ferry.scale.runner import ShardDone
from s3ferry.store.errors import map_error
from s3ferry.store.presigned import open_presigned
from s3ferry.store.profiles import profile_values
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
              progress: Progress | None = None, skip_unchanged: bool = False,
              cache_path: Path | None = None) -> Summary:
    """Upload a file, or a folder recursively, to ``s3://bucket/key`` (or ``.../prefix/``).
    ``skip_unchanged``: a file whose object already holds the same bytes (verify's judgement,
    any part layout) is not sent. Each file put and verified goes into the hash cache
    (``cache_path``, default the user's cache folder), so a sync right after it hashes nothing."""
    if is_s3_url(str(source)):
        raise ConfigError(f"put takes a local source, got {source} (use get or sync)")
    dest = parse_s3_url(destination)
    async with _context(config, progress) as ctx:
        with HashCache(cache_path) as cache:
            return await put_path(ctx, Path(source), dest, cache,
                                  upload=upload_if_changed if skip_unchanged else upload_file)


async def get(source: str, destination: str | Path, *, config: Config | None = None,
              progress: Progress | None = None, cache_path: Path | None = None) -> Summary:
    """Download an object, or a prefix recursively, to a local file or folder (a destination
    ending in "/" is a folder). Verified files go into the hash cache, as for :func:`put`."""
    if is_s3_url(str(destination)):
        raise ConfigError(f"get takes a local destination, got {destination} (use put or sync)")
    src = parse_s3_url(source)
    # A trailing slash means a folder, as in aws-cli; Path() would drop it.
    into_folder = str(destination).endswith(("/", os.sep))
    async with _context(config, progress) as ctx:
        with HashCache(cache_path) as cache:
            return await get_path(ctx, src, Path(destination), into_folder=into_folder, cache=cache)


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
    source_config = _source_config(config, source_endpoint_url, source_profile)
    async with _context(config, progress) as ctx, _source_context(ctx, source_config) as src_ctx:
        with HashCache(cache_path) as cache:
            options.cache = cache
            summary, stats = await sync_trees(ctx, src, dst, options, src_ctx)
    summary.counters.update(copied=stats.copied, skipped=stats.skipped, deleted=stats.deleted, hashed=stats.hashed)
    if dry_run:  # what would have been done, named as such (copied/deleted stay 0)
        summary.counters.update(would_copy=stats.would_copy, would_delete=stats.would_delete)
    return SyncReport(summary, stats.copied, stats.skipped, stats.deleted, stats.hashed)


async def team_sync(local: str | Path, remote: str, *, user: str | None = None, config: Config | None = None,
                    progress: Progress | None = None, dry_run: bool = False, yes: bool = False,
                    confirm: Callable[[int, int], bool] | None = None, max_delete: float = TEAM_MAX_DELETE,
                    wait: float = TEAM_WAIT, excludes: Sequence[str] = (), includes: Sequence[str] = (),
                    cache_path: Path | None = None) -> Summary:
    """Two-way sync of a local folder with an s3:// prefix shared by a team: each side's
    creations, edits and deletions since this member's last sync go to the other side; a file
    both sides changed differently is kept twice (``name.conflict-USER-DATE.ext``). Several
    members may run it at once (they take turns through a lease under the prefix).

    ``user`` (default: $S3FERRY_USER, else the OS user) is recorded with every change.
    Deletions run only with ``yes`` or when ``confirm(local_count, remote_count)`` says so;
    ``max_delete`` refuses deletions above that percent of a side's files. ``wait``: seconds
    to wait for another member's run. ``summary.counters`` tells what went each way."""
    root, where = _team_sides(local, remote)
    options = TeamOptions(user=user or default_user(), keys=team_filter(root, list(excludes), list(includes)),
                          dry_run=dry_run, max_delete=max_delete, yes=yes, confirm=confirm, wait=wait)
    async with _context(config, progress) as ctx:
        with HashCache(cache_path) as cache:
            options.cache = cache
            return await team_sync_tree(ctx, root, where, options)


async def team_reset(local: str | Path, remote: str, *, user: str | None = None, config: Config | None = None,
                     wait: float = TEAM_WAIT) -> list[str]:
    """Remove team sync's state in the folder and under the prefix (not the data, the local
    trash or the remote deleted area); returns what was removed. Ask the person first."""
    root, where = _team_sides(local, remote)
    async with _context(config, None) as ctx:
        return await reset_team_state(ctx, root, where, user or default_user(), wait)


def _team_sides(local: str | Path, remote: str) -> tuple[Path, S3Location]:
    if is_s3_url(str(local)) or not is_s3_url(str(remote)):
        raise ConfigError(f"team sync takes a local folder, then an s3:// prefix; got {local} {remote}")
    root = Path(local)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"not a folder: {root}")
    return root, parse_s3_url(remote)


def default_user() -> str:
    return os.environ.get("S3FERRY_USER") or getpass.getuser()


async def migrate(source: str, destination: str, *, cluster: str, config: Config | None = None,
                  rule: str = "content", delete: bool = False, trash: str | None = "default",
                  dry_run: bool = False, excludes: Sequence[str] = (), includes: Sequence[str] = (),
                  source_endpoint_url: str | None = None, source_profile: str | None = None,
                  manifest: Path | None = None, manifest_schema: str = INVENTORY_SCHEMA,
                  report_path: Path | None = None, on_shard: ShardDone | None = None,
                  engine: str = "dask") -> MigrationReport:
    """``sync`` sharded over ``cluster`` ("local:N" or "tcp://host:port"): each shard, a key
    range (or the keys of a ``manifest`` chunk), is a sync of its own on a worker, retried when
    its worker is lost. A local folder must be at the same path on every worker (a shared file
    system); a manifest needs s3:// on both sides. Returns the migration report (also written
    to ``report_path``); ``report.exit_code`` is sync's. ``engine="processes"`` runs the same
    shards on local worker processes without Dask."""
    if rule not in RULES:
        raise ConfigError(f"unknown sync rule {rule!r}: choose {', '.join(RULES)}")
    where = parse_cluster(cluster)
    config = config or Config()
    # Workers may run elsewhere on a shared file system: a local side goes as an absolute path.
    source, destination = (str(t) if is_s3_url(str(t)) else str(Path(t).resolve()) for t in (source, destination))
    job = Migration(source, destination, config, _source_config(config, source_endpoint_url, source_profile),
                    rule, delete, default_trash() if trash == "default" else trash, dry_run, tuple(excludes),
                    tuple(includes))
    async with _context(config, None) as ctx, _source_context(ctx, job.source_config) as src_ctx:
        return await run_migration(ctx, src_ctx, job, where, manifest=manifest, schema=manifest_schema,
                                   engine=engine, on_result=on_shard, report_path=report_path)


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
    """Abort the incomplete multipart uploads of exactly ``s3://bucket/key``, or of every key
    under ``s3://bucket/prefix/`` (or the whole bucket); returns them. A key is not a prefix:
    aborting ``K`` leaves ``K.bak`` and ``K/x`` alone."""
    loc = parse_s3_url(where)
    async with _context(config, None) as ctx:
        found = [u async for u in list_incomplete(ctx, loc, older_than) if loc.is_prefix or u.key == loc.key]
        for upload in found:
            await abort_upload_id(ctx, upload)
        return found


async def add_abort_rule(bucket: str, *, days: int = 7, config: Config | None = None) -> None:
    """Install the bucket lifecycle rule AbortIncompleteMultipartUpload after ``days``."""
    loc = parse_s3_url(bucket)
    async with _context(config, None) as ctx:
        await install_lifecycle_rule(ctx, loc.bucket, days)


# ---- objects: ls, du, stat, rm ---------------------------------------------------------

async def ls(where: str | None = None, *, recursive: bool = False, config: Config | None = None
             ) -> AsyncIterator[Entry]:
    """The buckets (``where`` None), or the objects under ``s3://bucket/prefix`` (and, unless
    ``recursive``, the prefixes one level down), streamed a page at a time."""
    loc = parse_s3_url(where) if where else None
    async with _context(config, None) as ctx:
        if loc is None:
            for entry in await objects.list_buckets(ctx):
                yield entry
            return
        async for entry in objects.list_entries(ctx, loc, recursive=recursive):
            yield entry


async def du(where: str, *, config: Config | None = None) -> AsyncIterator[DuTotals]:
    """Object count and bytes per first-level prefix under ``where``, then the total."""
    loc = parse_s3_url(where)
    async with _context(config, None) as ctx:
        async for totals in objects.disk_usage(ctx, loc):
            yield totals


async def stat(where: str, *, config: Config | None = None) -> dict[str, object]:
    """Everything the store says of one object, and the part layout verify would use."""
    loc = parse_s3_url(where)
    async with _context(config, None) as ctx:
        return await objects.stat_object(ctx, loc)


async def count_objects(where: str, *, config: Config | None = None) -> int:
    async with _context(config, None) as ctx:
        return await remove.count_prefix(ctx, parse_s3_url(where))


async def rm(where: str, *, recursive: bool = False, dry_run: bool = False,
             config: Config | None = None) -> remove.Removal:
    """Delete one object, or (``recursive``) every object under a prefix, 1,000 a request."""
    loc = parse_s3_url(where)
    async with _context(config, None) as ctx:
        if recursive:
            return await remove.remove_prefix(ctx, loc, dry_run=dry_run)
        return await remove.remove_object(ctx, loc, dry_run=dry_run)


# ---- streams ----------------------------------------------------------------------------

async def put_stdin(destination: str, *, source: BinaryIO, expected_size: int | None = None,
                    config: Config | None = None, progress: Progress | None = None) -> Summary:
    """Upload a stream of unknown length (stdin) to ``s3://bucket/key`` as it arrives."""
    dest = parse_s3_url(destination)
    stream = InputStream(source)
    try:
        async with _context(config, progress) as ctx:
            return await run_jobs(ctx, single_job(lambda: put_stream(ctx, stream, dest, expected_size=expected_size)),
                                  Summary("put"))
    finally:
        stream.close()


async def cat(source: str, *, out: BinaryIO, config: Config | None = None,
              progress: Progress | None = None) -> Summary:
    """Write an object to ``out`` (stdout) in order; its ETag is checked at the end."""
    loc = parse_s3_url(source)
    stream = OutputStream(out)
    try:
        async with _context(config, progress) as ctx:
            return await run_jobs(ctx, single_job(lambda: cat_object(ctx, loc, stream)), Summary("cat"))
    finally:
        await stream.close()


# ---- cp, mv -----------------------------------------------------------------------------

async def cp(source: str, destination: str, *, recursive: bool = False, config: Config | None = None,
             progress: Progress | None = None, source_endpoint_url: str | None = None,
             source_profile: str | None = None) -> Summary:
    """Copy objects between keys, buckets or endpoints; the copy keeps the source's part layout,
    so its ETag is the source's, and that equality is the verification."""
    return await _copy(source, destination, recursive, False, config, progress, source_endpoint_url, source_profile)


async def mv(source: str | Path, destination: str | Path, *, recursive: bool = False,
             config: Config | None = None, progress: Progress | None = None,
             source_endpoint_url: str | None = None, source_profile: str | None = None) -> Summary:
    """Copy (or put, or get), verify, then delete the source; a source whose copy did not
    verify is kept. S3 -> S3, local -> S3 or S3 -> local."""
    up, down = not is_s3_url(str(source)), not is_s3_url(str(destination))
    if up and down:
        raise ConfigError(f"mv needs an s3:// side, got {source} and {destination}")
    if up or down:
        async with _context(config, progress) as ctx:
            if up:
                return await moving.move_up(ctx, Path(source), parse_s3_url(str(destination)))
            return await moving.move_down(ctx, parse_s3_url(str(source)), Path(destination), recursive=recursive)
    return await _copy(str(source), str(destination), recursive, True, config, progress, source_endpoint_url,
                       source_profile)


async def _copy(source: str, destination: str, recursive: bool, move: bool, config: Config | None,
                progress: Progress | None, source_endpoint_url: str | None, source_profile: str | None) -> Summary:
    src, dst = parse_s3_url(source), parse_s3_url(destination)
    config = config or Config()
    source_config = _source_config(config, source_endpoint_url, source_profile)
    async with _context(config, progress) as ctx, _source_context(ctx, source_config) as src_ctx:
        return await moving.copy_path(Endpoints(src_ctx or ctx, ctx), src, dst, recursive=recursive, move=move)


# ---- presigned transfers ----------------------------------------------------------------

async def presign(where: str, *, put: bool = False, expires: int = 3600, content_type: str | None = None,
                  config: Config | None = None) -> str:
    """A presigned GET (or PUT) URL for ``s3://bucket/key``, valid ``expires`` seconds."""
    loc = parse_s3_url(where)
    async with _context(config, None) as ctx:
        return await presigning.presign_url(ctx, loc, put=put, expires=expires, content_type=content_type)


async def presign_multipart(where: str, *, size: int, expires: int = 3600, config: Config | None = None) -> Manifest:
    """Start a multipart upload of ``size`` bytes (parts of ``config.part_size``) and return the
    manifest that lets someone without credentials upload, complete or abort it."""
    loc = parse_s3_url(where)
    async with _context(config, None) as ctx:
        return await presigning.presign_multipart(ctx, loc, size=size, expires=expires)


async def put_presigned(source: str | Path, target: str, *, config: Config | None = None,
                        progress: Progress | None = None) -> Summary:
    """Upload a file through a presigned PUT URL, or a manifest (its JSON text or a path to
    it), with no credentials at all."""
    config = config or Config()
    manifest = None if is_http_url(target) else parse_manifest(_read_manifest(target), target)
    content_type = config.object_options.content_type
    async with _url_context(config, progress) as ctx:
        def job() -> Awaitable[TransferResult]:
            if manifest is not None:
                return presigning.put_manifest(ctx, Path(source), manifest)
            return presigning.put_url(ctx, Path(source), target, content_type)
        return await _one(ctx, job)


async def get_presigned(url: str, destination: str | Path, *, config: Config | None = None,
                        progress: Progress | None = None) -> Summary:
    """Download a presigned GET URL in parallel ranges and verify it by its ETag."""
    async with _url_context(config or Config(), progress) as ctx:
        return await _one(ctx, lambda: get_url(ctx, url, Path(destination)))


def _read_manifest(target: str) -> str:
    if target.lstrip().startswith("{"):
        return target
    try:
        return Path(target).read_text()
    except OSError as exc:
        raise map_error(exc) from None


@asynccontextmanager
async def _url_context(config: Config, progress: Progress | None) -> AsyncIterator[URLContext]:
    try:
        async with open_presigned(config) as http:
            yield URLContext(http, config, progress or NoProgress())
    except Exception as exc:  # noqa: BLE001
        raise map_error(exc) from exc


async def _one(ctx: URLContext, job: Callable[[], Awaitable[TransferResult]]) -> Summary:
    started, summary = time.monotonic(), Summary("put")
    result = await job()
    summary.op = result.op
    summary.add(result)
    summary.seconds = time.monotonic() - started
    return summary


def aws_profile(name: str | None) -> dict[str, str]:
    """The AWS profile's keys as botocore reads them (``config show``); nothing is sent."""
    return profile_values(name)
