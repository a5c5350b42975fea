"""put: one local file to one S3 key, single PUT or streaming multipart upload."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from anyio import to_thread

from s3ferry.core import checksums, md5lanes
from s3ferry.core.checksums import encode_crc, etag_is_opaque
from s3ferry.core.config import DIRECT_READ, INLINE_READ
from s3ferry.core.errors import IntegrityError, UnverifiableError
from s3ferry.core.etag import content_md5, normalize, parse_etag, single_etag
from s3ferry.core.locations import S3Location
from s3ferry.core.object_options import write_params
from s3ferry.core.parts import choose_part_size, use_multipart
from s3ferry.core.results import TransferResult, Verdict
from s3ferry.local import files as fileio
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.batched import LocalBatches, run_local
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import failed
from s3ferry.ops.multipart import delete_quietly, single_put_args
from s3ferry.ops.put_parts import Sent, full_crc, multipart


async def upload_file(ctx: Context, path: Path, dest: S3Location, cache: HashCache | None = None) -> TransferResult:
    """Upload ``path`` to ``dest`` and verify the stored ETag. Never raises for a failed
    transfer: the result carries the error. Cancellation propagates (after cleanup).
    ``cache``: a verified upload is remembered there (a later sync then need not hash it)."""
    started = time.monotonic()
    try:
        result = await put_file(ctx, path, dest, cache=cache)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a result; cancellation is not an Exception
        result = failed("put", str(path), str(dest), exc, started)
    ctx.progress.finished(result)
    return result


async def put_file(ctx: Context, path: Path, dest: S3Location, *, conditions: Mapping[str, str] | None = None,
                   metadata: Mapping[str, str] | None = None, cache: HashCache | None = None) -> TransferResult:
    """``upload_file``'s work, raising on failure (a refused condition reaches the caller as
    the store's 412) and reporting nothing. ``conditions`` (IfMatch / IfNoneMatch) go with the
    PutObject or the CompleteMultipartUpload; ``metadata`` joins the object's user metadata."""
    started = time.monotonic()
    params = write_params(ctx.config.object_options, path.name)
    if metadata:
        params["Metadata"] = {**params.get("Metadata", {}), **metadata}
    # A single PUT's file is opened, read and hashed in one worker-thread hop, under the slot
    # its bytes take (a hop costs ~0.1 ms of CPU, as much as the request): taken before the
    # size is known, and given back at once for a multipart file, whose parts take their own.
    token = object()
    await ctx.slots.acquire_on_behalf_of(token)
    try:
        fd, info, whole = await _opened(ctx, path)
    except BaseException:
        ctx.slots.release_on_behalf_of(token)
        raise
    single = not use_multipart(info.st_size, ctx.config.multipart_threshold)
    budgeted = 0
    try:
        if not single:
            ctx.slots.release_on_behalf_of(token)
        elif whole is None:
            # Larger than a direct read: its bytes count in the part budget as a part's do,
            # so a tree of files just under the threshold holds no more than the budget.
            await ctx.buffers.reserve(info.st_size)
            budgeted = info.st_size
            whole = await to_thread.run_sync(_read_whole, fd, info, full_crc(ctx))
        ctx.progress.started(str(path), info.st_size)
        sent = await _upload(ctx, path, fd, info, dest, params, dict(conditions or {}), whole)
    finally:
        os.close(fd)
        if budgeted:
            ctx.buffers.release(budgeted)
        if single:
            ctx.slots.release_on_behalf_of(token)
    verdict, detail = _judge(ctx, sent)
    if verdict is Verdict.MISMATCH:
        await delete_quietly(ctx, dest)
        raise IntegrityError(f"stored {detail}; object deleted")
    if cache is not None and verdict is Verdict.MATCH and sent.remote:
        # With the stat taken before the bytes were read (a file edited meanwhile was refused
        # by the read's own check); remember only queues the row, so no hop is needed.
        cache.remember(path, info, sent.remote)
    return TransferResult("put", str(path), str(dest), info.st_size, sent.remote, verdict,
                          detail or sent.layout, time.monotonic() - started)


def _judge(ctx: Context, sent: Sent) -> tuple[Verdict, str]:
    if not ctx.config.verify:
        return Verdict.SKIPPED, "verification off"
    stored_crc = sent.reply.get("ChecksumCRC64NVME")
    if sent.crc and stored_crc and stored_crc != sent.crc:
        return Verdict.MISMATCH, f"CRC64NVME {stored_crc} differs from the local {sent.crc}"
    if parse_etag(sent.remote) is None or etag_is_opaque(sent.reply):
        if sent.crc and stored_crc:  # the store kept (and on AWS checked) our full-object CRC
            return Verdict.MATCH, f"{sent.layout}; store has our CRC64NVME {stored_crc} (ETag is not an MD5)"
        why = f"server ETag {sent.remote!r} is not an MD5 (SSE-KMS/SSE-C or non-AWS store)"
        if ctx.config.require_verify:
            raise UnverifiableError(why)
        return Verdict.UNVERIFIABLE, why
    if sent.remote != sent.local:
        return Verdict.MISMATCH, f"ETag {sent.remote} differs from the local {sent.local}"
    return Verdict.MATCH, f"{sent.layout}; CRC64NVME {stored_crc}" if sent.crc and stored_crc else ""


async def _upload(ctx: Context, path: Path, fd: int, info: os.stat_result, dest: S3Location,
                  params: dict[str, Any], conditions: dict[str, str], whole: Whole | None) -> Sent:
    if whole is None:
        part_size = choose_part_size(info.st_size, ctx.config.part_size)
        return await multipart(ctx, path, fd, info, dest, params, part_size, conditions)
    return await _single(ctx, whole, info, dest, params, conditions)


# A single PUT's bytes, their MD5 and (with --checksum crc64nvme) their CRC64NVME.
Whole = tuple[memoryview, bytes, "int | None"]


async def _opened(ctx: Context, path: Path) -> tuple[int, os.stat_result, Whole | None]:
    """``path`` opened, stat'ed and (a single PUT up to DIRECT_READ) read and hashed.

    In a tree, the open is on the event loop, and so are the read and hash of a file up to
    INLINE_READ: a thread hop costs more CPU than that (a worker woken, the GIL handed back and
    forth: 2,000 x 64 KiB put 0.93 -> 0.82 ms CPU per file, benchmarks/profile.md "smallops"),
    and the loop waits ~0.1 ms (the MD5). A larger read goes in a batched hop."""
    threshold, crc = ctx.config.multipart_threshold, full_crc(ctx)
    if ctx.batches is None:  # outside run_jobs: a hop of its own, as ever
        return await run_local(None, _open_and_read, path, threshold, crc)
    fd, info = fileio.open_for_upload(path)  # a stat and an open, on the loop
    try:
        if use_multipart(info.st_size, threshold) or info.st_size > DIRECT_READ:
            return fd, info, None
        if info.st_size <= INLINE_READ:
            return fd, info, await _read_inline(ctx.batches, fd, info, crc)
        return fd, info, await run_local(ctx.batches, _read_whole, fd, info, crc)
    except BaseException:  # a cancelled hop has ended (run_local waits for it) before this
        os.close(fd)
        raise


def _open_and_read(path: Path, threshold: int, crc: bool) -> tuple[int, os.stat_result, Whole | None]:
    """The one hop of a single PUT: open, stat, read, hash and check that the file did not
    change meanwhile. A file at or above ``threshold`` (multipart), or above DIRECT_READ (read
    later, under the part budget), is only opened."""
    fd, info = fileio.open_for_upload(path)
    if use_multipart(info.st_size, threshold) or info.st_size > DIRECT_READ:
        return fd, info, None
    try:
        return fd, info, _read_whole(fd, info, crc)
    except BaseException:
        os.close(fd)
        raise


async def _read_inline(batches: LocalBatches, fd: int, info: os.stat_result, crc: bool) -> Whole:
    """A small file read and hashed on the loop: its MD5 side by side in MD5 lanes with the
    other files' asked for in the same pass of the loop (LocalBatches.md5_small)."""
    if md5lanes.LANES == 1:
        return _read_whole(fd, info, crc)
    data = memoryview(fileio.pread_exact(fd, info.st_size, 0))
    fileio.check_unchanged(fd, info)
    return data, await batches.md5_small(data), checksums.crc64nvme(data) if crc else None


def _read_whole(fd: int, info: os.stat_result, crc: bool) -> Whole:
    data, digest = fileio.read_whole(fd, info)
    return data, digest, checksums.crc64nvme(data) if crc else None


async def _single(ctx: Context, whole: Whole, info: os.stat_result, dest: S3Location,
                  params: dict[str, Any], conditions: dict[str, str]) -> Sent:
    """The PUT of bytes read under a slot the caller holds."""
    data, digest, crc = whole
    extra = await single_put_args(ctx, data)
    if crc is not None:
        extra = {"ChecksumAlgorithm": "CRC64NVME", "ChecksumCRC64NVME": encode_crc(crc)}
    response = await ctx.store.put(dest, data, ContentMD5=content_md5(digest), **params, **conditions, **extra)
    ctx.progress.advanced(info.st_size)
    return Sent(single_etag(digest), normalize(response.get("ETag")), "single PUT", response,
                encode_crc(crc) if crc is not None else None)
