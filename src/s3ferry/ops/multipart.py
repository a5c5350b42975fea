"""The one multipart frame, shared by put, copy and resume: parts sent under the global limit,
Complete (and what to do when its reply is lost), and the abort that every way out but
success ends in, unless --keep-partial keeps the upload for a resume."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Mapping
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio import to_thread

from s3ferry.core import checksums
from s3ferry.core.checksums import COMPOSITE_MODES, CrcBuilder, PartChecksums
from s3ferry.core.config import ABORT_TIMEOUT
from s3ferry.core.errors import IntegrityError, SourceChangedError, describe
from s3ferry.core.etag import CompositeBuilder, normalize
from s3ferry.core.locations import S3Location
from s3ferry.core.parts import Part
from s3ferry.core.results import report_kept
from s3ferry.ops.context import Context
from s3ferry.store.errors import error_code, is_missing, map_error

log = logging.getLogger("s3ferry")
# Sends one part; must release the slot (held on behalf of the token) once its bytes are out.
SendPart = Callable[[Part, object], Awaitable[None]]


async def send_parts(ctx: Context, parts: Iterable[Part], send: SendPart) -> None:
    """One task per part, each started only once it holds a slot of the global limit (which
    bounds memory to max_concurrency x part_size across every file in flight)."""
    async with anyio.create_task_group() as tg:
        for part in parts:
            token = object()  # a borrower unique to this part, across all concurrent files
            await ctx.slots.acquire_on_behalf_of(token)
            tg.start_soon(send, part, token)


@asynccontextmanager
async def guarded_upload(ctx: Context, dest: S3Location, upload_id: str, *, kept: str | None = None,
                         on_abort: Callable[[], Awaitable[object]] | None = None) -> AsyncIterator[None]:
    """Every way out of the block that is not success aborts the upload (no billed orphans),
    shielded from the cancellation that may be the way out; with --keep-partial an upload that
    may be resumed (``kept`` says how) is kept instead."""
    try:
        yield
    except BaseException as exc:
        with anyio.CancelScope(shield=True), anyio.move_on_after(ABORT_TIMEOUT):
            if kept is not None and keeps_partial(ctx, exc):
                report_kept(ctx.progress, kept)
            else:
                await abort_upload(ctx, dest, upload_id)
                if on_abort is not None:
                    await on_abort()
        raise


def keeps_partial(ctx: Context, exc: BaseException) -> bool:
    """With --keep-partial, an interrupted or failed transfer keeps what it has for a resume;
    never one whose bytes proved wrong or whose source changed (those must start over)."""
    if not ctx.config.keep_partial:
        return False
    if isinstance(exc, (anyio.get_cancelled_exc_class(), KeyboardInterrupt)):
        return True
    return not isinstance(map_error(exc), (IntegrityError, SourceChangedError))


def part_checksums(ctx: Context) -> PartChecksums | None:
    """--checksum crc32|crc32c: the upload is created with the algorithm (a COMPOSITE upload),
    each part sends its CRC and Complete lists them all. None for off and crc64nvme (whose
    FULL_OBJECT checksum is put's CrcBuilder)."""
    name = COMPOSITE_MODES.get(ctx.config.checksum)
    return PartChecksums(name) if name else None


def create_args(sums: PartChecksums | None) -> dict[str, str]:
    """CreateMultipartUpload's parameters for a COMPOSITE upload (S3's default type for CRC32/C)."""
    return {"ChecksumAlgorithm": sums.algorithm.name} if sums is not None else {}


def part_args(sums: PartChecksums | None, number: int, crc: int | None) -> dict[str, str]:
    """UploadPart's parameters for a part whose CRC we computed: the value itself (the lean path
    sends it as a header; botocore uses it as given), kept for Complete."""
    if sums is None or crc is None:
        return {}
    value = sums.encode(crc)
    sums.add(number, value)
    return {"ChecksumAlgorithm": sums.algorithm.name, sums.member: value}


async def single_put_args(ctx: Context, data: Any) -> dict[str, str]:
    """A single PUT's checksum parameters under --checksum crc32|crc32c: the object's CRC, computed
    here. botocore cannot checksum a memoryview body itself ("'memoryview' object has no
    attribute 'tell'"), and the lean path would send none."""
    sums = part_checksums(ctx)
    if sums is None:
        return {}
    crc = await to_thread.run_sync(sums.of, data)
    return {"ChecksumAlgorithm": sums.algorithm.name, sums.member: sums.encode(crc)}


async def complete_upload(ctx: Context, dest: S3Location, upload_id: str, builder: CompositeBuilder,
                          crcs: CrcBuilder | None = None, *, sums: PartChecksums | None = None,
                          **conditions: str) -> Mapping[str, Any]:
    """``conditions``: IfMatch / IfNoneMatch for a conditional write (where the store honours them).
    ``sums``: the parts' checksums of a COMPOSITE upload, each listed beside its ETag."""
    parts: list[dict[str, Any]] = [{"PartNumber": n, "ETag": f'"{etag}"'} for n, etag in builder.part_etags()]
    if sums is not None:
        sums.complete(parts)
    extra: dict[str, Any] = {}
    if crcs is not None:
        for entry, value in zip(parts, crcs.part_values()):
            entry["ChecksumCRC64NVME"] = value
        extra = {"ChecksumCRC64NVME": crcs.value(), "ChecksumType": checksums.FULL_OBJECT}
    try:
        response = await ctx.store.complete_upload(dest, upload_id, parts, **extra, **conditions)
    except Exception as exc:
        if error_code(exc) != "NoSuchUpload":
            raise
        # An earlier attempt may have completed the upload and lost its reply, so the retry
        # finds no upload: the object is ours if its ETag is the one our bytes give.
        head = await ctx.store.head_or_none(dest, checksum_mode=crcs is not None)
        if head is None or normalize(head.get("ETag")) != builder.etag():
            raise
        return head
    missing_crc = crcs is not None and not response.get("ChecksumCRC64NVME")
    if not normalize(response.get("ETag")) or missing_crc:
        # Ceph answers Complete with an empty ETag, moto without the checksum it kept: the
        # object's HEAD tells both.
        head = await ctx.store.head_or_none(dest, checksum_mode=crcs is not None) or {}
        response = {**response, "ETag": response.get("ETag") or head.get("ETag"),
                    "ChecksumCRC64NVME": response.get("ChecksumCRC64NVME") or head.get("ChecksumCRC64NVME")}
    return response


async def abort_upload(ctx: Context, dest: S3Location, upload_id: str, missing_ok: bool = False) -> None:
    """Abort, and if even that fails, say loudly what is left behind: the failure that got
    us here stays the error that propagates."""
    try:
        await ctx.store.abort_upload(dest, upload_id)
    except Exception as exc:  # noqa: BLE001
        if missing_ok and (error_code(exc) == "NoSuchUpload" or is_missing(exc)):
            return
        log.error("could not abort upload %s of %s (%s); run: s3ferry uploads abort %s",
                  upload_id, dest, describe(exc), dest)


async def delete_quietly(ctx: Context, dest: S3Location) -> None:
    try:
        await ctx.store.delete(dest)
    except Exception:  # noqa: BLE001 - the integrity failure is the error worth reporting
        pass
