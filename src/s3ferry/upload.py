"""put: one local file to one S3 key, single PUT or streaming multipart upload."""

from __future__ import annotations

import logging
import mimetypes
import os
import time
from pathlib import Path
from typing import Any

import anyio
from anyio import to_thread

from . import fileio
from .client import create_multipart_upload, map_error
from .config import META_PART_SIZE
from .context import Context
from .errors import IntegrityError, TransferError, UnverifiableError, describe
from .etag import CompositeBuilder, content_md5, normalize, parse_etag, single_etag
from .locations import S3Location
from .planning import Part, choose_part_size, part_count, plan_parts, use_multipart
from .results import TransferResult, Verdict
from .retry import with_retry

ABORT_TIMEOUT = 30.0
log = logging.getLogger("s3ferry")


async def upload_file(ctx: Context, path: Path, dest: S3Location) -> TransferResult:
    """Upload ``path`` to ``dest`` and verify the stored ETag. Never raises for a failed
    transfer: the result carries the error. Cancellation propagates (after cleanup)."""
    started = time.monotonic()
    source = str(path)
    try:
        fd, info = await to_thread.run_sync(fileio.open_for_upload, path)
        try:
            ctx.progress.started(source, info.st_size)
            local, remote, layout = await _upload(ctx, fd, info, dest, _content_type(path))
        finally:
            os.close(fd)
        verdict, detail = _judge(ctx, local, remote)
        if verdict is Verdict.MISMATCH:
            await _delete_quietly(ctx, dest)
            raise IntegrityError(f"stored ETag {remote} differs from the local {local}; object deleted")
        result = TransferResult("put", source, str(dest), info.st_size, remote, verdict,
                                detail or layout, time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a result; cancellation is not an Exception
        result = failed("put", source, str(dest), exc, started)
    ctx.progress.finished(result)
    return result


def failed(op: str, source: str, destination: str, exc: BaseException, started: float) -> TransferResult:
    error = TransferError(op, source, destination, map_error(exc))
    return TransferResult(op, source, destination, seconds=time.monotonic() - started,
                          error=str(error), exit_code=error.exit_code)


def _content_type(path: Path) -> str:
    return mimetypes.guess_type(path.name)[0] or "application/octet-stream"


def _judge(ctx: Context, local: str, remote: str) -> tuple[Verdict, str]:
    if not ctx.config.verify:
        return Verdict.SKIPPED, "verification off"
    if parse_etag(remote) is None:
        if ctx.config.require_verify:
            raise UnverifiableError(f"server ETag {remote!r} is not an MD5 (SSE-KMS/SSE-C or non-AWS store)")
        return Verdict.UNVERIFIABLE, f"server ETag {remote!r} is not an MD5"
    return (Verdict.MATCH, "") if normalize(remote) == local else (Verdict.MISMATCH, "")


async def _upload(ctx: Context, fd: int, info: os.stat_result, dest: S3Location,
                  content_type: str) -> tuple[str, str, str]:
    """Returns (local ETag, server ETag, layout description)."""
    if use_multipart(info.st_size, ctx.config.multipart_threshold):
        part_size = choose_part_size(info.st_size, ctx.config.part_size)
        local, remote = await _multipart(ctx, fd, info, dest, content_type, part_size)
        return local, remote, f"{part_count(info.st_size, part_size)} parts of {part_size}"
    local, remote = await _single(ctx, fd, info, dest, content_type)
    return local, remote, "single PUT"


def _checksum_args(ctx: Context) -> dict[str, Any]:
    mode = ctx.config.checksum
    return {} if mode == "off" else {"ChecksumAlgorithm": mode.upper()}


async def _single(ctx: Context, fd: int, info: os.stat_result, dest: S3Location,
                  content_type: str) -> tuple[str, str]:
    async with ctx.slots:
        data, digest = await to_thread.run_sync(fileio.read_whole, fd, info)
        response = await with_retry(ctx.config, lambda: ctx.client.put_object(
            Bucket=dest.bucket, Key=dest.key, Body=data, ContentMD5=content_md5(digest),
            ContentType=content_type, **_checksum_args(ctx)))
    ctx.progress.advanced(info.st_size)
    return single_etag(digest), normalize(response.get("ETag"))


async def _multipart(ctx: Context, fd: int, info: os.stat_result, dest: S3Location,
                     content_type: str, part_size: int) -> tuple[str, str]:
    upload_id = await create_multipart_upload(
        ctx.client, ctx.config, dest.bucket, dest.key, ContentType=content_type,
        Metadata={META_PART_SIZE: str(part_size)}, **_checksum_args(ctx))
    # From here on, every way out that is not success aborts the upload: no billed orphans.
    try:
        builder = CompositeBuilder(part_count(info.st_size, part_size))
        async with anyio.create_task_group() as tg:
            for part in plan_parts(info.st_size, part_size):
                token = object()  # a borrower unique to this part, across all concurrent files
                await ctx.slots.acquire_on_behalf_of(token)
                tg.start_soon(_upload_part, ctx, fd, dest, upload_id, part, builder, token)
        await to_thread.run_sync(fileio.check_unchanged, fd, info)
        remote = await _complete(ctx, dest, upload_id, builder)
    except BaseException:
        with anyio.CancelScope(shield=True), anyio.move_on_after(ABORT_TIMEOUT):
            await abort_upload(ctx, dest, upload_id)
        raise
    return builder.etag(), remote


async def _upload_part(ctx: Context, fd: int, dest: S3Location, upload_id: str, part: Part,
                       builder: CompositeBuilder, token: object) -> None:
    try:
        response, digest = await _send_part(ctx, fd, dest, upload_id, part)
    finally:
        ctx.slots.release_on_behalf_of(token)
    echoed = normalize(response.get("ETag"))
    if parse_etag(echoed) is not None and echoed != digest.hex():
        raise IntegrityError(f"part {part.number}: server ETag {echoed} differs from local MD5 {digest.hex()}")
    builder.add(part.number, digest, echoed or digest.hex())
    ctx.progress.advanced(part.size)


async def _send_part(ctx: Context, fd: int, dest: S3Location, upload_id: str, part: Part) -> tuple[Any, bytes]:
    # The part's buffer goes back to the pool before its slot is released.
    data, digest = await to_thread.run_sync(fileio.read_part, ctx.buffers, fd, part.offset, part.size)
    try:
        response = await with_retry(ctx.config, lambda: ctx.client.upload_part(
            Bucket=dest.bucket, Key=dest.key, UploadId=upload_id, PartNumber=part.number,
            Body=data, ContentMD5=content_md5(digest), **_checksum_args(ctx)))
    except BaseException:
        ctx.buffers.forget()  # a failed send may still hold the bytes: never reuse them
        raise
    ctx.buffers.give(data)
    return response, digest


async def _complete(ctx: Context, dest: S3Location, upload_id: str, builder: CompositeBuilder) -> str:
    parts = [{"PartNumber": n, "ETag": f'"{etag}"'} for n, etag in builder.part_etags()]
    response = await with_retry(ctx.config, lambda: ctx.client.complete_multipart_upload(
        Bucket=dest.bucket, Key=dest.key, UploadId=upload_id, MultipartUpload={"Parts": parts}))
    remote = normalize(response.get("ETag"))
    if not remote:  # Ceph answers Complete with an empty ETag; the object's HEAD has the real one
        head = await with_retry(ctx.config, lambda: ctx.client.head_object(Bucket=dest.bucket, Key=dest.key))
        remote = normalize(head.get("ETag"))
    return remote


async def abort_upload(ctx: Context, dest: S3Location, upload_id: str) -> None:
    """Abort, and if even that fails, say loudly what is left behind: the failure that got
    us here stays the error that propagates."""
    try:
        await with_retry(ctx.config, lambda: ctx.client.abort_multipart_upload(
            Bucket=dest.bucket, Key=dest.key, UploadId=upload_id))
    except Exception as exc:  # noqa: BLE001
        log.error("could not abort upload %s of %s (%s); run: s3ferry uploads abort %s",
                  upload_id, dest, describe(exc), dest)


async def _delete_quietly(ctx: Context, dest: S3Location) -> None:
    try:
        await ctx.client.delete_object(Bucket=dest.bucket, Key=dest.key)
    except Exception:  # noqa: BLE001 - the mismatch is the error worth reporting
        pass
