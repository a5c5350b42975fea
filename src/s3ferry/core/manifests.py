"""Manifests, pure: the keys of a migration from an S3 Batch Operations CSV or an S3 Inventory
CSV instead of a listing, cut into shards that name their keys."""

from __future__ import annotations

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import unquote_plus

from s3ferry.core.config import MANIFEST_KEYS_PER_SHARD
from s3ferry.core.errors import ConfigError
from s3ferry.core.shards import sort_keys


@dataclass(frozen=True, slots=True)
class ManifestEntry:
    bucket: str
    key: str
    size: int | None = None
    etag: str | None = None


INVENTORY_SCHEMA = "Bucket, Key"


class ManifestError(ConfigError):
    """A manifest line that is not bucket,key[,...] as its schema says."""


def parse_manifest(lines: Iterable[str], schema: str = INVENTORY_SCHEMA, *,
                   encoded: bool = True) -> Iterator[ManifestEntry]:
    """Entries of a CSV manifest: S3 Batch Operations (``bucket,key[,version]``) or S3
    Inventory, whose ``fileSchema`` (from its manifest.json) names the columns, e.g.
    "Bucket, Key, Size, LastModifiedDate, ETag". Both URL-encode keys (form encoding, "+" for a
    space); ``encoded=False`` takes them as written."""
    columns = [name.strip().lower() for name in schema.split(",")]
    if "bucket" not in columns or "key" not in columns:
        raise ManifestError(f"manifest schema needs Bucket and Key columns: {schema!r}")
    where = {name: columns.index(name) for name in ("bucket", "key", "size", "etag") if name in columns}
    for number, row in enumerate(csv.reader(lines), start=1):
        if not row or not any(cell.strip() for cell in row):
            continue
        yield _entry(row, where, encoded, number)


def _entry(row: list[str], where: dict[str, int], encoded: bool, number: int) -> ManifestEntry:
    if len(row) <= max(where["bucket"], where["key"]):
        raise ManifestError(f"manifest line {number}: expected bucket,key, got {','.join(row)!r}")
    key = unquote_plus(row[where["key"]]) if encoded else row[where["key"]]
    if not key:
        raise ManifestError(f"manifest line {number}: empty key")
    size = _cell(row, where.get("size"))
    try:
        number_size = int(size) if size else None
    except ValueError:
        raise ManifestError(f"manifest line {number}: size {size!r} is not a number") from None
    return ManifestEntry(row[where["bucket"]].strip(), key, number_size, _cell(row, where.get("etag")) or None)


def _cell(row: list[str], index: int | None) -> str | None:
    return row[index].strip() if index is not None and index < len(row) else None


def manifest_keys(entries: Iterable[ManifestEntry], bucket: str, prefix: str,
                  per_shard: int = MANIFEST_KEYS_PER_SHARD) -> Iterator[tuple[str, ...]]:
    """Relative keys below ``s3://bucket/prefix``, in shards of ``per_shard``. A key of another
    bucket or outside the prefix is a mistake in the manifest, not something to skip quietly."""
    batch: list[str] = []
    for entry in entries:
        if entry.bucket != bucket or not entry.key.startswith(prefix) or entry.key == prefix:
            raise ManifestError(f"manifest names s3://{entry.bucket}/{entry.key}, outside s3://{bucket}/{prefix}")
        batch.append(entry.key[len(prefix):])
        if len(batch) == per_shard:
            yield tuple(sort_keys(batch))
            batch = []
    if batch:
        yield tuple(sort_keys(batch))
