"""sync: make a destination (prefix or folder) equal to a source, streaming both listings
through a merge-join and starting transfers while listing is still going.

The decisions are sync_plan's; this module only carries them out.
"""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import anyio
from anyio import to_thread

from . import fileio
from .client import map_error
from .context import Context
from .download import RemoteObject, download_object, head
from .errors import ConfigError, S3FerryError, TransferError
from .etag import composite_etag, normalize, parse_etag
from .hashcache import HashCache
from .layout import remote_layout
from .locations import S3Location, safe_relative_path
from .planning import choose_part_size, part_count
from .results import Summary, TransferResult, Verdict
from .retry import with_retry
from .sync_plan import Action, Item, KeyFilter, Rule, Step, amerge_join, decide, resolve_compare
from .transfer import check_bucket, run_jobs
from .upload import upload_file
from .walk import list_remote, walk_local

TRASH_ROOT = ".s3ferry-trash/"
IGNORE_FILE = ".s3ferryignore"
HASH_BLOCK = 8 * 1024 * 1024


@dataclass
class SyncOptions:
    rule: Rule
    delete: bool = False
    trash: str | None = None  # prefix under the destination; None with delete: delete outright
    max_delete: int | None = None
    dry_run: bool = False
    keys: KeyFilter = field(default_factory=KeyFilter)
    cache: HashCache | None = None


@dataclass
class SyncStats:
    copied: int = 0
    skipped: int = 0
    deleted: int = 0
    hashed: int = 0
    planned_deletes: list[Step] = field(default_factory=list)


def default_trash() -> str:
    return f"{TRASH_ROOT}{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}/"


# ---- listings as Items -------------------------------------------------------------------

async def local_items(root: Path, keys: KeyFilter) -> AsyncIterator[Item]:
    entries = walk_local(root)
    while True:
        batch = await to_thread.run_sync(lambda: [e for _, e in zip(range(512), entries)])
        for entry in batch:
            if entry.relative != IGNORE_FILE and keys.allows(entry.relative):
                yield Item(entry.relative, entry.size, entry.mtime_ns / 1e9)
        if len(batch) < 512:
            return


async def remote_items(ctx: Context, where: S3Location, keys: KeyFilter) -> AsyncIterator[Item]:
    prefix = where.key
    async for entry in list_remote(ctx.client, ctx.config, where.bucket, prefix):
        relative = entry.key[len(prefix):]
        if not relative or relative.startswith(TRASH_ROOT) or relative.endswith("/") or not keys.allows(relative):
            continue
        stamp = entry.last_modified.timestamp() if isinstance(entry.last_modified, datetime) else 0.0
        yield Item(relative, entry.size, stamp, entry.etag)


def load_filter(root: Path | None, excludes: list[str], includes: list[str]) -> KeyFilter:
    text = ""
    if root is not None and (root / IGNORE_FILE).is_file():
        text = (root / IGNORE_FILE).read_text()
    return KeyFilter.parse_ignore_file(text, excludes=excludes, includes=includes)


# ---- content comparison -------------------------------------------------------------------

def hash_at(path: Path, part_size: int | None) -> str:
    """The ETag ``path`` would have uploaded whole (None) or in ``part_size`` parts."""
    digests, whole = [], hashlib.md5()
    with open(path, "rb", buffering=0) as handle:
        if part_size is None:
            while block := handle.read(HASH_BLOCK):
                whole.update(block)
            return whole.hexdigest()
        while block := handle.read(part_size):
            digests.append(hashlib.md5(block).digest())
    return composite_etag(digests or [hashlib.md5(b"").digest()])


async def local_etag(ctx: Context, path: Path, part_size: int | None, options: SyncOptions,
                     stats: SyncStats) -> str:
    info = await to_thread.run_sync(os.stat, path)
    cache_key = part_size or 0
    if options.cache is not None:
        cached = await to_thread.run_sync(options.cache.get, path, info, cache_key)
        if cached is not None:
            return cached
    async with ctx.slots:
        etag = await to_thread.run_sync(hash_at, path, part_size)
    stats.hashed += 1
    if options.cache is not None:
        await to_thread.run_sync(options.cache.put, path, info, cache_key, etag)
    return etag


async def same_content(ctx: Context, path: Path, remote: S3Location, remote_item: Item,
                       options: SyncOptions, stats: SyncStats) -> tuple[str | None, str | None]:
    """(local ETag at the remote's layout, remote ETag); a None means no comparable hash."""
    etag = parse_etag(remote_item.etag)
    if etag is None:
        return None, None
    if etag.parts is None:
        return await local_etag(ctx, path, None, options, stats), str(etag)
    # Our own uploads with today's settings: no request needed to know the layout.
    ours = choose_part_size(remote_item.size, ctx.config.part_size)
    if part_count(remote_item.size, ours) == etag.parts:
        local = await local_etag(ctx, path, ours, options, stats)
        if local == str(etag):
            return local, str(etag)
    obj = await head(ctx, remote)
    layout = await remote_layout(ctx, remote, obj.size, etag, obj.metadata or {})
    if not layout.known or layout.part_size is None:
        return None, str(etag)
    return await local_etag(ctx, path, layout.part_size, options, stats), str(etag)


# ---- carrying out steps -----------------------------------------------------------------

Job = Callable[[], Awaitable[TransferResult]]


def _skip_result(step: Step, source: str, dest: str) -> TransferResult:
    # Size 0: a skipped file moves no bytes, and the summary counts bytes moved.
    return TransferResult("skip", source, dest, 0,
                          verdict=Verdict.MATCH if step.reason == "same content" else Verdict.SKIPPED,
                          detail=step.reason)


async def sync(ctx: Context, source: str | Path | S3Location, dest: str | Path | S3Location,
               options: SyncOptions) -> tuple[Summary, SyncStats]:
    stats = SyncStats()
    summary = Summary("sync")
    if isinstance(source, Path) and isinstance(dest, S3Location):
        await check_bucket(ctx, dest.bucket)
        base = _as_prefix(dest)
        pairs = amerge_join(local_items(source, options.keys), remote_items(ctx, base, options.keys))
        jobs = _up_jobs(ctx, source, base, pairs, options, stats, summary)
    elif isinstance(source, S3Location) and isinstance(dest, Path):
        await check_bucket(ctx, source.bucket)
        base = _as_prefix(source)
        dest.mkdir(parents=True, exist_ok=True)
        pairs = amerge_join(remote_items(ctx, base, options.keys), local_items(dest, options.keys))
        jobs = _down_jobs(ctx, base, dest, pairs, options, stats, summary)
    else:
        raise ConfigError("sync needs one local folder and one s3:// prefix")
    await run_jobs(ctx, jobs, summary)
    await _deletes(ctx, dest, options, stats, summary)
    return summary, stats


def _as_prefix(loc: S3Location) -> S3Location:
    return loc if loc.is_prefix else S3Location(loc.bucket, loc.key + "/")


async def _up_jobs(ctx: Context, root: Path, base: S3Location, pairs: AsyncIterator[tuple[Item | None, Item | None]],
                   options: SyncOptions, stats: SyncStats, summary: Summary) -> AsyncIterator[Job]:
    async for local, remote in pairs:
        step = decide(local, remote, options.rule, delete=options.delete)
        key = base.child(step.key)
        if step.action is Action.DELETE:
            stats.planned_deletes.append(step)
            continue
        if step.action is Action.EXTRA:
            continue
        path = root / step.key
        yield _bind_step(ctx, step, options, stats,
                         compare=lambda s=step, p=path, k=key: same_content(ctx, p, k, s.dest, options, stats),
                         copy=lambda p=path, k=key: upload_file(ctx, p, k), source=str(path), dest=str(key),
                         local=path)


async def _down_jobs(ctx: Context, base: S3Location, root: Path,
                     pairs: AsyncIterator[tuple[Item | None, Item | None]], options: SyncOptions,
                     stats: SyncStats, summary: Summary) -> AsyncIterator[Job]:
    async for remote, local in pairs:
        step = decide(remote, local, options.rule, delete=options.delete)
        if step.action is Action.DELETE:
            stats.planned_deletes.append(step)
            continue
        if step.action is Action.EXTRA:
            continue
        key = base.child(step.key)
        try:
            path = root / safe_relative_path(key.key, base.key)
        except ConfigError as exc:
            error = TransferError("sync", str(key), str(root), exc)
            summary.add(TransferResult("sync", str(key), str(root), error=str(error), exit_code=error.exit_code))
            continue
        remote_item = step.source
        assert remote_item is not None
        known = RemoteObject(key, remote_item.size, remote_item.etag or "", None, None)
        yield _bind_step(ctx, step, options, stats,
                         compare=lambda p=path, k=key, r=remote_item: same_content(ctx, p, k, r, options, stats),
                         copy=lambda p=path, k=key, o=known: download_object(ctx, k, p, o),
                         source=str(key), dest=str(path), local=path)


def _bind_step(ctx: Context, step: Step, options: SyncOptions, stats: SyncStats, *,
               compare: Callable[[], Awaitable[tuple[str | None, str | None]]],
               copy: Callable[[], Awaitable[TransferResult]], source: str, dest: str, local: Path) -> Job:
    async def remember(result: TransferResult) -> None:
        await _remember(ctx, options, local, result)

    async def job() -> TransferResult:
        current = step
        started = time.monotonic()
        if current.action is Action.COMPARE:
            try:
                current = resolve_compare(current, *await compare())
            except Exception as exc:  # noqa: BLE001 - a failed comparison is that file's failure
                error = TransferError("sync", source, dest, map_error(exc))
                return _report(ctx, TransferResult("sync", source, dest, error=str(error), exit_code=error.exit_code,
                                                   seconds=time.monotonic() - started))
        if current.action is Action.SKIP:
            stats.skipped += 1
            return _report(ctx, _skip_result(current, source, dest))
        if options.dry_run:
            stats.copied += 1
            size = current.source.size if current.source else 0
            return _report(ctx, TransferResult("copy (dry run)", source, dest, 0, detail=f"{current.reason}, {size} bytes"))
        result = await copy()
        if result.ok:
            stats.copied += 1
            await remember(result)
        return result
    return job


def _report(ctx: Context, result: TransferResult) -> TransferResult:
    ctx.progress.finished(result)
    return result


async def _remember(ctx: Context, options: SyncOptions, path: Path, result: TransferResult) -> None:
    """Record the verified ETag of a file we just sent or fetched, so the next sync of an
    unchanged tree hashes nothing. Only layouts the next comparison will ask for are stored."""
    etag = parse_etag(result.etag)
    if options.cache is None or etag is None or result.verdict is not Verdict.MATCH:
        return
    if etag.parts is None:
        part_size: int | None = 0
    else:
        ours = choose_part_size(result.size, ctx.config.part_size)
        part_size = ours if part_count(result.size, ours) == etag.parts else None
    if part_size is not None:
        info = await to_thread.run_sync(os.stat, path)
        await to_thread.run_sync(options.cache.put, path, info, part_size, str(etag))


async def _deletes(ctx: Context, dest: Path | S3Location, options: SyncOptions, stats: SyncStats,
                   summary: Summary) -> None:
    planned = stats.planned_deletes
    if not planned:
        return
    if options.max_delete is not None and len(planned) > options.max_delete:
        error = S3FerryError(f"refusing to delete {len(planned)} objects (more than --max-delete {options.max_delete})")
        summary.add(TransferResult("delete", str(dest), "", error=str(error), exit_code=1))
        ctx.progress.finished(TransferResult("delete", str(dest), "", error=str(error)))
        return
    for step in planned:
        target = str(dest / step.key) if isinstance(dest, Path) else str(_as_prefix(dest).child(step.key))
        if options.dry_run:
            result = TransferResult("delete (dry run)", target, "", detail=step.reason)
        else:
            result = await _delete_one(ctx, dest, step, options, target)
            if result.ok:
                stats.deleted += 1
        if not result.ok:
            summary.add(result)
        ctx.progress.finished(result)


async def _delete_one(ctx: Context, dest: Path | S3Location, step: Step, options: SyncOptions,
                      target: str) -> TransferResult:
    try:
        if isinstance(dest, Path):
            await to_thread.run_sync(fileio.remove_quietly, dest / step.key)
            return TransferResult("delete", target, "")
        loc = _as_prefix(dest).child(step.key)
        if options.trash is None:
            await with_retry(ctx.config, lambda: ctx.client.delete_object(Bucket=loc.bucket, Key=loc.key))
            return TransferResult("delete", target, "")
        trashed = _as_prefix(dest).child(options.trash + step.key)
        await with_retry(ctx.config, lambda: ctx.client.copy_object(
            Bucket=trashed.bucket, Key=trashed.key, CopySource={"Bucket": loc.bucket, "Key": loc.key}))
        await with_retry(ctx.config, lambda: ctx.client.delete_object(Bucket=loc.bucket, Key=loc.key))
        return TransferResult("trash", target, str(trashed))
    except Exception as exc:  # noqa: BLE001
        error = TransferError("delete", target, "", map_error(exc))
        return TransferResult("delete", target, "", error=str(error), exit_code=error.exit_code)
