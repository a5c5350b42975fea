"""Finding how an existing object was cut into parts, from what the server tells us.

Order (DESIGN.md): our own metadata, then HeadObject(PartNumber=1). Guessing from the local
file is verify's job (it needs the local bytes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from botocore.exceptions import ClientError

from .config import META_PART_SIZE
from .context import Context
from .etag import ETag
from .locations import S3Location
from .planning import part_count
from .retry import with_retry


@dataclass(frozen=True, slots=True)
class Layout:
    part_size: int | None  # None: a single PUT, or unknown for a multipart object
    source: str  # "single", "metadata", "part-1", "unknown"

    @property
    def known(self) -> bool:
        return self.source != "unknown"


SINGLE = Layout(None, "single")
UNKNOWN = Layout(None, "unknown")


def consistent(size: int, part_size: int, parts: int) -> bool:
    """Would ``size`` bytes cut at ``part_size`` give exactly ``parts`` parts?"""
    return part_size > 0 and part_count(size, part_size) == parts


def from_metadata(size: int, etag: ETag, metadata: Mapping[str, str]) -> Layout | None:
    raw = metadata.get(META_PART_SIZE)
    if raw is None or not raw.isdigit() or etag.parts is None:
        return None
    part_size = int(raw)
    return Layout(part_size, "metadata") if consistent(size, part_size, etag.parts) else None


async def from_part_one(ctx: Context, loc: S3Location, size: int, etag: ETag) -> Layout | None:
    """AWS and moto answer HeadObject(PartNumber=1) with part 1's length and the parts count;
    Ceph Pacific ignores PartNumber and describes the whole object, which the checks reject."""
    assert etag.parts is not None
    try:
        head = await with_retry(ctx.config, lambda: ctx.client.head_object(
            Bucket=loc.bucket, Key=loc.key, PartNumber=1))
    except ClientError:
        return None
    first = int(head.get("ContentLength", -1))
    count = head.get("PartsCount")
    if count is not None and int(count) != etag.parts:
        return None
    if etag.parts == 1:
        return Layout(size, "part-1") if first == size else None
    if count is None or first >= size:
        return None
    return Layout(first, "part-1") if consistent(size, first, etag.parts) else None


async def remote_layout(ctx: Context, loc: S3Location, size: int, etag: ETag,
                        metadata: Mapping[str, str]) -> Layout:
    if not etag.is_multipart:
        return SINGLE
    if etag.parts == 1:
        return Layout(max(size, 1), "one-part")
    return from_metadata(size, etag, metadata) or await from_part_one(ctx, loc, size, etag) or UNKNOWN
