"""put and get of files and whole trees: resolve what the arguments mean, then run one
transfer per file, many at a time, under the global limit."""

from __future__ import annotations

import time
from functools import partial
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path, PurePosixPath

import anyio

from .client import first_error, map_error
from .config import FILES_PER_SLOT
from .context import Context
from .download import RemoteObject, download_object, head
from .errors import ConfigError, NotFoundError, S3FerryError, TransferError, UnsafeKeyError
from .locations import S3Location, safe_relative_path
from .results import Summary, TransferResult
from .retry import with_retry
from .upload import upload_file
from .walk import iter_local, list_remote

Job = Callable[[], Awaitable[TransferResult]]


async def run_jobs(ctx: Context, jobs: AsyncIterator[Job], summary: Summary) -> Summary:
    """Run jobs as they are produced, a bounded number of files at a time, so a listing of
    millions of entries never sits in memory and transfers start while it is still going."""
    started = time.monotonic()
    in_flight = anyio.Semaphore(ctx.config.max_concurrency * FILES_PER_SLOT)

    async def run(job: Job) -> None:
        try:
            summary.add(await job())
        finally:
            in_flight.release()

    try:
        async with anyio.create_task_group() as tg:
            async for job in jobs:
                await in_flight.acquire()
                tg.start_soon(run, job)
    except BaseExceptionGroup as group:
        # Jobs never raise (a result carries the error); what lands here is the listing
        # failing. Surface it as the one error it is, so the CLI prints one line with its code.
        error = first_error(group)
        if not isinstance(error, Exception):
            raise
        mapped = map_error(error)
        if isinstance(mapped, S3FerryError):
            raise mapped from None
        raise error from None
    summary.seconds = time.monotonic() - started
    return summary


def _single(result_job: Job) -> AsyncIterator[Job]:
    async def one() -> AsyncIterator[Job]:
        yield result_job
    return one()


async def check_bucket(ctx: Context, bucket: str) -> None:
    try:
        await with_retry(ctx.config, lambda: ctx.client.head_bucket(Bucket=bucket))
    except Exception as exc:  # noqa: BLE001
        error = map_error(exc, what=f"s3://{bucket}")
        if isinstance(error, NotFoundError):
            raise NotFoundError(f"bucket does not exist: {bucket}") from None
        raise error from None


# ---- put -------------------------------------------------------------------------------

async def put_path(ctx: Context, source: Path, dest: S3Location) -> Summary:
    summary = Summary("put")
    if source.is_dir():
        await check_bucket(ctx, dest.bucket)
        return await run_jobs(ctx, _put_tree_jobs(ctx, source, dest), summary)
    key = dest.child(source.name) if dest.is_prefix else dest
    return await run_jobs(ctx, _single(lambda: upload_file(ctx, source, key)), summary)


async def _put_tree_jobs(ctx: Context, root: Path, dest: S3Location) -> AsyncIterator[Job]:
    base = dest if dest.is_prefix else S3Location(dest.bucket, dest.key + "/")
    async for entry in iter_local(root):
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
            source = S3Location(source.bucket, source.key + "/")
        else:
            target = dest / PurePosixPath(source.key).name if _is_folder(dest) else dest
            return await run_jobs(ctx, _single(lambda: download_object(ctx, source, target, obj)), summary)
    await check_bucket(ctx, source.bucket)
    return await run_jobs(ctx, _get_tree_jobs(ctx, source, dest, summary), summary)


def refuse_key(ctx: Context, summary: Summary, op: str, loc: S3Location, root: Path, why: ConfigError) -> None:
    """A hostile key is refused on its own and the rest of the transfer goes on. A failed
    transfer (exit 1), not a usage error: the user typed nothing wrong."""
    error = TransferError(op, str(loc), str(root), UnsafeKeyError(str(why)))
    refused = TransferResult(op, str(loc), str(root), error=str(error), exit_code=error.exit_code)
    summary.add(refused)
    ctx.progress.finished(refused)


def _is_folder(dest: Path) -> bool:
    return dest.is_dir() or str(dest).endswith(("/", "\\"))


async def _has_children(ctx: Context, loc: S3Location) -> bool:
    response = await with_retry(ctx.config, lambda: ctx.client.list_objects_v2(
        Bucket=loc.bucket, Prefix=loc.key + "/", MaxKeys=1))
    return bool(response.get("KeyCount") or response.get("Contents"))


async def _get_tree_jobs(ctx: Context, source: S3Location, root: Path, summary: Summary) -> AsyncIterator[Job]:
    async for entry in list_remote(ctx.client, ctx.config, source.bucket, source.key):
        loc = S3Location(source.bucket, entry.key)
        try:
            relative = safe_relative_path(entry.key, source.key)
        except ConfigError as exc:
            refuse_key(ctx, summary, "get", loc, root, exc)
            continue
        known = RemoteObject(loc, entry.size, entry.etag, None, entry.last_modified)  # type: ignore[arg-type]
        yield partial(download_object, ctx, loc, root / relative, known)
