"""put: one local file to one S3 key, single PUT or streaming multipart upload."""

from __future__ import annotations

import hashlib
import os
import time
from collections.abc import Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

from anyio import CancelScope, to_thread

from s3ferry.core import checksums
from s3ferry.core.checksums import CrcBuilder, encode_crc, etag_is_opaque
from s3ferry.core.config import DIRECT_READ, HASH_BLOCK, INLINE_READ, META_PART_SIZE
from s3ferry.core.errors import IntegrityError, SourceChangedError, UnverifiableError
from s3ferry.core.etag import CompositeBuilder, content_md5, normalize, parse_etag, single_etag
from s3ferry.core.locations import S3Location
from s3ferry.core.object_options import write_params
from s3ferry.core.parts import Part, choose_part_size, part_count, plan_parts, use_multipart
from s3ferry.core.results import TransferResult, Verdict
from s3ferry.core.resume import StoredPart, reusable, worth_hashing
from s3ferry.local import files as fileio
from s3ferry.local.buffers import PartBuffers
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.batched import run_local
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import failed
from s3ferry.ops.multipart import complete_upload, delete_quietly, guarded_upload, send_parts
from s3ferry.ops.resume.uploads import find_upload, note_upload


@dataclass(frozen=True, slots=True)
class Sent:
    """What an upload sent and what the store answered."""

    local: str  # the ETag our bytes make
    remote: str  # the ETag the store reports
    layout: str
    reply: Mapping[str, Any]  # the PutObject / CompleteMultipartUpload reply
    crc: str | None = None  # the full-object CRC64NVME we sent, base64


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
            whole = await to_thread.run_sync(_read_whole, fd, info, _full_crc(ctx))
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
        return await _multipart(ctx, path, fd, info, dest, params, part_size, conditions)
    return await _single(ctx, whole, info, dest, params, conditions)


def _full_crc(ctx: Context) -> bool:
    """crc64nvme: we send the whole object's CRC64NVME, so a store that supports it checks
    the bytes end to end. crc32/crc32c: botocore adds its per-request checksums."""
    return ctx.config.checksum == "crc64nvme"


def _checksum_args(ctx: Context) -> dict[str, Any]:
    mode = ctx.config.checksum
    return {} if mode in ("off", "crc64nvme") else {"ChecksumAlgorithm": mode.upper()}


def _read_part(fd: int, offset: int, size: int, crc: bool,
               buffers: PartBuffers) -> tuple[memoryview, bytes, int | None]:
    data, digest = fileio.read_part(buffers, fd, offset, size)
    try:
        return data, digest, checksums.crc64nvme(data) if crc else None
    except BaseException:
        buffers.discard(data)
        raise


# A single PUT's bytes, their MD5 and (with --checksum crc64nvme) their CRC64NVME.
Whole = tuple[memoryview, bytes, "int | None"]


async def _opened(ctx: Context, path: Path) -> tuple[int, os.stat_result, Whole | None]:
    """``path`` opened, stat'ed and (a single PUT up to DIRECT_READ) read and hashed.

    In a tree, the open is on the event loop, and so are the read and hash of a file up to
    INLINE_READ: a thread hop costs more CPU than that (a worker woken, the GIL handed back and
    forth: 2,000 x 64 KiB put 0.93 -> 0.82 ms CPU per file, benchmarks/profile.md "smallops"),
    and the loop waits ~0.1 ms (the MD5). A larger read goes in a batched hop."""
    threshold, crc = ctx.config.multipart_threshold, _full_crc(ctx)
    if ctx.batches is None:  # outside run_jobs: a hop of its own, as ever
        return await run_local(None, _open_and_read, path, threshold, crc)
    fd, info = fileio.open_for_upload(path)  # a stat and an open, on the loop
    try:
        if use_multipart(info.st_size, threshold) or info.st_size > DIRECT_READ:
            return fd, info, None
        if info.st_size <= INLINE_READ:
            return fd, info, _read_whole(fd, info, crc)
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


def _read_whole(fd: int, info: os.stat_result, crc: bool) -> Whole:
    data, digest = fileio.read_whole(fd, info)
    return data, digest, checksums.crc64nvme(data) if crc else None


async def _single(ctx: Context, whole: Whole, info: os.stat_result, dest: S3Location,
                  params: dict[str, Any], conditions: dict[str, str]) -> Sent:
    """The PUT of bytes read under a slot the caller holds."""
    data, digest, crc = whole
    extra = _checksum_args(ctx)
    if crc is not None:
        extra = {"ChecksumAlgorithm": "CRC64NVME", "ChecksumCRC64NVME": encode_crc(crc)}
    response = await ctx.store.put(dest, data, ContentMD5=content_md5(digest), **params, **conditions, **extra)
    ctx.progress.advanced(info.st_size)
    return Sent(single_etag(digest), normalize(response.get("ETag")), "single PUT", response,
                encode_crc(crc) if crc is not None else None)


async def _multipart(ctx: Context, path: Path, fd: int, info: os.stat_result, dest: S3Location,
                     params: dict[str, Any], part_size: int, conditions: dict[str, str]) -> Sent:
    count = part_count(info.st_size, part_size)
    crcs = CrcBuilder(count) if _full_crc(ctx) else None
    extra = {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": checksums.FULL_OBJECT} if crcs else _checksum_args(ctx)
    entry = ctx.journal.entry("put", dest.bucket, dest.key, path)
    found = await find_upload(ctx, entry, path, info, dest, part_size)
    if found is not None:
        upload_id, stored = found
    else:
        upload_id, stored = await ctx.store.create_upload(
            dest, **{**params, "Metadata": {**params.get("Metadata", {}), META_PART_SIZE: str(part_size)}}, **extra), {}
    kept = (f"put {path} -> {dest}: upload {upload_id}; re-run the same command "
            f"to resume, or abort it: s3ferry uploads abort {dest}")
    async with guarded_upload(ctx, dest, upload_id, kept=kept,
                              on_abort=partial(to_thread.run_sync, ctx.journal.remove, entry)):
        if found is None:
            await note_upload(ctx, entry, path, info, dest, upload_id, part_size)
        builder = CompositeBuilder(count)
        reused = [0]
        await send_parts(ctx, plan_parts(info.st_size, part_size), lambda part, token: _place_part(
            ctx, fd, dest, upload_id, part, stored.get(part.number), builder, crcs, token, reused))
        await to_thread.run_sync(fileio.check_unchanged, fd, info)
        reply = await complete_upload(ctx, dest, upload_id, builder, crcs, **conditions)
    await to_thread.run_sync(ctx.journal.remove, entry)
    resumed = f"; resumed: {reused[0]} of {count} parts were already stored" if reused[0] else ""
    return Sent(builder.etag(), normalize(reply.get("ETag")), f"{count} parts of {part_size}{resumed}", reply,
                crcs.value() if crcs else None)


async def _place_part(ctx: Context, fd: int, dest: S3Location, upload_id: str, part: Part,
                      stored: StoredPart | None, builder: CompositeBuilder, crcs: CrcBuilder | None,
                      token: object, reused: list[int]) -> None:
    """Keep a stored part whose ETag is the local part's MD5 (hashing is cheap next to
    sending); send the part otherwise."""
    if worth_hashing(part, stored):
        try:
            digest, crc = await to_thread.run_sync(_hash_part, fd, part, crcs is not None)
        except BaseException:
            ctx.slots.release_on_behalf_of(token)
            raise
        if reusable(part, stored, digest):
            ctx.slots.release_on_behalf_of(token)
            builder.add(part.number, digest, stored.etag)  # type: ignore[union-attr]
            if crcs is not None and crc is not None:
                crcs.add(part.number, crc, part.size)
            reused[0] += 1
            ctx.progress.advanced(part.size)
            return
    await _upload_part(ctx, fd, dest, upload_id, part, builder, crcs, token)


def _hash_part(fd: int, part: Part, crc: bool) -> tuple[bytes, int | None]:
    """A stored part's MD5 (and CRC), a block at a time: re-hashing holds no part buffer."""
    md5, value, offset, end = hashlib.md5(), 0, part.offset, part.end
    while offset < end:
        block = os.pread(fd, min(HASH_BLOCK, end - offset), offset)
        if not block:
            raise SourceChangedError(f"file shrank while reading (wanted {part.size} bytes at {part.offset})")
        md5.update(block)
        if crc:
            value = checksums.crc64nvme(block, value)
        offset += len(block)
    return md5.digest(), value if crc else None


async def _upload_part(ctx: Context, fd: int, dest: S3Location, upload_id: str, part: Part,
                       builder: CompositeBuilder, crcs: CrcBuilder | None, token: object) -> None:
    try:
        response, digest, crc = await _send_part(ctx, fd, dest, upload_id, part, crcs is not None)
    finally:
        ctx.slots.release_on_behalf_of(token)
    echoed = normalize(response.get("ETag"))
    builder.add(part.number, digest, echoed or digest.hex())
    if crcs is not None and crc is not None:
        crcs.add(part.number, crc, part.size)
    ctx.progress.advanced(part.size)


async def _send_part(ctx: Context, fd: int, dest: S3Location, upload_id: str, part: Part,
                     crc: bool = False) -> tuple[Any, bytes, int | None]:
    # Room in the memory budget first: parts beyond it wait here, holding no buffer. The
    # part's buffer goes back to the pool before its slot is released.
    await ctx.buffers.reserve(part.size)
    try:
        # Shielded: the thread finishes its read either way, and a cancellation must then
        # reach the send below, whose clean-up gives the buffer back to the count.
        with CancelScope(shield=True):
            data, digest, value = await to_thread.run_sync(_read_part, fd, part.offset, part.size, crc,
                                                           ctx.buffers)
    except BaseException:
        ctx.buffers.release(part.size)
        raise
    extra = _checksum_args(ctx) if value is None else {"ChecksumCRC64NVME": encode_crc(value)}
    try:
        response = await ctx.store.upload_part(dest, upload_id, part.number, data, digest, **extra)
    except BaseException:
        ctx.buffers.forget(data)  # a failed send may still hold the bytes: never reuse them
        raise
    ctx.buffers.give(data)
    return response, digest, value
