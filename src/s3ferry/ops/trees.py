"""put and get of files and whole trees: resolve what the arguments mean, then run one
transfer per file, many at a time, under the global limit."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from pathlib import Path, PurePosixPath

from s3ferry.core.errors import ConfigError, NotFoundError, TransferError
from s3ferry.core.locations import S3Location, safe_relative_path
from s3ferry.core.results import Summary, TransferResult
from s3ferry.local.walk import iter_local
from s3ferry.ops.context import Context
from s3ferry.ops.get import download_object
from s3ferry.ops.jobs import Job, check_bucket, refuse_key, run_jobs, single_job
from s3ferry.ops.listing import list_remote
from s3ferry.ops.put import upload_file
from s3ferry.ops.remote import RemoteObject, head
from s3ferry.store.errors import map_error


Upload = Callable[[Context, Path, S3Location], Awaitable[TransferResult]]


async def put_path(ctx: Context, source: Path, dest: S3Location, *, upload: Upload = upload_file) -> Summary:
    """``upload`` sends one file (put --skip-unchanged passes one that compares first)."""
    summary = Summary("put")
    if source.is_dir():
        await check_bucket(ctx, dest.bucket)
        return await run_jobs(ctx, _put_tree_jobs(ctx, source, dest, upload), summary)
    key = dest.child(source.name) if dest.is_prefix else dest
    return await run_jobs(ctx, single_job(lambda: upload(ctx, source, key)), summary)


async def _put_tree_jobs(ctx: Context, root: Path, dest: S3Location, upload: Upload) -> AsyncIterator[Job]:
    base = dest.as_prefix()
    async for entry in iter_local(root):
        yield partial(upload, ctx, entry.path, base.child(entry.relative))


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
    return await run_jobs(ctx, _get_tree_jobs(ctx, source, dest, summary), summary)


def _is_folder(dest: Path) -> bool:
    return dest.is_dir() or str(dest).endswith(("/", "\\"))


async def _has_children(ctx: Context, loc: S3Location) -> bool:
    async for _ in ctx.store.list_objects(loc.as_prefix(), page_size=1):
        return True
    return False


async def _get_tree_jobs(ctx: Context, source: S3Location, root: Path, summary: Summary) -> AsyncIterator[Job]:
    async for entry in list_remote(ctx.store, source):
        loc = S3Location(source.bucket, entry.key)
        try:
            relative = safe_relative_path(entry.key, source.key)
        except ConfigError as exc:
            refuse_key(ctx, summary, "get", loc, root, exc)
            continue
        known = RemoteObject(loc, entry.size, entry.etag, None, entry.last_modified)  # type: ignore[arg-type]
        yield partial(download_object, ctx, loc, root / relative, known)
