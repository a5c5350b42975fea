"""Running many transfers: jobs started as they are produced under the global limit, each
failure turned into a result (one line for the CLI), and the bucket check trees start with."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import anyio

from s3ferry.core.config import FILES_PER_SLOT
from s3ferry.core.errors import (
    ConfigError,
    LocalIOError,
    NetworkError,
    NotFoundError,
    S3FerryError,
    TransferError,
    UnsafeKeyError,
)
from s3ferry.core.locations import S3Location, invalid_bucket_name
from s3ferry.core.results import Progress, Summary, TransferResult, report_warning
from s3ferry.local.walk import LocalEntry
from s3ferry.ops.batched import LocalBatches
from s3ferry.ops.context import Context
from s3ferry.ops.pool import JobPool
from s3ferry.store.errors import first_error, map_error
from s3ferry.store.retry import is_retryable

Job = Callable[[], Awaitable[TransferResult]]
# A producer may also yield a result it decided on the spot (a file the hash cache vouches
# for, in a no-op sync): it is counted as is, already reported, with no task or limiter
# turn for it (those cost more than the decision itself).
JobOrResult = Job | TransferResult


async def run_jobs(ctx: Context, jobs: AsyncIterator[JobOrResult], summary: Summary) -> Summary:
    """Run jobs as they are produced, a bounded number of files at a time (by a pool of
    worker tasks, not a task per file), so a listing of
    millions of entries never sits in memory and transfers start while it is still going.
    A job that failed on the network gets one more try once all the others are done (as
    rclone's whole-run retries): an outage longer than one request's retry budget then costs
    a second pass over what it hit, not a failed run. Its first failure is not shown."""
    started = time.monotonic()
    size = ctx.config.max_concurrency * FILES_PER_SLOT
    later: list[Job] = []
    held = _HeldProgress(ctx.progress)
    object.__setattr__(ctx, "progress", held)  # jobs report through ctx.progress at run time

    async def run(job: Job) -> None:
        result = await job()
        if held.holding and _second_chance(result):
            later.append(job)
        else:
            summary.add(result)

    outer = getattr(ctx, "batches", None)  # a test's stand-in context may have none
    try:
        async with anyio.create_task_group() as hops:
            object.__setattr__(ctx, "batches", LocalBatches(hops))
            async with anyio.create_task_group() as tg:
                pool = JobPool(tg, size, run)
                try:
                    async for job in jobs:
                        if isinstance(job, TransferResult):
                            summary.add(job)
                            continue
                        await pool.submit(job)
                finally:
                    pool.close()
            held.holding = False
            async with anyio.create_task_group() as tg:
                pool = JobPool(tg, size, run)
                for job in later:
                    await pool.submit(job)
                pool.close()
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
    finally:
        object.__setattr__(ctx, "progress", held.inner)
        object.__setattr__(ctx, "batches", outer)
    summary.seconds = time.monotonic() - started
    return summary


def _second_chance(result: TransferResult) -> bool:
    # Network failures and the store's own errors that outlived their retries (5xx, SlowDown);
    # not a missing file, denied access, a changed source or a failed verification.
    return not result.ok and result.retryable


class _HeldProgress:
    """The run's progress, holding back the first-pass network failures that get a second try."""

    def __init__(self, inner: Progress) -> None:
        self.inner = inner
        self.holding = True

    def __getattr__(self, name: str) -> Any:  # started, advanced, kept, warn, ...
        return getattr(self.inner, name)

    def finished(self, result: TransferResult) -> None:
        if not (self.holding and _second_chance(result)):
            self.inner.finished(result)


def single_job(result_job: Job) -> AsyncIterator[Job]:
    async def one() -> AsyncIterator[Job]:
        yield result_job
    return one()


async def check_bucket(ctx: Context, bucket: str) -> None:
    """Fail early, with one clear line, when the bucket is missing or out of reach (HeadBucket,
    which the lean engine sends itself: a tree put or get builds no botocore client for it)."""
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
    cause = first_error(exc)
    transient = is_retryable(cause) or isinstance(map_error(cause), NetworkError)
    return TransferResult(op, source, destination, seconds=time.monotonic() - started,
                          error=str(error), exit_code=error.exit_code, retryable=transient)


def report_problem(ctx: Context, summary: Summary, op: str, entry: LocalEntry, destination: str) -> None:
    """A walk problem: a skipped symbolic link is a warning; a file or folder that could not be
    read is a failure of its own (one line, and the run exits non-zero), the rest goes on."""
    if not entry.fatal:
        report_warning(ctx.progress, f"{entry.path}: {entry.problem}")
        return
    error = TransferError(op, str(entry.path), destination, LocalIOError(entry.problem or "unreadable"))
    result = TransferResult(op, str(entry.path), destination, error=str(error), exit_code=error.exit_code)
    summary.add(result)
    ctx.progress.finished(result)


def refuse_key(ctx: Context, summary: Summary, op: str, loc: S3Location, root: Path, why: ConfigError) -> None:
    """A hostile key is refused on its own and the rest of the transfer goes on. A failed
    transfer (exit 1), not a usage error: the user typed nothing wrong."""
    error = TransferError(op, str(loc), str(root), UnsafeKeyError(str(why)))
    refused = TransferResult(op, str(loc), str(root), error=str(error), exit_code=error.exit_code)
    summary.add(refused)
    ctx.progress.finished(refused)
