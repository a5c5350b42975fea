"""cp and mv. S3 -> S3 goes through sync's copy (ops/copy.py): one implementation, which keeps
the source's part layout and so its ETag. mv is copy (or put, or get), verify, then delete the
source, and never deletes a source whose copy did not verify (``match``)."""

from __future__ import annotations

import dataclasses
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

from anyio import to_thread

from s3ferry.core.errors import ConfigError, TransferError
from s3ferry.core.locations import S3Location, safe_relative_path
from s3ferry.core.objects import copy_target, overlapping
from s3ferry.core.results import Progress, Summary, TransferResult, Verdict
from s3ferry.local.walk import iter_local
from s3ferry.ops.context import Context
from s3ferry.ops.copy import Endpoints, copy_object
from s3ferry.ops.get import download_object
from s3ferry.ops.jobs import Job, check_bucket, run_jobs, single_job
from s3ferry.ops.put import upload_file
from s3ferry.store.errors import map_error

KEPT = "source kept"


class _Held:
    """Passes progress through but holds the transfer's own result back: cp and mv report
    one result per object, after deciding what becomes of the source."""

    def __init__(self, inner: Progress):
        self.inner = inner

    def started(self, source: str, size: int) -> None:
        self.inner.started(source, size)

    def advanced(self, nbytes: int) -> None:
        self.inner.advanced(nbytes)

    def finished(self, result: TransferResult) -> None:
        pass

    def kept(self, text: str) -> None:
        kept = getattr(self.inner, "kept", None)
        if kept is not None:
            kept(text)


def _held(ctx: Context) -> Context:
    return dataclasses.replace(ctx, progress=_Held(ctx.progress))


# ---- S3 -> S3 ---------------------------------------------------------------------------

async def copy_path(ends: Endpoints, source: S3Location, dest: S3Location, *, recursive: bool,
                    move: bool) -> Summary:
    op = "mv" if move else "cp"
    summary = Summary(op)
    if not recursive:
        target = copy_target(source, dest, source.key)
        if target == source and ends.same:
            raise ConfigError(f"{op}: source and destination are the same object: {source}")
        return await run_jobs(ends.dest, single_job(lambda: _copy_one(ends, source, target, op, move)), summary)
    source = _as_prefix(source)
    if ends.same and overlapping(source, dest):
        raise ConfigError(f"{op}: the destination {dest} is inside the source {source}")
    await check_bucket(ends.source, source.bucket)
    await check_bucket(ends.dest, dest.bucket)
    return await run_jobs(ends.dest, _copy_jobs(ends, source, dest, op, move), summary)


async def _copy_jobs(ends: Endpoints, source: S3Location, dest: S3Location, op: str, move: bool) -> AsyncIterator[Job]:
    async for item in ends.source.store.list_objects(source):
        src = S3Location(source.bucket, item["Key"])
        if item["Key"] == source.key:
            continue  # the prefix's own "folder" marker
        target = copy_target(source, dest, item["Key"])
        yield lambda src=src, target=target: _copy_one(ends, src, target, op, move)


async def _copy_one(ends: Endpoints, src: S3Location, dst: S3Location, op: str, move: bool) -> TransferResult:
    # Only the destination's progress reports; the source side stays the same store, so
    # server-side copies still apply (Endpoints.same compares stores).
    result = _relabel(await copy_object(Endpoints(ends.source, _held(ends.dest)), src, dst), "copy", op)
    if move:
        result = await _settle(result, lambda: ends.source.store.delete(src))
    ends.dest.progress.finished(result)
    return result


# ---- local <-> S3 -----------------------------------------------------------------------

async def move_up(ctx: Context, source: Path, dest: S3Location) -> Summary:
    """mv of a local file (or, recursively, a folder's files) to S3: put, verify, remove."""
    summary = Summary("mv")
    if source.is_dir():
        await check_bucket(ctx, dest.bucket)
        base = dest if dest.is_prefix else S3Location(dest.bucket, dest.key + "/")
        return await run_jobs(ctx, _up_jobs(ctx, source, base), summary)
    key = dest.child(source.name) if dest.is_prefix else dest
    return await run_jobs(ctx, single_job(lambda: _up_one(ctx, source, key)), summary)


async def _up_jobs(ctx: Context, root: Path, base: S3Location) -> AsyncIterator[Job]:
    async for entry in iter_local(root):
        yield lambda path=entry.path, key=base.child(entry.relative): _up_one(ctx, path, key)


async def _up_one(ctx: Context, path: Path, key: S3Location) -> TransferResult:
    result = _relabel(await upload_file(_held(ctx), path, key), "put", "mv")
    result = await _settle(result, lambda: to_thread.run_sync(os.unlink, path))
    ctx.progress.finished(result)
    return result


async def move_down(ctx: Context, source: S3Location, dest: Path, *, recursive: bool) -> Summary:
    """mv of an object (or, recursively, a prefix) to local files: get, verify, delete."""
    summary = Summary("mv")
    if not recursive:
        target = dest / source.key.rsplit("/", 1)[-1] if dest.is_dir() else dest
        return await run_jobs(ctx, single_job(lambda: _down_one(ctx, source, target)), summary)
    source = _as_prefix(source)
    await check_bucket(ctx, source.bucket)
    return await run_jobs(ctx, _down_jobs(ctx, source, dest), summary)


async def _down_jobs(ctx: Context, source: S3Location, root: Path) -> AsyncIterator[Job]:
    async for item in ctx.store.list_objects(source):
        relative = safe_relative_path(item["Key"], source.key)  # a hostile key stops the move
        yield lambda loc=S3Location(source.bucket, item["Key"]), path=root / relative: _down_one(ctx, loc, path)


async def _down_one(ctx: Context, loc: S3Location, path: Path) -> TransferResult:
    await to_thread.run_sync(lambda: path.parent.mkdir(parents=True, exist_ok=True))
    result = _relabel(await download_object(_held(ctx), loc, path), "get", "mv")
    result = await _settle(result, lambda: ctx.store.delete(loc))
    ctx.progress.finished(result)
    return result


# ---- the rule ---------------------------------------------------------------------------

async def _settle(result: TransferResult, remove_source: Any) -> TransferResult:
    """Remove the source only when the copy verified; otherwise the result says it was kept."""
    if not result.ok:
        return dataclasses.replace(result, error=f"{result.error}; {KEPT}")
    if result.verdict is not Verdict.MATCH:
        why = result.detail or result.verdict.value
        error = TransferError(result.op, result.source, result.destination,
                              f"the copy could not be verified ({why}); {KEPT}")
        return dataclasses.replace(result, error=str(error), exit_code=3)
    try:
        await remove_source()
    except Exception as exc:  # noqa: BLE001
        error = TransferError(result.op, result.source, result.destination,
                              f"copied and verified, but the source could not be removed: {map_error(exc)}")
        return dataclasses.replace(result, error=str(error), exit_code=error.exit_code)
    return result


def _relabel(result: TransferResult, old: str, new: str) -> TransferResult:
    error = result.error
    if error is not None and error.startswith(old + " "):
        error = new + error[len(old):]
    return dataclasses.replace(result, op=new, error=error)


def _as_prefix(loc: S3Location) -> S3Location:
    return loc if loc.is_prefix else S3Location(loc.bucket, loc.key + "/")
