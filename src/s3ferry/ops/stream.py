"""Streams: ``put -`` uploads stdin of unknown length as it arrives; ``cat`` (and ``get KEY -``)
writes an object to stdout in order while ranges are fetched in parallel.

put -: parts are read into fresh buffers only while holding a slot of the global limit and
room in the part budget, so memory is the budget (at least one part); an input that ends inside its first part (or exactly
at its end) is one PutObject. The composite ETag is computed from the parts sent and must be
the store's. cat: at most the part budget's worth of ranges (Config.parts_in_flight) are
fetched or waiting to be written;
the ETag is computed over the bytes in the order written and checked at the end. The bytes
are out by then, so a mismatch says so (exit 3)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import anyio
from anyio import to_thread

from s3ferry.core.checksums import PartChecksums, etag_is_opaque
from s3ferry.core.config import META_PART_SIZE
from s3ferry.core.errors import IntegrityError, UnverifiableError
from s3ferry.core.etag import CompositeBuilder, ETag, content_md5, normalize, parse_etag
from s3ferry.core.layout import UNKNOWN, Layout, candidate_part_sizes
from s3ferry.core.locations import S3Location
from s3ferry.core.object_options import write_params
from s3ferry.core.parts import Part, plan_parts
from s3ferry.core.results import TransferResult, Verdict
from s3ferry.core.streams import InOrderHasher, check_part_number, stream_part_size
from s3ferry.local.streams import InputStream, OutputStream
from s3ferry.ops.batched import md5_of
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import failed
from s3ferry.ops.layout import remote_layout
from s3ferry.ops.multipart import (
    complete_upload,
    create_args,
    delete_quietly,
    guarded_upload,
    part_args,
    part_checksums,
    single_put_args,
)
from s3ferry.ops.remote import read_into_buffer

STDIN = "-"


@dataclass
class _Part:
    number: int
    token: object
    buffer: bytearray
    size: int


# ---- put - ------------------------------------------------------------------------------

async def put_stream(ctx: Context, stream: InputStream, dest: S3Location, *,
                     expected_size: int | None = None) -> TransferResult:
    """Upload everything ``stream`` holds to ``dest``. Never raises for a failed transfer."""
    started = time.monotonic()
    try:
        part_size = stream_part_size(ctx.config.part_size, expected_size)
        ctx.progress.started(STDIN, expected_size or 0)
        local, reply, size, layout = await _send_stream(ctx, stream, dest, part_size)
        verdict, detail = _judge(ctx, local, reply)
        if verdict is Verdict.MISMATCH:
            await delete_quietly(ctx, dest)
            raise IntegrityError(f"stored {detail}; object deleted")
        result = TransferResult("put", STDIN, str(dest), size, normalize(reply.get("ETag")), verdict,
                                detail or layout, time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a result
        result = failed("put", STDIN, str(dest), exc, started)
    ctx.progress.finished(result)
    return result


async def _read_part(ctx: Context, stream: InputStream, number: int, part_size: int) -> _Part:
    token = object()
    # The buffer exists only while its slot and its room in the part budget are held: memory is
    # the budget, not -c x part size.
    await ctx.slots.acquire_on_behalf_of(token)
    try:
        await ctx.buffers.reserve(part_size)
    except BaseException:
        ctx.slots.release_on_behalf_of(token)
        raise
    part = _Part(number, token, bytearray(part_size), 0)
    try:
        part.size = await stream.fill(memoryview(part.buffer))
        return part
    except BaseException:
        _free(ctx, part)
        raise


def _free(ctx: Context, part: _Part) -> None:
    """Give back a part's slot and its room in the budget, and drop its buffer."""
    ctx.slots.release_on_behalf_of(part.token)
    ctx.buffers.release(len(part.buffer))
    part.buffer = bytearray()


async def _send_stream(ctx: Context, stream: InputStream, dest: S3Location,
                       part_size: int) -> tuple[str, Any, int, str]:
    params = write_params(ctx.config.object_options, dest.key)
    first = await _read_part(ctx, stream, 1, part_size)
    try:
        second = await _read_part(ctx, stream, 2, part_size) if first.size == part_size else None
    except BaseException:
        _free(ctx, first)
        raise
    if second is not None and second.size == 0:
        _free(ctx, second)
        second = None
    if second is None:  # the input ended within one part: one PUT
        return await _single(ctx, dest, first, params)
    return await _multipart(ctx, stream, dest, part_size, first, second, params)


async def _single(ctx: Context, dest: S3Location, part: _Part, params: dict[str, Any]) -> tuple[str, Any, int, str]:
    try:
        data = memoryview(part.buffer)[:part.size]
        digest = await md5_of(ctx.batches, data)
        reply = await ctx.store.put(dest, data, ContentMD5=content_md5(digest), **params,
                                    **await single_put_args(ctx, data))
    finally:
        _free(ctx, part)
    ctx.progress.advanced(part.size)
    return digest.hex(), reply, part.size, "stdin, single PUT"


async def _multipart(ctx: Context, stream: InputStream, dest: S3Location, part_size: int, first: _Part,
                     second: _Part, params: dict[str, Any]) -> tuple[str, Any, int, str]:
    params["Metadata"] = {**params.get("Metadata", {}), META_PART_SIZE: str(part_size)}
    sums = part_checksums(ctx)
    try:
        upload_id = await ctx.store.create_upload(dest, **params, **create_args(sums))
    except BaseException:
        _free(ctx, first)
        _free(ctx, second)
        raise
    sent: dict[int, tuple[bytes, str]] = {}
    total = 0
    async with guarded_upload(ctx, dest, upload_id):
        async with anyio.create_task_group() as tg:
            queued: list[_Part] = [first, second]
            while True:
                part = queued.pop(0)
                if part.size == 0:
                    _free(ctx, part)
                    break
                check_part_number(part.number, part_size)
                total += part.size
                tg.start_soon(_send_part, ctx, dest, upload_id, part, sent, sums)
                if part.size < part_size:
                    break
                if not queued:
                    queued.append(await _read_part(ctx, stream, part.number + 1, part_size))
        builder = CompositeBuilder(len(sent))
        for number, (digest, etag) in sent.items():
            builder.add(number, digest, etag)
        reply = await complete_upload(ctx, dest, upload_id, builder, sums=sums)
    return builder.etag(), reply, total, f"stdin, {len(sent)} parts of {part_size}"


async def _send_part(ctx: Context, dest: S3Location, upload_id: str, part: _Part,
                     sent: dict[int, tuple[bytes, str]], sums: PartChecksums | None) -> None:
    try:
        data = memoryview(part.buffer)[:part.size]
        digest = await md5_of(ctx.batches, data)
        crc = await to_thread.run_sync(sums.of, data) if sums is not None else None
        reply = await ctx.store.upload_part(dest, upload_id, part.number, data, digest,
                                            **part_args(sums, part.number, crc))
    finally:
        _free(ctx, part)  # the slot is free: so is the memory
    sent[part.number] = (digest, normalize(reply.get("ETag")) or digest.hex())
    ctx.progress.advanced(part.size)


def _judge(ctx: Context, local: str, reply: Any) -> tuple[Verdict, str]:
    remote = normalize(reply.get("ETag"))
    if not ctx.config.verify:
        return Verdict.SKIPPED, "verification off"
    if parse_etag(remote) is None or etag_is_opaque(reply):
        return _unverifiable(ctx, f"server ETag {remote!r} is not an MD5 (SSE-KMS/SSE-C or non-AWS store)")
    if remote != local:
        return Verdict.MISMATCH, f"ETag {remote} differs from the bytes read ({local})"
    return Verdict.MATCH, ""


def _unverifiable(ctx: Context, why: str) -> tuple[Verdict, str]:
    if ctx.config.require_verify:
        raise UnverifiableError(why)
    return Verdict.UNVERIFIABLE, why


# ---- cat --------------------------------------------------------------------------------

async def cat_object(ctx: Context, loc: S3Location, out: OutputStream) -> TransferResult:
    """Write ``loc`` to ``out`` in order and check its ETag. Never raises for a failed
    transfer; a mismatch found after the bytes went out is a failure that says so."""
    started = time.monotonic()
    try:
        head = await ctx.store.head(loc)
        size, etag_raw = int(head["ContentLength"]), head.get("ETag", "")
        etag = None if etag_is_opaque(head) else parse_etag(etag_raw)
        ctx.progress.started(str(loc), size)
        layout = await remote_layout(ctx, loc, size, etag, head.get("Metadata") or {}) if etag else UNKNOWN
        range_size = layout.part_size or ctx.config.part_size
        hasher = _hasher(etag, layout, size, range_size)
        await _write_ranges(ctx, loc, etag_raw, size, range_size, out, hasher)
        verdict, detail = _judge_cat(ctx, loc, etag, layout, hasher)
        result = TransferResult("cat", str(loc), STDIN, size, normalize(etag_raw), verdict, detail,
                                time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001
        result = failed("cat", str(loc), STDIN, exc, started, what=str(loc))
    ctx.progress.finished(result)
    return result


def _hasher(etag: ETag | None, layout: Layout, size: int, range_size: int) -> InOrderHasher | None:
    if etag is None:
        return None
    if not etag.is_multipart:
        return InOrderHasher([])
    if layout.part_size:
        return InOrderHasher([layout.part_size], whole=False)
    # Unknown layout (a foreign upload on a store that ignores PartNumber): every plausible
    # part size is hashed in the same pass, as verify's guesser does over a file.
    sizes = {range_size, *candidate_part_sizes(size, etag.parts or 0).sizes}
    return InOrderHasher(sorted(sizes), whole=False)


async def _write_ranges(ctx: Context, loc: S3Location, etag_raw: str, size: int, range_size: int,
                        out: OutputStream, hasher: InOrderHasher | None) -> None:
    parts = plan_parts(size, range_size)
    whole = size <= range_size
    # The queue holds ranges in flight or waiting in order: its bound is the reorder window.
    window = ctx.config.parts_in_flight(range_size)
    send, receive = anyio.create_memory_object_stream[tuple[anyio.Event, list]](window - 1)

    async def fetch(part: Part, done: anyio.Event, holder: list) -> None:
        holder.append(await ctx.store.retry(lambda: _read_range(ctx, loc, etag_raw, part, whole)))
        done.set()

    async def produce() -> None:
        async with send:
            for part in parts:
                done, holder = anyio.Event(), []
                await send.send((done, holder))
                tg.start_soon(fetch, part, done, holder)

    async with anyio.create_task_group() as tg:
        tg.start_soon(produce)
        async with receive:
            async for done, holder in receive:
                await done.wait()
                data = holder.pop()
                if hasher is not None:
                    await to_thread.run_sync(hasher.update, data)
                await out.write(data)
                ctx.progress.advanced(len(data))


async def _read_range(ctx: Context, loc: S3Location, etag_raw: str, part: Part, whole: bool) -> bytearray:
    async with ctx.slots:
        return await read_into_buffer(ctx, loc, part, etag_raw or None, whole)


def _judge_cat(ctx: Context, loc: S3Location, etag: ETag | None, layout: Layout,
               hasher: InOrderHasher | None) -> tuple[Verdict, str]:
    if not ctx.config.verify:
        return Verdict.SKIPPED, "verification off"
    if etag is None or hasher is None:
        return _unverifiable(ctx, "ETag is not an MD5 (SSE-KMS/SSE-C or non-AWS store)")
    found = {size: value for size, value in hasher.etags().items() if value == str(etag)}
    if found:
        size = next(iter(found))
        return Verdict.MATCH, layout.source if layout.known else f"guessed: parts of {size}"
    if etag.is_multipart and not layout.known:
        return _unverifiable(ctx, f"unknown part layout for {etag}: no candidate part size matched")
    raise IntegrityError(f"the bytes written do not match the object's ETag {etag}; they are already "
                         f"out: discard them (the object was changed or corrupted on the way)")
