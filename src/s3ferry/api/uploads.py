"""Incomplete multipart uploads: list, abort, and the lifecycle rule."""

from __future__ import annotations

from datetime import timedelta

from s3ferry.api.session import (
    open_context,
)
from s3ferry.core.config import Config
from s3ferry.core.locations import parse_s3_url
from s3ferry.ops.uploads import IncompleteUpload, install_lifecycle_rule, list_incomplete
from s3ferry.ops.uploads import abort as abort_upload_id


async def list_uploads(where: str, *, older_than: timedelta | None = None,
                       config: Config | None = None) -> list[IncompleteUpload]:
    """Incomplete multipart uploads under ``s3://bucket[/prefix]`` (optionally only old ones)."""
    loc = parse_s3_url(where)
    async with open_context(config, None) as ctx:
        return [u async for u in list_incomplete(ctx, loc, older_than)]


async def abort_uploads(where: str, *, older_than: timedelta | None = None,
                        config: Config | None = None) -> list[IncompleteUpload]:
    """Abort the incomplete multipart uploads of exactly ``s3://bucket/key``, or of every key
    under ``s3://bucket/prefix/`` (or the whole bucket); returns them. A key is not a prefix:
    aborting ``K`` leaves ``K.bak`` and ``K/x`` alone."""
    loc = parse_s3_url(where)
    async with open_context(config, None) as ctx:
        found = [u async for u in list_incomplete(ctx, loc, older_than) if loc.is_prefix or u.key == loc.key]
        for upload in found:
            await abort_upload_id(ctx, upload)
        return found


async def add_abort_rule(bucket: str, *, days: int = 7, config: Config | None = None) -> None:
    """Install the bucket lifecycle rule AbortIncompleteMultipartUpload after ``days``."""
    loc = parse_s3_url(bucket)
    async with open_context(config, None) as ctx:
        await install_lifecycle_rule(ctx, loc.bucket, days)
