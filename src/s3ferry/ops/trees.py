"""put and get of files and whole trees: resolve what the arguments mean, then run one
transfer per file, many at a time, under the global limit."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path, PurePosixPath

import anyio
from anyio import to_thread

from s3ferry.core.config import TRASH_ROOT
from s3ferry.core.errors import ConfigError, NotFoundError, TransferError, UnsafeKeyError
from s3ferry.core.locations import S3Location, safe_relative_path
from s3ferry.core.results import Progress, Summary, TransferResult, Verdict, report_totals, wants_totals
from s3ferry.local import files
from s3ferry.local.hashcache import HashCache
from s3ferry.local.walk import iter_local
from s3ferry.ops.context import Context
from s3ferry.ops.get import download_object
from s3ferry.ops.get_small import one_request
from s3ferry.ops.jobs import Job, check_bucket, failed, refuse_key, report_problem, run_jobs, single_job
from s3ferry.ops.listing import RemoteEntry, list_remote
from s3ferry.ops.put import upload_file
from s3ferry.ops.readahead import counted_entries
from s3ferry.ops.remote import RemoteObject, head
from s3ferry.store.errors import map_error

Upload = Callable[[Context, Path, S3Location], Awaitable[TransferResult]]


async def put_path(ctx: Context, source: Path, dest: S3Location, cache: HashCache | None = None, *,
                   upload: Upload = upload_file) -> Summary:
    """``cache``: every file put and verified is remembered with its ETag, so a later sync
    need not hash it again. ``upload`` sends one file (put --skip-unchanged passes one that
    compares first)."""
    summary = Summary("put")
    if source.is_dir():
        await check_bucket(ctx, dest.bucket)
        sizes = (entry.size async for entry in iter_local(source, follow_links=ctx.config.follow_symlinks)
                 if entry.problem is None)
        return await _counted(ctx, partial(_count, sizes),
                              lambda: run_jobs(ctx, _put_tree_jobs(ctx, source, dest, cache, upload, summary), summary))
    key = dest.child(source.name) if dest.is_prefix else dest
    return await run_jobs(ctx, single_job(partial(remembering, cache, source, partial(upload, ctx, source, key))),
                          summary)


async def _put_tree_jobs(ctx: Context, root: Path, dest: S3Location, cache: HashCache | None,
                         upload: Upload, summary: Summary) -> AsyncIterator[Job]:
    base = dest.as_prefix()
    async for entry in iter_local(root, follow_links=ctx.config.follow_symlinks):
        if entry.problem is not None:  # one line for it; the rest of the tree goes on
            report_problem(ctx, summary, "put", entry, str(base.child(entry.relative)))
            continue
        key = base.child(entry.relative)
        if upload is upload_file:  # it remembers a verified upload itself, with its own stat
            yield partial(upload_file, ctx, entry.path, key, cache)
        else:
            yield partial(remembering, cache, entry.path, partial(upload, ctx, entry.path, key))


async def remembering(cache: HashCache | None, path: Path, job: Job) -> TransferResult:
    """Run ``job``; if it proved ``path`` holds the object's bytes, tell the hash cache."""
    result = await job()
    if cache is not None and result.ok and result.verdict is Verdict.MATCH and result.etag:
        await to_thread.run_sync(cache.remember_written, path, result.etag)
    return result


async def _counted(ctx: Context, count: Callable[[Progress], Awaitable[None]],
                   run: Callable[[], Awaitable[Summary]]) -> Summary:
    """Run a tree's transfers while ``count`` counts its files and bytes (and reports them),
    so a progress bar knows the total early instead of showing "?". Without a bar, no count.
    The transfer's own listing reports any failure; the count just stops."""
    if not wants_totals(ctx.progress):
        return await run()
    report_totals(ctx.progress, None, None)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(count, ctx.progress)
            summary = await run()
            tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:
        if len(group.exceptions) == 1:  # the transfer's own error, as run() raised it
            raise group.exceptions[0] from None
        raise
    return summary


async def _count(sizes: AsyncIterator[int], progress: Progress) -> None:
    """A second, cheaper pass over a local tree: its files and bytes."""
    files = total = 0
    try:
        async for size in sizes:
            files, total = files + 1, total + size
    except Exception:  # noqa: BLE001 - see _counted
        return
    report_totals(progress, files, total)


# ---- get -------------------------------------------------------------------------------

async def get_path(ctx: Context, source: S3Location, dest: Path, *, into_folder: bool = False,
                   cache: HashCache | None = None) -> Summary:
    """``into_folder``: the destination was written with a trailing slash, so an object goes
    into it under its own name, the folder made as needed."""
    summary = Summary("get")
    if not source.is_prefix:
        try:
            obj = await head(ctx, source)
        except Exception as exc:  # noqa: BLE001
            error = map_error(exc, what=str(source))
            if not isinstance(error, NotFoundError):  # unreachable, denied, ...: name the object
                raise TransferError("get", str(source), str(dest), error) from None
            if not await _has_children(ctx, source):
                await check_bucket(ctx, source.bucket)
                raise TransferError("get", str(source), str(dest), error) from None
            source = source.as_prefix()
        else:
            target = dest / PurePosixPath(source.key).name if into_folder or _is_folder(dest) else dest
            job = partial(remembering, cache, target, partial(download_object, ctx, source, target, obj))
            return await run_jobs(ctx, single_job(job), summary)
    await check_bucket(ctx, source.bucket)
    if wants_totals(ctx.progress):  # one listing for the bar's count and the transfer
        count, entries = counted_entries(ctx.store, source)
    else:
        count, entries = _no_count, list_remote(ctx.store, source)
    await _counted(ctx, count, lambda: run_jobs(ctx, _get_tree_jobs(ctx, source, entries, dest, summary, cache),
                                                summary))
    if not summary.files and not summary.failed:  # a mistyped prefix: say so, as for a missing key
        raise NotFoundError(f"nothing matched {source}: no objects under that prefix")
    return summary


def _is_folder(dest: Path) -> bool:
    return dest.is_dir() or str(dest).endswith(("/", "\\"))


async def _has_children(ctx: Context, loc: S3Location) -> bool:
    async for _ in ctx.store.list_objects(loc.as_prefix(), page_size=1):
        return True
    return False


async def _no_count(progress: Progress) -> None:
    return None


async def _get_tree_jobs(ctx: Context, source: S3Location, entries: AsyncIterator[RemoteEntry], root: Path,
                         summary: Summary, cache: HashCache | None) -> AsyncIterator[Job]:
    async for entry in entries:
        loc = S3Location(source.bucket, entry.key)
        if entry.key[len(source.key):].startswith(TRASH_ROOT):
            continue  # what sync --delete moved away stays away (as verify and sync skip it)
        try:
            relative = safe_relative_path(entry.key, source.key)
        except ConfigError as exc:
            refuse_key(ctx, summary, "get", loc, root, exc)
            continue
        known = RemoteObject(loc, entry.size, entry.etag, None, entry.last_modified)  # type: ignore[arg-type]
        yield partial(download_into, ctx, "get", loc, root, relative, known, cache)


async def download_into(ctx: Context, op: str, loc: S3Location, root: Path, relative: str,
                        known: RemoteObject | None, cache: HashCache | None = None) -> TransferResult:
    """``download_object`` into ``root/relative``, refused when a symbolic link in the
    destination would carry the write out of ``root``; verified, it goes into ``cache``."""
    if known is not None and one_request(ctx, known):  # checked in the download's one hop
        return await download_object(ctx, loc, root / relative, known, inside=(root, relative), refused_as=op,
                                     cache=cache)
    try:
        await to_thread.run_sync(files.check_inside, root, relative)
    except UnsafeKeyError as exc:
        result = failed(op, str(loc), str(root / relative), exc, time.monotonic())
        ctx.progress.finished(result)
        return result
    return await download_object(ctx, loc, root / relative, known, cache=cache)
