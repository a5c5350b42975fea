"""ls, du and stat: what is in a bucket, how much, and all the store says of one object.
Listings stream a page (1,000 keys) at a time, so memory stays flat in the number of keys."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

from s3ferry.core.checksums import etag_is_opaque, full_object_checksum
from s3ferry.core.errors import NotFoundError
from s3ferry.core.etag import normalize, parse_etag
from s3ferry.core.layout import part_text
from s3ferry.core.locations import S3Location
from s3ferry.core.objects import DuGrouper, DuTotals, Entry
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import check_bucket
from s3ferry.ops.layout import remote_layout
from s3ferry.store.errors import map_error

# HeadObject fields stat prints as they are (besides size, ETag, metadata and checksums).
STAT_FIELDS = {"ContentType": "content_type", "ContentDisposition": "content_disposition",
               "ContentEncoding": "content_encoding", "ContentLanguage": "content_language",
               "CacheControl": "cache_control", "Expires": "expires", "StorageClass": "storage_class",
               "ServerSideEncryption": "sse", "SSEKMSKeyId": "sse_kms_key_id", "VersionId": "version_id",
               "ObjectLockMode": "object_lock_mode", "ReplicationStatus": "replication_status"}


async def list_buckets(ctx: Context) -> list[Entry]:
    return [Entry(b["Name"], "", last_modified=b.get("CreationDate")) for b in await ctx.store.list_buckets()]


async def list_entries(ctx: Context, where: S3Location, *, recursive: bool) -> AsyncIterator[Entry]:
    """Objects under ``where`` (and, unless recursive, the common prefixes one level down)."""
    await check_bucket(ctx, where.bucket)
    async for item in ctx.store.list_objects(where, delimiter=None if recursive else "/"):
        if "Prefix" in item and "Key" not in item:
            yield Entry(where.bucket, item["Prefix"], is_prefix=True)
            continue
        yield Entry(where.bucket, item["Key"], int(item.get("Size", 0)), item.get("LastModified"),
                    normalize(item.get("ETag")), item.get("StorageClass") or "STANDARD")


async def disk_usage(ctx: Context, where: S3Location) -> AsyncIterator[DuTotals]:
    """Per first-level prefix sums as each completes, then the objects directly under
    ``where``, then the total."""
    await check_bucket(ctx, where.bucket)
    grouper = DuGrouper(where.key)
    async for item in ctx.store.list_objects(where):
        done = grouper.add(item["Key"], int(item.get("Size", 0)))
        if done is not None:
            yield done
    for done in grouper.finish():
        yield done
    yield grouper.total


async def stat_object(ctx: Context, loc: S3Location) -> dict[str, Any]:
    """The HEAD (metadata, headers, full-object checksums), the tags, and the part layout
    verify would use for this object."""
    try:
        head = await ctx.store.head(loc, checksum_mode=True)
    except Exception as exc:  # noqa: BLE001
        error = map_error(exc, what=str(loc))
        if isinstance(error, NotFoundError):
            await check_bucket(ctx, loc.bucket)
        raise error from None
    size, etag = int(head["ContentLength"]), parse_etag(head.get("ETag"))
    metadata = dict(head.get("Metadata") or {})
    info: dict[str, Any] = {"url": str(loc), "size": size, "etag": normalize(head.get("ETag")),
                            "last_modified": head["LastModified"].isoformat() if head.get("LastModified") else None,
                            "metadata": metadata}
    info.update({name: _plain(head[field]) for field, name in STAT_FIELDS.items() if head.get(field) is not None})
    info.setdefault("storage_class", "STANDARD")
    checksum = full_object_checksum(head)
    info["checksum"] = str(checksum) if checksum else None
    info["tags"] = dict(await ctx.store.get_tags(loc))
    info.update(await _layout(ctx, loc, size, etag, metadata, etag_is_opaque(head)))
    return info


async def _layout(ctx: Context, loc: S3Location, size: int, etag: Any, metadata: dict[str, str],
                  opaque: bool) -> dict[str, Any]:
    if etag is None or opaque:
        return {"parts": None, "part_size": None, "layout": "unverifiable: the ETag is not an MD5"}
    if not etag.is_multipart:
        return {"parts": 1, "part_size": None, "layout": "single"}
    layout = await remote_layout(ctx, loc, size, etag, metadata)
    text = layout.source if layout.known else "unknown (verify guesses it from the local file)"
    return {"parts": etag.parts, "part_size": layout.part_size, "layout": text,
            "layout_text": part_text(layout.part_size) if layout.part_size else None}


def _plain(value: Any) -> Any:
    return value.isoformat() if hasattr(value, "isoformat") else value


