"""Incomplete multipart uploads: list them, abort them, and install the lifecycle rule that
makes the store abort them by itself. They are billed while they sit there."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from s3ferry.core.errors import ConfigError
from s3ferry.core.etag import normalize
from s3ferry.core.locations import S3Location
from s3ferry.core.resume import StoredPart
from s3ferry.ops.context import Context
from s3ferry.store.errors import error_code, is_missing

LIFECYCLE_RULE_ID = "s3ferry-abort-incomplete-multipart-uploads"
_AGE = re.compile(r"^(\d+)\s*([smhdw])$")
_UNIT = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}


@dataclass(frozen=True, slots=True)
class IncompleteUpload:
    bucket: str
    key: str
    upload_id: str
    initiated: datetime

    def age(self, now: datetime) -> timedelta:
        return now - self.initiated


def parse_age(text: str) -> timedelta:
    """'2d', '12h', '30m', '1w' -> a timedelta."""
    match = _AGE.match(text.strip().lower())
    if match is None:
        raise ConfigError(f"not an age: {text!r} (try 2d, 12h or 30m)")
    return timedelta(**{_UNIT[match.group(2)]: int(match.group(1))})


async def list_incomplete(ctx: Context, where: S3Location,
                          older_than: timedelta | None = None) -> AsyncIterator[IncompleteUpload]:
    """Incomplete uploads under a bucket/prefix, a page at a time, optionally only old ones."""
    now = datetime.now(timezone.utc)
    async for item in ctx.store.list_uploads(where):
        upload = IncompleteUpload(where.bucket, item["Key"], item["UploadId"], item["Initiated"])
        if older_than is None or upload.age(now) >= older_than:
            yield upload


async def abort(ctx: Context, upload: IncompleteUpload) -> None:
    await ctx.store.abort_upload(S3Location(upload.bucket, upload.key), upload.upload_id)


async def install_lifecycle_rule(ctx: Context, bucket: str, days: int) -> None:
    """Add (or replace) our AbortIncompleteMultipartUpload rule, keeping the bucket's others."""
    if days < 1:
        raise ConfigError("the lifecycle rule needs at least 1 day")
    rules = [r for r in await ctx.store.get_lifecycle_rules(bucket) if r.get("ID") != LIFECYCLE_RULE_ID]
    rules.append({"ID": LIFECYCLE_RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""},
                  "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days}})
    await ctx.store.put_lifecycle_rules(bucket, rules)


async def list_parts(ctx: Context, loc: S3Location, upload_id: str) -> dict[int, StoredPart] | None:
    """The parts an upload holds, a page at a time (16 bytes of ETag each, so bounded by the
    10,000-part limit); None when the upload no longer exists."""
    stored: dict[int, StoredPart] = {}
    try:
        async for item in ctx.store.list_parts(loc, upload_id):
            number = int(item["PartNumber"])
            stored[number] = StoredPart(number, int(item["Size"]), normalize(item.get("ETag")))
    except Exception as exc:
        if error_code(exc) == "NoSuchUpload" or is_missing(exc):
            return None
        raise
    return stored


async def uploads_of_key(ctx: Context, loc: S3Location) -> list[IncompleteUpload]:
    """The incomplete uploads of exactly this key, newest first."""
    found = [u async for u in list_incomplete(ctx, loc) if u.key == loc.key]
    return sorted(found, key=lambda u: u.initiated, reverse=True)
