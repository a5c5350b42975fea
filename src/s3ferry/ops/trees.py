"""put and get of files and whole trees: resolve what the arguments mean, then run one
transfer per file, many at a time, under the global limit."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path, PurePosixPath

from anyio import to_thread

from s3ferry.core.config import TRASH_ROOT
from s3ferry.core.errors import ConfigError, NotFoundError, TransferError, UnsafeKeyError
from s3ferry.core.locations import S3Location, safe_relative_path
from s3ferry.core.results import Summary, TransferResult
from s3ferry.local import files
from s3ferry.local.walk import iter_local
from s3ferry.ops.context import Context
from s3ferry.ops.get import download_object
from s3ferry.ops.jobs import Job, check_bucket, failed, refuse_key, report_problem, run_jobs, single_job
from s3ferry.ops.listing import list_remote
from s3ferry.ops.put import upload_file
from s3ferry.ops.remote import RemoteObject, head
from s3ferry.store.errors import map_error


async def put_path(ctx: Context, source: Path, dest: S3Location) -> Summary:
    summary = Summary("put")
    if source.is_dir():
        await check_bucket(ctx, dest.bucket)
        return await run_jobs(ctx, _put_tree_jobs(ctx, source, dest, summary), summary)
    key = dest.child(source.name) if dest.is_prefix else dest
    return await run_jobs(ctx, single_job(lambda: upload_file(ctx, source, key)), summary)


async def _put_tree_jobs(ctx: Context, root: Path, dest: S3Location, summary: Summary) -> AsyncIterator[Job]:
    base = dest.as_prefix()
    async for entry in iter_local(root, follow_links=ctx.config.follow_symlinks):
        if entry.problem is not None:  # one line for it; the rest of the tree goes on
            report_problem(ctx, summary, "put", entry, str(base.child(entry.relative)))
            continue
        yield partial(upload_file, ctx, entry.path, base.child(entry.relative))


# ---- get -------------------------------------------------------------------------------

async def get_path(ctx: Context, source: S3Location, dest: Path) -> Summary:
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
            target = dest / PurePosixPath(source.key).name if _is_folder(dest) else dest
            return await run_jobs(ctx, single_job(lambda: download_object(ctx, source, target, obj)), summary)
    await check_bucket(ctx, source.bucket)
    await run_jobs(ctx, _get_tree_jobs(ctx, source, dest, summary), summary)
    if not summary.files and not summary.failed:  # a mistyped prefix: say so, as for a missing key
        raise NotFoundError(f"nothing matched {source}: no objects under that prefix")
    return summary


def _is_folder(dest: Path) -> bool:
    return dest.is_dir() or str(dest).endswith(("/", "\\"))


async def _has_children(ctx: Context, loc: S3Location) -> bool:
    async for _ in ctx.store.list_objects(loc.as_prefix(), page_size=1):
        return True
    return False


async def _get_tree_jobs(ctx: Context, source: S3Location, root: Path, summary: Summary) -> AsyncIterator[Job]:
    async for entry in list_remote(ctx.store, source):
        loc = S3Location(source.bucket, entry.key)
        if entry.key[len(source.key):].startswith(TRASH_ROOT):
            continue  # what sync --delete moved away stays away (as verify and sync skip it)
        try:
            relative = safe_relative_path(entry.key, source.key)
        except ConfigError as exc:
            refuse_key(ctx, summary, "get", loc, root, exc)
            continue
        known = RemoteObject(loc, entry.size, entry.etag, None, entry.last_modified)  # type: ignore[arg-type]
        yield partial(download_into, ctx, "get", loc, root, relative, known)


async def download_into(ctx: Context, op: str, loc: S3Location, root: Path, relative: str,
                        known: RemoteObject | None) -> TransferResult:
    """``download_object`` into ``root/relative``, refused when a symbolic link in the
    destination would carry the write out of ``root``."""
    try:
        await to_thread.run_sync(files.check_inside, root, relative)
    except UnsafeKeyError as exc:
        result = failed(op, str(loc), str(root / relative), exc, time.monotonic())
        ctx.progress.finished(result)
        return result
    return await download_object(ctx, loc, root / relative, known)
