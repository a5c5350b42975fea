"""A put's side of resume: find the interrupted upload of this file (from the journal, or by
key among the incomplete uploads) and the parts it already holds."""

from __future__ import annotations

import logging
import os
from pathlib import Path

from anyio import to_thread

from s3ferry.core.errors import describe
from s3ferry.core.locations import S3Location
from s3ferry.core.resume import StoredPart, fits_plan
from s3ferry.ops.context import Context
from s3ferry.ops.multipart import abort_upload
from s3ferry.ops.resume.journal import PutRecord
from s3ferry.ops.uploads import list_parts, uploads_of_key

log = logging.getLogger("s3ferry")


async def note_upload(ctx: Context, entry: Path, path: Path, info: os.stat_result, dest: S3Location,
                upload_id: str, part_size: int) -> None:
    record = PutRecord(dest.bucket, dest.key, upload_id, part_size, str(path), info.st_size,
                       info.st_mtime_ns, info.st_ino, ctx.config.checksum)
    await to_thread.run_sync(lambda: ctx.journal.save(entry, record, durable=True))


async def find_upload(ctx: Context, entry: Path, path: Path, info: os.stat_result, dest: S3Location,
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
                await note_upload(ctx, entry, path, info, dest, upload.upload_id, part_size)
                return upload.upload_id, stored
    except Exception as exc:  # noqa: BLE001 - only a shortcut: without it the upload starts afresh
        log.debug("no resume by key for %s: %s", dest, describe(exc))
    return None
