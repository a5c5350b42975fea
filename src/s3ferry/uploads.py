"""Incomplete multipart uploads: list them, abort them, and install the lifecycle rule that
makes the store abort them by itself. They are billed while they sit there."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from botocore.exceptions import ClientError

from .context import Context
from .errors import ConfigError
from .etag import normalize
from .locations import S3Location
from .resume import StoredPart
from .retry import with_retry

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
    markers: dict[str, str] = {}
    while True:
        page = await with_retry(ctx.config, lambda: ctx.client.list_multipart_uploads(
            Bucket=where.bucket, Prefix=where.key, **markers))
        for item in page.get("Uploads", []):
            upload = IncompleteUpload(where.bucket, item["Key"], item["UploadId"], item["Initiated"])
            if older_than is None or upload.age(now) >= older_than:
                yield upload
        if not page.get("IsTruncated"):
            return
        markers = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}


async def abort(ctx: Context, upload: IncompleteUpload) -> None:
    await with_retry(ctx.config, lambda: ctx.client.abort_multipart_upload(
        Bucket=upload.bucket, Key=upload.key, UploadId=upload.upload_id))


async def install_lifecycle_rule(ctx: Context, bucket: str, days: int) -> None:
    """Add (or replace) our AbortIncompleteMultipartUpload rule, keeping the bucket's others."""
    if days < 1:
        raise ConfigError("the lifecycle rule needs at least 1 day")
    try:
        current = await ctx.client.get_bucket_lifecycle_configuration(Bucket=bucket)
        rules = [r for r in current.get("Rules", []) if r.get("ID") != LIFECYCLE_RULE_ID]
    except ctx.client.exceptions.ClientError as exc:
        if exc.response.get("Error", {}).get("Code") != "NoSuchLifecycleConfiguration":
            raise
        rules = []
    rules.append({"ID": LIFECYCLE_RULE_ID, "Status": "Enabled", "Filter": {"Prefix": ""},
                  "AbortIncompleteMultipartUpload": {"DaysAfterInitiation": days}})
    await with_retry(ctx.config, lambda: ctx.client.put_bucket_lifecycle_configuration(
        Bucket=bucket, LifecycleConfiguration={"Rules": rules}))


async def list_parts(ctx: Context, loc: S3Location, upload_id: str) -> dict[int, StoredPart] | None:
    """The parts an upload holds, a page at a time (16 bytes of ETag each, so bounded by the
    10,000-part limit); None when the upload no longer exists."""
    stored: dict[int, StoredPart] = {}
    marker: dict[str, int] = {}
    while True:
        try:
            page = await with_retry(ctx.config, lambda: ctx.client.list_parts(
                Bucket=loc.bucket, Key=loc.key, UploadId=upload_id, **marker))
        except ClientError as exc:
            if exc.response.get("Error", {}).get("Code") in ("NoSuchUpload", "NoSuchKey", "404"):
                return None
            raise
        for item in page.get("Parts", []):
            number = int(item["PartNumber"])
            stored[number] = StoredPart(number, int(item["Size"]), normalize(item.get("ETag")))
        next_marker = page.get("NextPartNumberMarker")
        if not page.get("IsTruncated") or not next_marker:
            return stored
        marker = {"PartNumberMarker": int(next_marker)}


async def uploads_of_key(ctx: Context, loc: S3Location) -> list[IncompleteUpload]:
    """The incomplete uploads of exactly this key, newest first."""
    found = [u async for u in list_incomplete(ctx, loc) if u.key == loc.key]
    return sorted(found, key=lambda u: u.initiated, reverse=True)
