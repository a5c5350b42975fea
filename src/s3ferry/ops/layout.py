"""What the server tells us about an existing object: how it was cut into parts, and the
full-object checksum it keeps, for when the ETag cannot decide (the rules are core/layout.py).

Order (DESIGN.md): our own metadata, then HeadObject(PartNumber=1). Guessing from the local
file is verify's job (it needs the local bytes).
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from anyio import to_thread

from s3ferry.core.checksums import etag_is_opaque, full_object_checksum
from s3ferry.core.etag import ETag
from s3ferry.core.layout import SINGLE, UNKNOWN, Layout, consistent, from_metadata
from s3ferry.core.locations import S3Location
from s3ferry.core.results import Verdict
from s3ferry.ops.context import Context
from s3ferry.store.errors import StoreError


async def from_part_one(ctx: Context, loc: S3Location, size: int, etag: ETag) -> Layout | None:
    """AWS and moto answer HeadObject(PartNumber=1) with part 1's length and the parts count;
    Ceph Pacific ignores PartNumber and describes the whole object, which the checks reject."""
    assert etag.parts is not None
    try:
        head = await ctx.store.head(loc, part_number=1)
    except StoreError:
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


async def store_checksum_verdict(ctx: Context, loc: S3Location, local: Path, *,
                                 only_if_opaque: bool = False) -> tuple[Verdict, str] | None:
    """Judge a local file by the full-object checksum the store keeps (CRC64NVME, CRC32C,
    CRC32, SHA256, SHA1), for objects whose ETag cannot decide. None: no such checksum, or
    (``only_if_opaque``) the object's ETag is an MD5 after all and stays the judge."""
    try:
        head = await ctx.store.head(loc, checksum_mode=True)
    except StoreError:  # e.g. no kms:Decrypt: the checksum is unreadable, not wrong
        return None
    opaque = etag_is_opaque(head)
    if only_if_opaque and not opaque:
        return None
    stored = full_object_checksum(head)
    if stored is None:
        return (Verdict.UNVERIFIABLE, "ETag is not an MD5 (SSE-KMS/SSE-C) and the store keeps no "
                "full-object checksum") if opaque else None
    computed = await to_thread.run_sync(stored.algorithm.of_file, local)
    if computed == stored.value:
        return Verdict.MATCH, f"store checksum {stored}"
    return Verdict.MISMATCH, f"local {stored.algorithm.name} {computed}, store has {stored.value}"
