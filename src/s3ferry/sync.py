"""sync: make a destination (prefix or folder) equal to a source, streaming both listings
through a merge-join and starting transfers while listing is still going.

The decisions are sync_plan's; this module only carries them out.
"""

from __future__ import annotations

import os
import time
from functools import partial
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

from anyio import to_thread

from . import fileio
from .client import map_error
from .config import IGNORE_FILE, TRASH_ROOT
from .context import Context
from .download import RemoteObject, download_object
from .errors import ConfigError, S3FerryError, TransferError
from .etag import parse_etag
from .hashcache import HashCache
from .locations import S3Location, safe_relative_path
from .results import Summary, TransferResult, Verdict
from .retry import with_retry
from .sync_plan import Action, Item, KeyFilter, Rule, Step, amerge_join, decide, resolve_compare
from .transfer import Job, check_bucket, refuse_key, run_jobs
from .upload import upload_file
from .verify import Verifier
from .walk import local_items, remote_items



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


def load_filter(root: Path | None, excludes: list[str], includes: list[str]) -> KeyFilter:
    """The user's globs plus the source root's ignore file, which is itself never synced."""
    text = ""
    if root is not None and (root / IGNORE_FILE).is_file():
        text = (root / IGNORE_FILE).read_text()
    return KeyFilter.parse_ignore_file(text, excludes=[*excludes, IGNORE_FILE], includes=includes)


# ---- content comparison -------------------------------------------------------------------

class ContentJudge:
    """Do a local file and an object of the same size hold the same bytes? The hash cache
    answers for files already seen unchanged; otherwise verify's comparison does (layout from
    metadata, part 1 or guessing), and a match is remembered."""

    def __init__(self, ctx: Context, cache: HashCache | None):
        self.verifier = Verifier(ctx)
        self.cache = cache

    @property
    def hashed(self) -> int:
        return self.verifier.hashed

    async def same(self, path: Path, loc: S3Location, item: Item) -> bool | None:
        """True or False; None when there is no comparable hash."""
        etag = parse_etag(item.etag)
        if etag is None:
            return None
        info = await to_thread.run_sync(os.stat, path)
        if self.cache is not None and await to_thread.run_sync(self.cache.knows, path, info, str(etag)):
            return True
        verdict, _ = await self.verifier.compare(path, item.size, RemoteObject(loc, item.size, item.etag or "", None))
        if verdict is Verdict.MATCH:
            await self.remember(path, str(etag), info)
        return {Verdict.MATCH: True, Verdict.MISMATCH: False}.get(verdict)

    async def remember(self, path: Path, etag: str, info: os.stat_result | None = None) -> None:
        if self.cache is None:
            return
        info = info or await to_thread.run_sync(os.stat, path)
        await to_thread.run_sync(self.cache.remember, path, info, etag)


# ---- carrying out steps -----------------------------------------------------------------

def _skip_result(step: Step, source: str, dest: str) -> TransferResult:
    # Size 0: a skipped file moves no bytes, and the summary counts bytes moved.
    return TransferResult("skip", source, dest, 0,
                          verdict=Verdict.MATCH if step.reason == "same content" else Verdict.SKIPPED,
                          detail=step.reason)


async def sync(ctx: Context, source: str | Path | S3Location, dest: str | Path | S3Location,
               options: SyncOptions) -> tuple[Summary, SyncStats]:
    stats = SyncStats()
    summary = Summary("sync")
    judge = ContentJudge(ctx, options.cache)
    if isinstance(source, Path) and isinstance(dest, S3Location):
        await check_bucket(ctx, dest.bucket)
        base = _as_prefix(dest)
        pairs = amerge_join(local_items(source, options.keys), remote_items(ctx.client, ctx.config, base, options.keys))
        jobs = _up_jobs(ctx, judge, source, base, pairs, options, stats)
    elif isinstance(source, S3Location) and isinstance(dest, Path):
        await check_bucket(ctx, source.bucket)
        base = _as_prefix(source)
        dest.mkdir(parents=True, exist_ok=True)
        pairs = amerge_join(remote_items(ctx.client, ctx.config, base, options.keys), local_items(dest, options.keys))
        jobs = _down_jobs(ctx, judge, base, dest, pairs, options, stats, summary)
    else:
        raise ConfigError("sync needs one local folder and one s3:// prefix")
    await run_jobs(ctx, jobs, summary)
    await _deletes(ctx, dest, options, stats, summary)
    stats.hashed = judge.hashed
    return summary, stats


def _as_prefix(loc: S3Location) -> S3Location:
    return loc if loc.is_prefix else S3Location(loc.bucket, loc.key + "/")


async def _up_jobs(ctx: Context, judge: ContentJudge, root: Path, base: S3Location,
                   pairs: AsyncIterator[tuple[Item | None, Item | None]], options: SyncOptions,
                   stats: SyncStats) -> AsyncIterator[Job]:
    async for local, remote in pairs:
        step = decide(local, remote, options.rule, delete=options.delete)
        key = base.child(step.key)
        if step.action is Action.DELETE:
            stats.planned_deletes.append(step)
            continue
        if step.action is Action.EXTRA:
            continue
        path = root / step.key
        yield _bind_step(ctx, judge, step, options, stats,
                         compare=partial(judge.same, path, key, step.dest),
                         copy=partial(upload_file, ctx, path, key), source=str(path), dest=str(key), local=path)


async def _down_jobs(ctx: Context, judge: ContentJudge, base: S3Location, root: Path,
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
            refuse_key(ctx, summary, "sync", key, root, exc)
            continue
        remote_item = step.source
        assert remote_item is not None
        known = RemoteObject(key, remote_item.size, remote_item.etag or "", None, None)
        yield _bind_step(ctx, judge, step, options, stats,
                         compare=partial(judge.same, path, key, remote_item),
                         copy=partial(download_object, ctx, key, path, known),
                         source=str(key), dest=str(path), local=path)


def _bind_step(ctx: Context, judge: ContentJudge, step: Step, options: SyncOptions, stats: SyncStats, *,
               compare: Callable[[], Awaitable[bool | None]],
               copy: Callable[[], Awaitable[TransferResult]], source: str, dest: str, local: Path) -> Job:
    async def job() -> TransferResult:
        current = step
        started = time.monotonic()
        if current.action is Action.COMPARE:
            try:
                current = resolve_compare(current, await compare())
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
            if result.verdict is Verdict.MATCH and result.etag:
                # The bytes on both sides are now known equal: the next sync need not hash them.
                await judge.remember(local, result.etag)
        return result
    return job


def _report(ctx: Context, result: TransferResult) -> TransferResult:
    ctx.progress.finished(result)
    return result


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
