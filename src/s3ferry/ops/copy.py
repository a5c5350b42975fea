"""S3 -> S3: one object to another key. Server-side within one endpoint (CopyObject, or
UploadPartCopy in parallel parts); streamed between two endpoints (ranged GETs from the source
fed into UploadPart on the destination, parts in flight x part size of memory).

The ETag is the proof, as for put and get. A copy cut at the source's own part layout gives
the destination the source's ETag, so the two can be compared directly; when the layout is
unknown (a foreign multipart upload on a store without HeadObject(PartNumber)), the copy
cannot reproduce it and says so: the verdict is unverifiable, with the reason. Every copy
records the source's ETag in the destination's metadata (``s3ferry-source-etag``), so a
later sync can still tell an unchanged pair apart when the ETags differ (sync_plan.etags_agree).
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass
from typing import Any

from anyio import to_thread

from s3ferry.core.checksums import PartChecksums, etag_is_opaque
from s3ferry.core.config import META_PART_SIZE, META_SOURCE_ETAG
from s3ferry.core.copy_plan import CopyPlan, judge_copy, plan_copy
from s3ferry.core.errors import IntegrityError, UnverifiableError
from s3ferry.core.etag import CompositeBuilder, content_md5, normalize, parse_etag
from s3ferry.core.layout import Layout
from s3ferry.core.locations import S3Location
from s3ferry.core.object_options import copy_params
from s3ferry.core.parts import Part, part_count, plan_parts
from s3ferry.core.results import TransferResult, Verdict
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
    send_parts,
    single_put_args,
)
from s3ferry.ops.remote import RemoteObject, head, read_into_buffer


@dataclass(frozen=True)
class Endpoints:
    """Where the source is read and the destination written. One endpoint (same client and
    credentials) allows server-side copies; two need the bytes streamed through us."""

    source: Context
    dest: Context

    @property
    def same(self) -> bool:
        return self.source.store is self.dest.store


async def copy_object(ends: Endpoints, src: S3Location, dest: S3Location, *, replaces: bool = True) -> TransferResult:
    """Copy ``src`` to ``dest`` and verify by ETag. Never raises for a failed copy: the result
    carries the error. Cancellation propagates, after any multipart upload is aborted.
    ``replaces``: ``dest`` may have existed before; a copy judged wrong is then left for the
    next run to replace, never deleted (the object it overwrote is gone already)."""
    started = time.monotonic()
    ctx = ends.dest
    try:
        obj = await head(ends.source, src)
        ctx.progress.started(str(src), obj.size)
        parsed = obj.etag  # None for an SSE-KMS/SSE-C source: its ETag is no MD5
        layout = await remote_layout(ends.source, src, obj.size, parsed, obj.metadata or {}) if parsed else \
            Layout(None, "unknown")
        plan = plan_copy(obj.size, parsed, layout, same_endpoint=ends.same, part_size=ctx.config.part_size,
                         threshold=ctx.config.multipart_threshold)
        obj = await _with_new_object_params(ends, obj, plan)
        remote = await _METHODS[plan.method](ends, obj, dest, plan)
        verdict, detail = judge_copy(plan, "" if obj.opaque else normalize(obj.etag_raw), remote)
        if verdict is Verdict.MISMATCH and await _opaque_copy(ctx, dest):
            verdict, detail = Verdict.UNVERIFIABLE, "the copy is SSE-KMS/SSE-C encrypted: its ETag is not an MD5"
        if verdict is Verdict.MISMATCH:
            if replaces:
                raise IntegrityError(f"{detail}; run again to replace it")
            await delete_quietly(ctx, dest)
            raise IntegrityError(f"{detail}; copy deleted")
        if verdict is Verdict.UNVERIFIABLE and ctx.config.require_verify:
            raise UnverifiableError(detail)
        result = TransferResult("copy", str(src), str(dest), obj.size, remote, verdict, f"{plan.method}, {detail}",
                                time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a result
        result = failed("copy", str(src), str(dest), exc, started)
    ctx.progress.finished(result)
    return result


async def _opaque_copy(ctx: Context, dest: S3Location) -> bool:
    """Is the copy encrypted with SSE-KMS/SSE-C (a KMS-default bucket), so its ETag proves nothing?"""
    head = await ctx.store.head_or_none(dest)
    return head is not None and etag_is_opaque(head)


async def _with_new_object_params(ends: Endpoints, obj: RemoteObject, plan: CopyPlan) -> RemoteObject:
    """The source with ``headers`` replaced by what the copy is written with: the source's
    headers, metadata, tags and storage class unless an object option replaces them
    (core/object_options.copy_params). CopyObject copies the tags itself; a copy that starts
    the object afresh (multipart, streamed) reads and sends them."""
    by_store = plan.method == "copy-object"
    tags = () if by_store else await ends.source.store.get_tags(obj.loc)
    params = copy_params(ends.dest.config.object_options, {**obj.headers, "Metadata": obj.metadata or {}}, tags,
                         tags_copied_by_store=by_store)
    return dataclasses.replace(obj, headers=params)


def _new_object_args(obj: RemoteObject, part_size: int | None) -> dict[str, Any]:
    """Metadata and headers for the copy (``obj.headers``, see _with_new_object_params), less
    a stale part size, plus the source's ETag and the part size this copy is cut at."""
    params = dict(obj.headers)
    metadata = {k: v for k, v in params.pop("Metadata", obj.metadata or {}).items()
                if k not in (META_PART_SIZE, META_SOURCE_ETAG)}
    metadata[META_SOURCE_ETAG] = normalize(obj.etag_raw)
    if part_size is not None:
        metadata[META_PART_SIZE] = str(part_size)
    return {**params, "Metadata": metadata}


def _if_match(obj: RemoteObject) -> dict[str, Any]:
    # A source rewritten mid-copy fails the copy instead of mixing two versions.
    return {"CopySourceIfMatch": obj.etag_raw}


async def _copy_whole(ends: Endpoints, obj: RemoteObject, dest: S3Location, plan: CopyPlan) -> str:
    ctx = ends.dest
    async with ctx.slots:
        response = await ctx.store.copy(obj.loc, dest, MetadataDirective="REPLACE", **_if_match(obj),
                                        **_new_object_args(obj, None))
    ctx.progress.advanced(obj.size)
    return normalize(response.get("CopyObjectResult", {}).get("ETag")) or await _dest_etag(ctx, dest)


async def _multipart(ends: Endpoints, obj: RemoteObject, dest: S3Location, plan: CopyPlan, send_part) -> str:  # type: ignore[no-untyped-def]
    """The shared multipart frame: create, one task per part under the global limit, complete;
    every way out that is not success aborts the upload."""
    ctx = ends.dest
    assert plan.part_size is not None
    sums = part_checksums(ctx)
    upload_id = await ctx.store.create_upload(dest, **_new_object_args(obj, plan.part_size), **create_args(sums))
    async with guarded_upload(ctx, dest, upload_id):
        count = part_count(obj.size, plan.part_size)
        builder = CompositeBuilder(count)

        async def run(part: Part, token: object) -> None:
            try:
                digest, server_etag = await send_part(ends, obj, dest, upload_id, part, sums)
            finally:
                ctx.slots.release_on_behalf_of(token)
            builder.add(part.number, digest, server_etag)
            ctx.progress.advanced(part.size)

        await send_parts(ctx, plan_parts(obj.size, plan.part_size), run)
        # A store without additional checksums (Ceph Pacific) echoes no part-copy's: none to list.
        listed = sums if sums is not None and len(sums) == count else None
        remote = normalize((await complete_upload(ctx, dest, upload_id, builder, sums=listed)).get("ETag"))
    if ends.same:
        return remote
    # Streamed: the destination must hold exactly the bytes we read, whatever the source says.
    if remote != builder.etag():
        await delete_quietly(ctx, dest)
        raise IntegrityError(f"stored ETag {remote} differs from the bytes sent ({builder.etag()}); copy deleted")
    return remote


async def _part_copy_one(ends: Endpoints, obj: RemoteObject, dest: S3Location, upload_id: str,
                         part: Part, sums: PartChecksums | None) -> tuple[bytes, str]:
    ctx = ends.dest
    response = await ctx.store.upload_part_copy(dest, upload_id, part.number, obj.loc,
                                                CopySourceRange=part.http_range, **_if_match(obj))
    result = response.get("CopyPartResult", {})
    server_etag = normalize(result.get("ETag"))
    if sums is not None and result.get(sums.member):
        # The bytes never pass through us: the store's CRC of the part is the one Complete lists.
        sums.add(part.number, result[sums.member])
    parsed = parse_etag(server_etag)
    # The part's MD5 as the server reports it: what the composite ETag is made of.
    digest = bytes.fromhex(parsed.digest) if parsed is not None and not parsed.is_multipart else b""
    return digest, server_etag


async def _stream_part_one(ends: Endpoints, obj: RemoteObject, dest: S3Location, upload_id: str,
                           part: Part, sums: PartChecksums | None) -> tuple[bytes, str]:
    ctx = ends.dest
    data, digest = await ends.source.store.retry(lambda: _read_range(ends.source, obj, part, False))
    crc = await to_thread.run_sync(sums.of, data) if sums is not None else None
    response = await ctx.store.upload_part(dest, upload_id, part.number, data, digest,
                                           **part_args(sums, part.number, crc))
    return digest, normalize(response.get("ETag")) or digest.hex()


async def _stream_whole(ends: Endpoints, obj: RemoteObject, dest: S3Location, plan: CopyPlan) -> str:
    ctx = ends.dest
    async with ctx.slots:
        response, digest = await _get_put(ends, obj, dest)
    ctx.progress.advanced(obj.size)
    remote = normalize(response.get("ETag"))
    if parse_etag(remote) is not None and remote != digest.hex():
        await delete_quietly(ctx, dest)
        raise IntegrityError(f"stored ETag {remote} differs from the bytes sent ({digest.hex()}); copy deleted")
    return remote


async def _get_put(ends: Endpoints, obj: RemoteObject, dest: S3Location) -> tuple[Any, bytes]:
    # The bytes live only in this frame, so they are freed before the slot is released.
    ctx = ends.dest
    data, digest = await ends.source.store.retry(lambda: _read_range(ends.source, obj, Part(1, 0, obj.size), True))
    response = await ctx.store.put(dest, data, ContentMD5=content_md5(digest), **_new_object_args(obj, None),
                                   **await single_put_args(ctx, data))
    return response, digest


async def _read_range(ctx: Context, obj: RemoteObject, part: Part, whole: bool) -> tuple[memoryview, bytes]:
    """One ranged GET into one buffer of exactly the part's size: the part is the only copy
    held, and it goes to UploadPart as a memoryview (no further copy)."""
    buffer = await read_into_buffer(ctx, obj.loc, part, obj.etag_raw, whole)
    digest = await md5_of(ctx.batches, buffer)
    return memoryview(buffer), digest


async def _dest_etag(ctx: Context, dest: S3Location) -> str:
    # Ceph answers some copies with an empty ETag; the object's HEAD has it.
    return normalize((await ctx.store.head(dest)).get("ETag"))


async def _part_copy(ends: Endpoints, obj: RemoteObject, dest: S3Location, plan: CopyPlan) -> str:
    return await _multipart(ends, obj, dest, plan, _part_copy_one)


async def _stream_parts(ends: Endpoints, obj: RemoteObject, dest: S3Location, plan: CopyPlan) -> str:
    return await _multipart(ends, obj, dest, plan, _stream_part_one)


_METHODS = {"copy-object": _copy_whole, "part-copy": _part_copy, "stream-single": _stream_whole,
            "stream-parts": _stream_parts}
