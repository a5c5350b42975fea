"""put: one local file to one S3 key, single PUT or streaming multipart upload."""

from __future__ import annotations

import logging
import mimetypes
import os
import time
from pathlib import Path
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import anyio
from anyio import to_thread
from botocore.exceptions import ClientError

from . import checksums, fileio
from .client import create_multipart_upload, map_error
from .config import META_PART_SIZE
from .context import Context
from .errors import IntegrityError, RangeIntegrityError, SourceChangedError, TransferError, UnverifiableError, describe
from .checksums import CrcBuilder, encode_crc, etag_is_opaque
from .etag import CompositeBuilder, content_md5, normalize, parse_etag, single_etag
from .journal import PutRecord
from .locations import S3Location
from .planning import Part, choose_part_size, part_count, plan_parts, use_multipart
from .results import TransferResult, Verdict, report_kept
from .resume import StoredPart, fits_plan, reusable, worth_hashing
from .retry import with_retry
from .uploads import list_parts, uploads_of_key

ABORT_TIMEOUT = 30.0
log = logging.getLogger("s3ferry")


@dataclass(frozen=True, slots=True)
class Sent:
    """What an upload sent and what the store answered."""

    local: str  # the ETag our bytes make
    remote: str  # the ETag the store reports
    layout: str
    reply: Mapping[str, Any]  # the PutObject / CompleteMultipartUpload reply
    crc: str | None = None  # the full-object CRC64NVME we sent, base64


async def upload_file(ctx: Context, path: Path, dest: S3Location) -> TransferResult:
    """Upload ``path`` to ``dest`` and verify the stored ETag. Never raises for a failed
    transfer: the result carries the error. Cancellation propagates (after cleanup)."""
    started = time.monotonic()
    source = str(path)
    try:
        fd, info = await to_thread.run_sync(fileio.open_for_upload, path)
        try:
            ctx.progress.started(source, info.st_size)
            sent = await _upload(ctx, path, fd, info, dest, _content_type(path))
        finally:
            os.close(fd)
        verdict, detail = _judge(ctx, sent)
        if verdict is Verdict.MISMATCH:
            await delete_quietly(ctx, dest)
            raise IntegrityError(f"stored {detail}; object deleted")
        result = TransferResult("put", source, str(dest), info.st_size, sent.remote, verdict,
                                detail or sent.layout, time.monotonic() - started)
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
                  content_type: str) -> Sent:
    if use_multipart(info.st_size, ctx.config.multipart_threshold):
        part_size = choose_part_size(info.st_size, ctx.config.part_size)
        return await _multipart(ctx, path, fd, info, dest, content_type, part_size)
    return await _single(ctx, fd, info, dest, content_type)


def _full_crc(ctx: Context) -> bool:
    """crc64nvme: we send the whole object's CRC64NVME, so a store that supports it checks
    the bytes end to end. crc32/crc32c: botocore adds its per-request checksums."""
    return ctx.config.checksum == "crc64nvme"


def _checksum_args(ctx: Context) -> dict[str, Any]:
    mode = ctx.config.checksum
    return {} if mode in ("off", "crc64nvme") else {"ChecksumAlgorithm": mode.upper()}


def _read_part(fd: int, offset: int, size: int, crc: bool,
               buffers: fileio.PartBuffers) -> tuple[memoryview, bytes, int | None]:
    data, digest = fileio.read_part(buffers, fd, offset, size)
    try:
        return data, digest, checksums.crc64nvme(data) if crc else None
    except BaseException:
        buffers.forget()
        raise


def _read_whole(fd: int, info: os.stat_result, crc: bool) -> tuple[memoryview, bytes, int | None]:
    """One hop for a single PUT's bytes and the check that the file did not change meanwhile."""
    data, digest = fileio.read_whole(fd, info)
    return data, digest, checksums.crc64nvme(data) if crc else None


async def _single(ctx: Context, fd: int, info: os.stat_result, dest: S3Location,
                  content_type: str) -> Sent:
    async with ctx.slots:
        data, digest, crc = await to_thread.run_sync(_read_whole, fd, info, _full_crc(ctx))
        extra = _checksum_args(ctx)
        if crc is not None:
            extra = {"ChecksumAlgorithm": "CRC64NVME", "ChecksumCRC64NVME": encode_crc(crc)}
        response = await with_retry(ctx.config, lambda: ctx.client.put_object(
            Bucket=dest.bucket, Key=dest.key, Body=data, ContentMD5=content_md5(digest),
            ContentType=content_type, **extra))
    ctx.progress.advanced(info.st_size)
    return Sent(single_etag(digest), normalize(response.get("ETag")), "single PUT", response,
                encode_crc(crc) if crc is not None else None)


async def _multipart(ctx: Context, path: Path, fd: int, info: os.stat_result, dest: S3Location,
                     content_type: str, part_size: int) -> Sent:
    count = part_count(info.st_size, part_size)
    crcs = CrcBuilder(count) if _full_crc(ctx) else None
    extra = {"ChecksumAlgorithm": "CRC64NVME", "ChecksumType": checksums.FULL_OBJECT} if crcs else _checksum_args(ctx)
    entry = ctx.journal.entry("put", dest.bucket, dest.key, path)
    found = await _find_upload(ctx, entry, path, info, dest, part_size)
    if found is not None:
        upload_id, stored = found
    else:
        upload_id, stored = await create_multipart_upload(
            ctx.client, ctx.config, dest.bucket, dest.key, ContentType=content_type,
            Metadata={META_PART_SIZE: str(part_size)}, **extra), {}
    # From here on, every way out that is not success aborts the upload (no billed orphans),
    # unless --keep-partial asked to keep it for a resume.
    try:
        if found is None:
            await _note(ctx, entry, path, info, dest, upload_id, part_size)
        builder = CompositeBuilder(count)
        reused = [0]
        async with anyio.create_task_group() as tg:
            for part in plan_parts(info.st_size, part_size):
                token = object()  # a borrower unique to this part, across all concurrent files
                await ctx.slots.acquire_on_behalf_of(token)
                tg.start_soon(_place_part, ctx, fd, dest, upload_id, part, stored.get(part.number),
                              builder, crcs, token, reused)
        await to_thread.run_sync(fileio.check_unchanged, fd, info)
        reply = await complete_upload(ctx, dest, upload_id, builder, crcs)
    except BaseException as exc:
        with anyio.CancelScope(shield=True), anyio.move_on_after(ABORT_TIMEOUT):
            if keeps_partial(ctx, exc):
                report_kept(ctx.progress, f"put {path} -> {dest}: upload {upload_id}; re-run the same command "
                                          f"to resume, or abort it: s3ferry uploads abort {dest}")
            else:
                await abort_upload(ctx, dest, upload_id)
                await to_thread.run_sync(ctx.journal.remove, entry)
        raise
    await to_thread.run_sync(ctx.journal.remove, entry)
    resumed = f"; resumed: {reused[0]} of {count} parts were already stored" if reused[0] else ""
    return Sent(builder.etag(), normalize(reply.get("ETag")), f"{count} parts of {part_size}{resumed}", reply,
                crcs.value() if crcs else None)


def keeps_partial(ctx: Context, exc: BaseException) -> bool:
    """With --keep-partial, an interrupted or failed transfer keeps what it has for a resume;
    never one whose bytes proved wrong or whose source changed (those must start over)."""
    if not ctx.config.keep_partial:
        return False
    if isinstance(exc, (anyio.get_cancelled_exc_class(), KeyboardInterrupt)):
        return True
    return not isinstance(map_error(exc), (IntegrityError, SourceChangedError))


async def _note(ctx: Context, entry: Path, path: Path, info: os.stat_result, dest: S3Location,
                upload_id: str, part_size: int) -> None:
    record = PutRecord(dest.bucket, dest.key, upload_id, part_size, str(path), info.st_size,
                       info.st_mtime_ns, info.st_ino, ctx.config.checksum)
    await to_thread.run_sync(lambda: ctx.journal.save(entry, record, durable=True))


async def _find_upload(ctx: Context, entry: Path, path: Path, info: os.stat_result, dest: S3Location,
                       part_size: int) -> tuple[str, dict[int, StoredPart]] | None:
    record = await to_thread.run_sync(ctx.journal.load, entry, PutRecord)
    if record is None:
        return await _find_by_key(ctx, entry, path, info, dest, part_size)
    if record.same_source(info, part_size, ctx.config.checksum):
        stored = await list_parts(ctx, dest, record.upload_id)
        if stored is not None:
            return record.upload_id, stored
    else:  # the file (or how it is cut or checksummed) changed since: start clean
        await abort_upload(ctx, dest, record.upload_id, missing_ok=True)
    await to_thread.run_sync(ctx.journal.remove, entry)
    return None


async def _find_by_key(ctx: Context, entry: Path, path: Path, info: os.stat_result, dest: S3Location,
                       part_size: int) -> tuple[str, dict[int, StoredPart]] | None:
    """No journal (deleted, or another machine): an incomplete upload of this key whose parts
    fit this file's plan is taken for ours. Its parts are still checked one by one against
    the local MD5s, and the final ETag against the whole file, so a wrong guess costs bytes
    sent, never a wrong object. Not with --checksum: how another upload was created (its
    checksum algorithm and type) is not listed, and Complete must match it."""
    if ctx.config.checksum != "off":
        return None
    try:
        for upload in await uploads_of_key(ctx, dest):
            stored = await list_parts(ctx, dest, upload.upload_id)
            if stored and fits_plan(stored.values(), info.st_size, part_size):
                await _note(ctx, entry, path, info, dest, upload.upload_id, part_size)
                return upload.upload_id, stored
    except Exception as exc:  # noqa: BLE001 - only a shortcut: without it the upload starts afresh
        log.debug("no resume by key for %s: %s", dest, describe(exc))
    return None


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
    if crc:  # the CRC needs the bytes in memory anyway
        data, digest = fileio.read_and_hash(fd, part.offset, part.size)
        return digest, checksums.crc64nvme(data)
    return fileio.hash_range(fd, part.offset, part.size), None


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
    # The part's buffer goes back to the pool before its slot is released.
    data, digest, value = await to_thread.run_sync(_read_part, fd, part.offset, part.size, crc, ctx.buffers)
    extra = _checksum_args(ctx) if value is None else {"ChecksumCRC64NVME": encode_crc(value)}

    async def send() -> Any:
        response = await ctx.client.upload_part(
            Bucket=dest.bucket, Key=dest.key, UploadId=upload_id, PartNumber=part.number,
            Body=data, ContentMD5=content_md5(digest), **extra)
        echoed = normalize(response.get("ETag"))
        if parse_etag(echoed) is not None and echoed != digest.hex():
            # A store that does not check Content-MD5 kept other bytes (e.g. a connection
            # retry below us re-sent a drained body): the same part number, sent again, replaces them.
            raise RangeIntegrityError(f"part {part.number}: server ETag {echoed} differs from local MD5 {digest.hex()}")
        return response

    try:
        response = await with_retry(ctx.config, send)
    except BaseException:
        ctx.buffers.forget()  # a failed send may still hold the bytes: never reuse them
        raise
    ctx.buffers.give(data)
    return response, digest, value


async def complete_upload(ctx: Context, dest: S3Location, upload_id: str, builder: CompositeBuilder,
                          crcs: CrcBuilder | None = None) -> Mapping[str, Any]:
    parts = [{"PartNumber": n, "ETag": f'"{etag}"'} for n, etag in builder.part_etags()]
    extra: dict[str, Any] = {}
    if crcs is not None:
        for entry, value in zip(parts, crcs.part_values()):
            entry["ChecksumCRC64NVME"] = value
        extra = {"ChecksumCRC64NVME": crcs.value(), "ChecksumType": checksums.FULL_OBJECT}
    try:
        response = await with_retry(ctx.config, lambda: ctx.client.complete_multipart_upload(
            Bucket=dest.bucket, Key=dest.key, UploadId=upload_id, MultipartUpload={"Parts": parts}, **extra))
    except ClientError as exc:
        if _code(exc) != "NoSuchUpload":
            raise
        # An earlier attempt may have completed the upload and lost its reply, so the retry
        # finds no upload: the object is ours if its ETag is the one our bytes give.
        head = await _head(ctx, dest, crcs)
        if head is None or normalize(head.get("ETag")) != builder.etag():
            raise
        return head
    missing_crc = crcs is not None and not response.get("ChecksumCRC64NVME")
    if not normalize(response.get("ETag")) or missing_crc:
        # Ceph answers Complete with an empty ETag, moto without the checksum it kept: the
        # object's HEAD tells both.
        head = await _head(ctx, dest, crcs) or {}
        response = {**response, "ETag": response.get("ETag") or head.get("ETag"),
                    "ChecksumCRC64NVME": response.get("ChecksumCRC64NVME") or head.get("ChecksumCRC64NVME")}
    return response


async def _head(ctx: Context, dest: S3Location, crcs: CrcBuilder | None) -> Mapping[str, Any] | None:
    """The object's HEAD (with its checksum when we sent one); None if there is no object."""
    checksum_mode = {"ChecksumMode": "ENABLED"} if crcs is not None else {}
    try:
        return await with_retry(ctx.config, lambda: ctx.client.head_object(
            Bucket=dest.bucket, Key=dest.key, **checksum_mode))
    except ClientError as exc:
        if _code(exc) in ("404", "NoSuchKey", "NotFound"):
            return None
        raise


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


async def abort_upload(ctx: Context, dest: S3Location, upload_id: str, missing_ok: bool = False) -> None:
    """Abort, and if even that fails, say loudly what is left behind: the failure that got
    us here stays the error that propagates."""
    try:
        await with_retry(ctx.config, lambda: ctx.client.abort_multipart_upload(
            Bucket=dest.bucket, Key=dest.key, UploadId=upload_id))
    except Exception as exc:  # noqa: BLE001
        if missing_ok and isinstance(exc, ClientError) and _code(exc) in ("NoSuchUpload", "404"):
            return
        log.error("could not abort upload %s of %s (%s); run: s3ferry uploads abort %s",
                  upload_id, dest, describe(exc), dest)


async def delete_quietly(ctx: Context, dest: S3Location) -> None:
    try:
        await ctx.client.delete_object(Bucket=dest.bucket, Key=dest.key)
    except Exception:  # noqa: BLE001 - the integrity failure is the error worth reporting
        pass
