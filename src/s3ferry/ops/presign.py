"""Presigned transfers. With credentials: presigned URLs, and multipart manifests (an upload
started here, one presigned UploadPart URL per part, presigned Complete and Abort). Without
any: a file uploaded through a PUT URL or a manifest, parts in parallel, retried, the
composite ETag computed and checked against the store's, and an abandoned manifest upload
aborted through its Abort URL on any failure or Ctrl-C."""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

import anyio
from anyio import to_thread

from s3ferry.core.config import MAX_SINGLE_PUT, META_PART_SIZE, Config
from s3ferry.core.errors import ConfigError, IntegrityError
from s3ferry.core.etag import CompositeBuilder, normalize, parse_etag
from s3ferry.core.locations import S3Location
from s3ferry.core.object_options import write_params
from s3ferry.core.presign import (
    Manifest,
    PartURL,
    build_manifest,
    complete_body,
    complete_etag,
    plan_manifest_parts,
    url_label,
)
from s3ferry.core.results import NoProgress, Progress, TransferResult, Verdict
from s3ferry.local import files as fileio
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import failed
from s3ferry.ops.multipart import ABORT_TIMEOUT, guarded_upload
from s3ferry.store.presigned import PresignedStore


@dataclass(frozen=True)
class URLContext:
    """What a transfer by URL shares: no ObjectStore (no credentials), the same limits."""

    http: PresignedStore
    config: Config
    progress: Progress = field(default_factory=NoProgress)
    slots: anyio.CapacityLimiter = field(default=None)  # type: ignore[assignment]

    def __post_init__(self) -> None:
        if self.slots is None:
            object.__setattr__(self, "slots", anyio.CapacityLimiter(self.config.max_concurrency))


# ---- with credentials: URLs and manifests -----------------------------------------------

async def presign_url(ctx: Context, loc: S3Location, *, put: bool, expires: int, content_type: str | None) -> str:
    params = {"ContentType": content_type} if put and content_type else {}
    return await ctx.store.presign("put_object" if put else "get_object", loc, expires, **params)


async def presign_multipart(ctx: Context, loc: S3Location, *, size: int, expires: int) -> Manifest:
    """Start a multipart upload of ``size`` bytes and presign every request it needs."""
    part_size = ctx.config.part_size
    planned = plan_manifest_parts(size, part_size)  # refuses an impossible plan before starting
    params = write_params(ctx.config.object_options, loc.key)
    params["Metadata"] = {**params.get("Metadata", {}), META_PART_SIZE: str(part_size)}
    upload_id = await ctx.store.create_upload(loc, **params)
    async with guarded_upload(ctx, loc, upload_id):  # a failure while signing leaves no upload
        urls = [await ctx.store.presign("upload_part", loc, expires, UploadId=upload_id, PartNumber=number)
                for number, _, _ in planned]
        complete = await ctx.store.presign("complete_multipart_upload", loc, expires, UploadId=upload_id)
        abort = await ctx.store.presign("abort_multipart_upload", loc, expires, UploadId=upload_id)
        check = await ctx.store.presign("head_object", loc, expires)
    until = (datetime.now(timezone.utc) + timedelta(seconds=expires)).isoformat(timespec="seconds")
    return build_manifest(loc.bucket, loc.key, upload_id, size, part_size, until, urls, complete, abort, check)


# ---- without credentials: put through a URL or a manifest -------------------------------

async def put_url(ctx: URLContext, path: Path, url: str, content_type: str | None) -> TransferResult:
    """One PUT of the whole file to a presigned URL, checked by its MD5."""
    started, label = time.monotonic(), url_label(url)
    try:
        fd, info = await to_thread.run_sync(fileio.open_for_upload, path)
        try:
            if info.st_size > MAX_SINGLE_PUT:
                raise ConfigError(f"{path} is over 5 GiB: a single PUT URL cannot take it (use presign --multipart)")
            ctx.progress.started(str(path), info.st_size)
            async with ctx.slots:
                data, digest = await to_thread.run_sync(fileio.read_whole, fd, info)
                headers = {"Content-Type": content_type} if content_type else None
                reply = await ctx.http.put(url, data, digest, headers)
        finally:
            os.close(fd)
        ctx.progress.advanced(info.st_size)
        verdict, detail = _judge(digest.hex(), normalize(reply.get("ETag")), "single PUT")
        result = TransferResult("put", str(path), label, info.st_size, normalize(reply.get("ETag")), verdict, detail,
                                time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001
        result = failed("put", str(path), label, exc, started)
    ctx.progress.finished(result)
    return result


async def put_manifest(ctx: URLContext, path: Path, manifest: Manifest) -> TransferResult:
    started, dest = time.monotonic(), f"s3://{manifest.bucket}/{manifest.key}"
    try:
        fd, info = await to_thread.run_sync(fileio.open_for_upload, path)
        try:
            manifest.check_size(info.st_size, str(path))
            ctx.progress.started(str(path), info.st_size)
            local, remote = await _send_manifest(ctx, fd, manifest)
        finally:
            os.close(fd)
        verdict, detail = _judge(local, remote, f"{len(manifest.parts)} parts of {manifest.part_size} (manifest)")
        result = TransferResult("put", str(path), dest, info.st_size, remote, verdict, detail, time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001
        result = failed("put", str(path), dest, exc, started)
    ctx.progress.finished(result)
    return result


async def _send_manifest(ctx: URLContext, fd: int, manifest: Manifest) -> tuple[str, str]:
    builder = CompositeBuilder(len(manifest.parts))
    # Each part is read whole into memory: no more at once than the part budget's worth.
    room = anyio.CapacityLimiter(ctx.config.parts_in_flight(max((p.size for p in manifest.parts), default=1)))
    try:
        async with anyio.create_task_group() as tg:
            for part in manifest.parts:
                await room.acquire_on_behalf_of(part)  # the part is a unique borrower
                try:
                    await ctx.slots.acquire_on_behalf_of(part)
                except BaseException:
                    room.release_on_behalf_of(part)
                    raise
                tg.start_soon(_send_part, ctx, fd, part, builder, room)
        reply = await ctx.http.post(manifest.complete_url, complete_body(builder.part_etags()))
    except BaseException:
        # No credentials here: the manifest's own Abort URL is the only way to clean up.
        with anyio.CancelScope(shield=True), anyio.move_on_after(ABORT_TIMEOUT):
            try:
                await ctx.http.delete(manifest.abort_url)
            except Exception:  # noqa: BLE001 - the failure that got us here is the one to report
                pass
        raise
    remote = complete_etag(reply)
    if not remote and manifest.check_url:  # Ceph: an empty ETag in Complete's reply; HEAD has it
        remote = normalize((await ctx.http.head(manifest.check_url)).get("ETag"))
    return builder.etag(), remote


async def _send_part(ctx: URLContext, fd: int, part: PartURL, builder: CompositeBuilder,
                     room: anyio.CapacityLimiter) -> None:
    try:
        data, digest = await to_thread.run_sync(fileio.read_and_hash, fd, part.offset, part.size)
        reply = await ctx.http.put(part.url, data, digest)
    finally:
        ctx.slots.release_on_behalf_of(part)
        room.release_on_behalf_of(part)
    echoed = normalize(reply.get("ETag"))
    if parse_etag(echoed) is not None and echoed != digest.hex():
        raise IntegrityError(f"part {part.number}: the store kept ETag {echoed}, the part's MD5 is {digest.hex()}")
    builder.add(part.number, digest, echoed or digest.hex())
    ctx.progress.advanced(part.size)


def _judge(local: str, remote: str, layout: str) -> tuple[Verdict, str]:
    if parse_etag(remote) is None:
        # Without credentials there is no HEAD to ask again (Ceph answers Complete without one).
        return Verdict.UNVERIFIABLE, f"{layout}; the store returned ETag {remote!r}, not an MD5"
    if remote != local:
        raise IntegrityError(f"the store's ETag {remote} differs from the bytes sent ({local})")
    return Verdict.MATCH, layout
