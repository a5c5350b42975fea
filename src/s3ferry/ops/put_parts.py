"""put's multipart side: a file's parts read and hashed in the memory budget, sent (or kept
from a resumed upload when their MD5 matches), and the upload completed."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import anyio
from anyio import CancelScope, to_thread

from s3ferry.core import checksums
from s3ferry.core.checksums import CrcBuilder, PartChecksums, encode_crc
from s3ferry.core.config import META_PART_SIZE
from s3ferry.core.etag import CompositeBuilder, normalize
from s3ferry.core.locations import S3Location
from s3ferry.core.md5lanes import Md5
from s3ferry.core.parts import Part, part_count, plan_parts
from s3ferry.core.resume import StoredPart, reusable, worth_hashing
from s3ferry.local import files as fileio
from s3ferry.local.buffers import PartBuffers
from s3ferry.local.lanes import LaneJob
from s3ferry.ops import put_ahead
from s3ferry.ops.batched import run_lane, run_local
from s3ferry.ops.context import Context
from s3ferry.ops.multipart import complete_upload, create_args, guarded_upload, part_args, part_checksums, send_parts
from s3ferry.ops.put_ahead import PartDigests
from s3ferry.ops.resume.uploads import find_upload, note_upload


@dataclass(frozen=True, slots=True)
class Sent:
    """What an upload sent and what the store answered."""

    local: str  # the ETag our bytes make
    remote: str  # the ETag the store reports
    layout: str
    reply: Mapping[str, Any]  # the PutObject / CompleteMultipartUpload reply
    crc: str | None = None  # the full-object CRC64NVME we sent, base64


def full_crc(ctx: Context) -> bool:
    """crc64nvme: we send the whole object's CRC64NVME, so a store that supports it checks
    the bytes end to end. crc32/crc32c: each part's CRC (ops.multipart.part_checksums)."""
    return ctx.config.checksum == "crc64nvme"


Crc = Callable[..., int]  # (data, previous=0) -> CRC: checksums.crc64nvme or PartChecksums.of


def read_part(fd: int, offset: int, size: int, crc: Crc | None,
              buffers: PartBuffers) -> LaneJob[tuple[memoryview, int | None]]:
    """A lane job: the part read into a buffer from ``buffers`` and hashed, then its CRC."""
    data = yield from fileio.read_part_job(buffers, fd, offset, size)
    try:
        return data, crc(data) if crc is not None else None
    except BaseException:
        buffers.discard(data)
        raise



async def multipart(ctx: Context, path: Path, fd: int, info: os.stat_result, dest: S3Location,
                     params: dict[str, Any], part_size: int, conditions: dict[str, str]) -> Sent:
    count = part_count(info.st_size, part_size)
    crcs = CrcBuilder(count) if full_crc(ctx) else None
    sums = None if crcs else part_checksums(ctx)
    extra = {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": checksums.FULL_OBJECT} if crcs else create_args(sums)
    sums_of = _Sums(crcs, sums)
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
        parts = list(plan_parts(info.st_size, part_size))
        async with anyio.create_task_group() as tg:
            digests = PartDigests(fd, parts, sums_of.crc) if put_ahead.worth_it() else None
            if digests is not None:
                tg.start_soon(digests.run)
            source = _Source(fd, info, digests)
            await send_parts(ctx, parts, lambda part, token: _place_part(
                ctx, source, dest, upload_id, part, stored.get(part.number), builder, sums_of, token, reused))
        await to_thread.run_sync(fileio.check_unchanged, fd, info)
        reply = await complete_upload(ctx, dest, upload_id, builder, crcs, sums=sums, **conditions)
    await to_thread.run_sync(ctx.journal.remove, entry)
    resumed = f"; resumed: {reused[0]} of {count} parts were already stored" if reused[0] else ""
    return Sent(builder.etag(), normalize(reply.get("ETag")), f"{count} parts of {part_size}{resumed}", reply,
                crcs.value() if crcs else None)


@dataclass(frozen=True, slots=True)
class _Source:
    """The file a multipart put sends, and its parts' MD5s when they are hashed ahead."""

    fd: int
    info: os.stat_result
    digests: PartDigests | None


@dataclass(frozen=True, slots=True)
class _Sums:
    """The CRCs an upload keeps of its parts: the FULL_OBJECT CRC64NVME's (``crcs``), or a
    COMPOSITE upload's CRC32/CRC32C (``sums``); neither without --checksum."""

    crcs: CrcBuilder | None
    sums: PartChecksums | None

    @property
    def crc(self) -> Crc | None:
        if self.crcs is not None:
            return checksums.crc64nvme
        return self.sums.of if self.sums is not None else None

    def keep(self, part: Part, crc: int | None) -> dict[str, str]:
        """Note the part's CRC; UploadPart's checksum parameters for it."""
        if crc is None:
            return {}
        if self.crcs is not None:
            self.crcs.add(part.number, crc, part.size)
            return {"ChecksumCRC64NVME": encode_crc(crc)}
        return part_args(self.sums, part.number, crc)


async def _place_part(ctx: Context, source: _Source, dest: S3Location, upload_id: str, part: Part,
                      stored: StoredPart | None, builder: CompositeBuilder, crcs: _Sums,
                      token: object, reused: list[int]) -> None:
    """Keep a stored part whose ETag is the local part's MD5 (hashing is cheap next to
    sending); send the part otherwise."""
    known = None
    if source.digests is not None or worth_hashing(part, stored):
        try:
            known = await (source.digests.get(part) if source.digests is not None
                           else to_thread.run_sync(fileio.hash_part, source.fd, part.offset, part.size, crcs.crc))
        except BaseException:
            ctx.slots.release_on_behalf_of(token)
            raise
        digest, crc = known
        if worth_hashing(part, stored) and reusable(part, stored, digest):
            ctx.slots.release_on_behalf_of(token)
            builder.add(part.number, digest, stored.etag)  # type: ignore[union-attr]
            # The kept part's bytes are ours (its ETag is their MD5): so is the CRC computed here.
            crcs.keep(part, crc)
            reused[0] += 1
            ctx.progress.advanced(part.size)
            return
        if source.digests is None:
            known = None  # hashed for the comparison only: the send reads and hashes again
    await _upload_part(ctx, source, dest, upload_id, part, builder, crcs, token, known)


async def _upload_part(ctx: Context, source: _Source, dest: S3Location, upload_id: str, part: Part,
                       builder: CompositeBuilder, crcs: _Sums, token: object,
                       known: tuple[bytes, int | None] | None) -> None:
    try:
        response, digest = await _send_part(ctx, source, dest, upload_id, part, crcs, known)
    finally:
        ctx.slots.release_on_behalf_of(token)
    echoed = normalize(response.get("ETag"))
    builder.add(part.number, digest, echoed or digest.hex())
    ctx.progress.advanced(part.size)


async def _send_part(ctx: Context, source: _Source, dest: S3Location, upload_id: str, part: Part,
                     crcs: _Sums, known: tuple[bytes, int | None] | None) -> tuple[Any, bytes]:
    # Room in the memory budget first: parts beyond it wait here, holding no buffer. The
    # part's buffer goes back to the pool before its slot is released.
    await ctx.buffers.reserve(part.size)
    try:
        # Shielded: the thread finishes its read either way, and a cancellation must then
        # reach the send below, whose clean-up gives the buffer back to the count.
        with CancelScope(shield=True):
            data, digest, value = await _read(ctx, source, part, crcs, known)
    except BaseException:
        ctx.buffers.release(part.size)
        raise
    extra = crcs.keep(part, value)
    try:
        response = await ctx.store.upload_part(dest, upload_id, part.number, data, digest, **extra)
    except BaseException:
        ctx.buffers.forget(data)  # a failed send may still hold the bytes: never reuse them
        raise
    ctx.buffers.give(data)
    return response, digest


async def _read(ctx: Context, source: _Source, part: Part, crcs: _Sums,
                known: tuple[bytes, int | None] | None) -> tuple[memoryview, bytes, int | None]:
    """The part's bytes in a buffer of the budget, with their MD5 and CRC: hashed ahead
    (``known``: read again, and the file checked unchanged since, so the bytes are the ones
    hashed), or hashed here as they are read."""
    if known is not None:
        data = await run_local(ctx.batches, _read_unchanged, ctx.buffers, source, part)
        return data, known[0], known[1]
    md5 = Md5()
    data, value = await run_lane(ctx.batches, md5, read_part(source.fd, part.offset, part.size, crcs.crc, ctx.buffers))
    return data, md5.digest(), value


def _read_unchanged(buffers: PartBuffers, source: _Source, part: Part) -> memoryview:
    data = fileio.read_into_part(buffers, source.fd, part.offset, part.size)
    try:
        fileio.check_unchanged(source.fd, source.info)
    except BaseException:
        buffers.discard(data)
        raise
    return data
