"""sync: make a destination (prefix or folder) equal to a source, streaming both listings
through a merge-join and starting transfers while listing is still going. Local -> S3,
S3 -> local and S3 -> S3 (copy.py: server-side within one endpoint, streamed between two).

The decisions are sync_plan's; this module only carries them out. Extras to delete are
spooled to disk and deleted after the copies (sync_deletes.py).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import partial
from pathlib import Path

from s3ferry.core.config import IGNORE_FILE, META_SOURCE_ETAG, TRASH_ROOT
from s3ferry.core.deletes import DeleteLimit
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import S3Location, safe_relative_path
from s3ferry.core.results import DRY_RUN, Progress, Summary, TransferResult, Verdict, report_totals
from s3ferry.core.shards import KeyRange
from s3ferry.core.sync_plan import (
    Action,
    Item,
    KeyFilter,
    Rule,
    Step,
    amerge_join,
    decide,
    etags_agree,
    resolve_compare,
)
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.context import Context
from s3ferry.ops.copy import Endpoints, copy_object
from s3ferry.ops.jobs import Job, JobOrResult, check_bucket, failed, refuse_key, report_problem, run_jobs
from s3ferry.ops.listing import local_items, named_items, remote_items
from s3ferry.ops.put import upload_file
from s3ferry.ops.remote import RemoteObject
from s3ferry.ops.sync_deletes import DeleteSpool, run_deletes
from s3ferry.ops.sync_guards import check_local_source, check_s3_source, stat_or_none
from s3ferry.ops.sync_judge import ContentJudge, vouched
from s3ferry.ops.trees import download_into


@dataclass
class SyncOptions:
    rule: Rule
    delete: bool = False
    trash: str | None = None  # prefix under the destination; None with delete: delete outright
    max_delete: DeleteLimit | int | None = None  # a count, or a share of the destination
    dry_run: bool = False
    keys: KeyFilter = field(default_factory=KeyFilter)
    cache: HashCache | None = None
    force: bool = False  # delete past max_delete
    allow_empty_source: bool = False  # an S3 source with no objects may empty the destination
    progress: Progress | None = None  # told the number of files once the listings are done
    # A shard of a migration (scale/): only the keys in this range of both sides, or only
    # the keys a manifest named (S3 -> S3).
    span: KeyRange | None = None
    only: tuple[str, ...] | None = None


@dataclass
class SyncStats:
    copied: int = 0
    skipped: int = 0
    deleted: int = 0
    hashed: int = 0
    existing: int = 0  # entries the destination held (what a share of --max-delete is of)
    would_copy: int = 0  # --dry-run
    would_delete: int = 0
    deletes: DeleteSpool = field(default_factory=DeleteSpool)


def default_trash() -> str:
    return f"{TRASH_ROOT}{datetime.now(timezone.utc).strftime('%Y%m%dT%H%M%SZ')}/"


def load_filter(root: Path | None, excludes: list[str], includes: list[str]) -> KeyFilter:
    """The user's globs plus the source root's ignore file, which is itself never synced."""
    text = ""
    if root is not None and (root / IGNORE_FILE).is_file():
        text = (root / IGNORE_FILE).read_text()
    return KeyFilter.parse_ignore_file(text, excludes=[*excludes, IGNORE_FILE], includes=includes)


# ---- carrying out steps -----------------------------------------------------------------

def _skip_result(step: Step, source: str, dest: str, proven: bool) -> TransferResult:
    # Its real size; the summary counts only bytes moved (TransferResult.moves_bytes).
    size = step.source.size if step.source else 0
    return TransferResult("skip", source, dest, size, verdict=Verdict.MATCH if proven else Verdict.SKIPPED,
                          detail=step.reason)


async def sync(ctx: Context, source: str | Path | S3Location, dest: str | Path | S3Location,
               options: SyncOptions, source_ctx: Context | None = None) -> tuple[Summary, SyncStats]:
    """``source_ctx`` reads an S3 source on another endpoint (or with other credentials);
    by default the source is read with ``ctx``, and S3 -> S3 copies are server-side."""
    stats = SyncStats()
    summary = Summary("sync")
    options.progress = ctx.progress
    report_totals(ctx.progress, None, None)  # a tree: "counting…" until the listings end
    judge = ContentJudge(ctx, options.cache)
    src_ctx = source_ctx or ctx
    if source_ctx is not None and not isinstance(source, S3Location):
        raise ConfigError("a source endpoint or profile needs an s3:// source")
    problem = partial(_problem, ctx, summary)
    if isinstance(source, Path) and isinstance(dest, S3Location):
        await check_local_source(source)
        await check_bucket(ctx, dest.bucket)
        base = dest.as_prefix()
        pairs = amerge_join(local_items(source, options.keys, options.span, follow_links=ctx.config.follow_symlinks,
                                        on_problem=problem),
                            remote_items(ctx.store, base, options.keys, options.span, skip=options.trash))
        jobs = _up_jobs(ctx, judge, source, base, pairs, options, stats)
    elif isinstance(source, S3Location) and isinstance(dest, Path):
        await check_bucket(src_ctx, source.bucket)
        base = source.as_prefix()
        await check_s3_source(src_ctx, base, options.keys, delete=options.delete,
                              allow_empty=options.allow_empty_source)
        dest.mkdir(parents=True, exist_ok=True)
        # Folder links in the destination are never followed: nothing is deleted through one.
        pairs = amerge_join(remote_items(src_ctx.store, base, options.keys, options.span),
                            local_items(dest, options.keys, options.span, follow_dirs=False, on_problem=problem))
        jobs = _down_jobs(src_ctx, judge, base, dest, pairs, options, stats, summary)
    elif isinstance(source, S3Location) and isinstance(dest, S3Location):
        ends = Endpoints(src_ctx, ctx)
        src_base, dst_base = source.as_prefix(), dest.as_prefix()
        if ends.same and src_base.bucket == dst_base.bucket and _overlap(src_base.key, dst_base.key):
            raise ConfigError(f"source and destination overlap: {src_base} and {dst_base}")
        await check_bucket(src_ctx, src_base.bucket)
        await check_bucket(ctx, dst_base.bucket)
        await check_s3_source(src_ctx, src_base, options.keys, delete=options.delete,
                              allow_empty=options.allow_empty_source)
        pairs = amerge_join(_side_items(src_ctx, src_base, options),
                            _side_items(ctx, dst_base, options, skip=options.trash))
        jobs = _copy_jobs(ends, judge, src_base, dst_base, pairs, options, stats)
    else:
        raise ConfigError("sync needs an s3:// prefix on at least one side")
    try:
        await run_jobs(ctx, jobs, summary)
        limit = None if options.force else options.max_delete
        gone = await run_deletes(ctx, dest, stats.deletes, trash=options.trash if isinstance(dest, S3Location)
                                 else None, max_delete=limit, existing=stats.existing, dry_run=options.dry_run,
                                 summary=summary)
        if options.dry_run:
            stats.would_delete = gone
        else:
            stats.deleted = gone
    finally:
        stats.deletes.close()
    stats.hashed = judge.hashed
    return summary, stats


def _problem(ctx: Context, summary: Summary, entry) -> None:  # type: ignore[no-untyped-def]
    report_problem(ctx, summary, "sync", entry, "")


def _side_items(ctx: Context, base: S3Location, options: SyncOptions,
                skip: str | None = None) -> AsyncIterator[Item]:
    """``skip``: the destination's trash folder, left out of its listing."""
    if options.only is not None:
        return named_items(ctx.store, base, options.only, options.keys)
    return remote_items(ctx.store, base, options.keys, options.span, skip=skip)


def _overlap(a: str, b: str) -> bool:
    return a.startswith(b) or b.startswith(a)


async def _steps(pairs: AsyncIterator[tuple[Item | None, Item | None]], options: SyncOptions,
                 stats: SyncStats) -> AsyncIterator[Step]:
    """The steps that copy or compare; extras to delete go to the spool, the rest are left."""
    steps = 0
    async for source, dest in pairs:
        stats.existing += dest is not None
        step = decide(source, dest, options.rule, delete=options.delete)
        if step.action is Action.DELETE:
            stats.deletes.add(step.key, step.dest.size if step.dest else 0)
        elif step.action is not Action.EXTRA:
            steps += 1
            yield step
    if options.progress is not None:  # both listings are done: the bar can say N/M
        report_totals(options.progress, steps, None)


async def _up_jobs(ctx: Context, judge: ContentJudge, root: Path, base: S3Location,
                   pairs: AsyncIterator[tuple[Item | None, Item | None]], options: SyncOptions,
                   stats: SyncStats) -> AsyncIterator[JobOrResult]:
    steps = vouched(judge, _steps(pairs, options, stats), lambda step: (root / step.key, step.dest and step.dest.etag))
    async for step, known in steps:
        key = base.child(step.key)
        path = root / step.key
        if known:
            yield _vouched_skip(ctx, step, stats, str(path), str(key))
            continue
        yield _bind_step(ctx, judge, step, options, stats,
                         compare=partial(judge.same, path, key, step.dest),
                         copy=partial(upload_file, ctx, path, key), source=str(path), dest=str(key), local=path,
                         local_is_source=True)


async def _down_jobs(ctx: Context, judge: ContentJudge, base: S3Location, root: Path,
                     pairs: AsyncIterator[tuple[Item | None, Item | None]], options: SyncOptions,
                     stats: SyncStats, summary: Summary) -> AsyncIterator[JobOrResult]:
    def sides(step: Step) -> tuple[Path, str | None] | None:
        try:
            return root / safe_relative_path(base.child(step.key).key, base.key), step.source and step.source.etag
        except ConfigError:
            return None  # refused below, on its own

    async for step, known in vouched(judge, _steps(pairs, options, stats), sides):
        key = base.child(step.key)
        try:
            relative = safe_relative_path(key.key, base.key)
            path = root / relative
        except ConfigError as exc:
            refuse_key(ctx, summary, "sync", key, root, exc)
            continue
        if known:
            yield _vouched_skip(ctx, step, stats, str(key), str(path))
            continue
        remote_item = step.source
        assert remote_item is not None
        known = RemoteObject(key, remote_item.size, remote_item.etag or "", None, None)
        yield _bind_step(ctx, judge, step, options, stats,
                         compare=partial(judge.same, path, key, remote_item),
                         copy=partial(download_into, ctx, "sync", key, root, relative, known),
                         source=str(key), dest=str(path), local=path)


async def _copy_jobs(ends: Endpoints, judge: ContentJudge, src_base: S3Location, dst_base: S3Location,
                     pairs: AsyncIterator[tuple[Item | None, Item | None]], options: SyncOptions,
                     stats: SyncStats) -> AsyncIterator[Job]:
    async for step in _steps(pairs, options, stats):
        src, dst = src_base.child(step.key), dst_base.child(step.key)
        yield _bind_step(ends.dest, judge, step, options, stats,
                         compare=partial(_remote_same, ends.dest, step, dst),
                         copy=partial(copy_object, ends, src, dst, replaces=step.dest is not None),
                         source=str(src), dest=str(dst), local=None)


async def _remote_same(ctx: Context, step: Step, dst: S3Location) -> tuple[bool | None, str]:
    """Two same-size objects: their ETags, and only when those differ, the source ETag a
    previous copy recorded in the destination's metadata (one HEAD)."""
    assert step.source is not None and step.dest is not None
    same, why = etags_agree(step.source.etag, step.dest.etag)
    if same is True:
        return same, why
    head = await ctx.store.head(dst)
    return etags_agree(step.source.etag, head.get("ETag"), (head.get("Metadata") or {}).get(META_SOURCE_ETAG))


def _vouched_skip(ctx: Context, step: Step, stats: SyncStats, source: str, dest: str) -> TransferResult:
    """A COMPARE step the hash cache settled: skipped as its job would have skipped it, but
    with no task for it."""
    stats.skipped += 1
    return _report(ctx, _skip_result(resolve_compare(step, True), source, dest, proven=True))


def _bind_step(ctx: Context, judge: ContentJudge, step: Step, options: SyncOptions, stats: SyncStats, *,
               compare: Callable[[], Awaitable[bool | None | tuple[bool | None, str]]],
               copy: Callable[[], Awaitable[TransferResult]], source: str, dest: str, local: Path | None,
               local_is_source: bool = False) -> Job:
    async def job() -> TransferResult:
        current = step
        started = time.monotonic()
        if current.action is Action.COMPARE:
            try:
                verdict = await compare()
                current = resolve_compare(current, *verdict) if isinstance(verdict, tuple) else \
                    resolve_compare(current, verdict)
            except Exception as exc:  # noqa: BLE001 - a failed comparison is that file's failure
                return _report(ctx, failed("sync", source, dest, exc, started))
        if current.action is Action.SKIP:
            stats.skipped += 1
            return _report(ctx, _skip_result(current, source, dest, proven=step.action is Action.COMPARE))
        if options.dry_run:
            stats.would_copy += 1
            size = current.source.size if current.source else 0
            return _report(ctx, TransferResult("copy" + DRY_RUN, source, dest, size, detail=current.reason))
        # Stat'ed before the upload reads it: what the cache may vouch for (item 6 of issue 11).
        before = await stat_or_none(local) if local is not None and local_is_source else None
        result = await copy()
        if result.ok:
            stats.copied += 1
            if result.verdict is Verdict.MATCH and result.etag and local is not None:
                # The bytes on both sides are now known equal: the next sync need not hash them.
                await judge.remember_unchanged(local, result.etag, before)
        return result
    return job


def _report(ctx: Context, result: TransferResult) -> TransferResult:
    ctx.progress.finished(result)
    return result
