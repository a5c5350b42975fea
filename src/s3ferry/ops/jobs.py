"""Running many transfers: jobs started as they are produced under the global limit, each
failure turned into a result (one line for the CLI), and the bucket check trees start with."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import anyio

from s3ferry.core.config import FILES_PER_SLOT
from s3ferry.core.errors import ConfigError, NotFoundError, S3FerryError, TransferError, UnsafeKeyError
from s3ferry.core.locations import S3Location, invalid_bucket_name
from s3ferry.core.results import Summary, TransferResult
from s3ferry.ops.context import Context
from s3ferry.store.errors import first_error, map_error

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


def single_job(result_job: Job) -> AsyncIterator[Job]:
    async def one() -> AsyncIterator[Job]:
        yield result_job
    return one()


async def check_bucket(ctx: Context, bucket: str) -> None:
    try:
        await ctx.store.head_bucket(bucket)
    except Exception as exc:  # noqa: BLE001
        error = map_error(exc, what=f"s3://{bucket}")
        if isinstance(error, NotFoundError):
            why = invalid_bucket_name(bucket)  # a name AWS rejects is the likelier cause: say so
            raise (ConfigError(why) if why else NotFoundError(f"bucket does not exist: {bucket}")) from None
        raise error from None



def failed(op: str, source: str, destination: str, exc: BaseException, started: float, *,
           what: str = "") -> TransferResult:
    """The result of a transfer that raised: its error line names op, source, destination, cause."""
    error = TransferError(op, source, destination, map_error(exc, what=what))
    return TransferResult(op, source, destination, seconds=time.monotonic() - started,
                          error=str(error), exit_code=error.exit_code)


def refuse_key(ctx: Context, summary: Summary, op: str, loc: S3Location, root: Path, why: ConfigError) -> None:
    """A hostile key is refused on its own and the rest of the transfer goes on. A failed
    transfer (exit 1), not a usage error: the user typed nothing wrong."""
    error = TransferError(op, str(loc), str(root), UnsafeKeyError(str(why)))
    refused = TransferResult(op, str(loc), str(root), error=str(error), exit_code=error.exit_code)
    summary.add(refused)
    ctx.progress.finished(refused)
