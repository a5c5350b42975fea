"""put, get and verify. sync and migrate (sharded sync) are in api/syncing.py: a put or a get
then imports neither the sync engine nor the scale-out layer (~0.03 CPU-s at start-up)."""

from __future__ import annotations

import os
from pathlib import Path

from s3ferry.api.session import open_context
from s3ferry.core.config import Config
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import is_s3_url, parse_s3_url
from s3ferry.core.results import Progress, Summary
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.put import upload_file
from s3ferry.ops.trees import get_path, put_path
from s3ferry.ops.unchanged import upload_if_changed
from s3ferry.ops.verify import verify_path


async def put(source: str | Path, destination: str, *, config: Config | None = None,
              progress: Progress | None = None, skip_unchanged: bool = False,
              cache_path: Path | None = None) -> Summary:
    """Upload a file, or a folder recursively, to ``s3://bucket/key`` (or ``.../prefix/``).
    ``skip_unchanged``: a file whose object already holds the same bytes (verify's judgement,
    any part layout) is not sent. Each file put and verified goes into the hash cache
    (``cache_path``, default the user's cache folder), so a sync right after it hashes nothing."""
    if is_s3_url(str(source)):
        raise ConfigError(f"put takes a local source, got {source} (use get or sync)")
    dest = parse_s3_url(destination)
    async with open_context(config, progress) as ctx:
        with HashCache(cache_path) as cache:
            return await put_path(ctx, Path(source), dest, cache,
                                  upload=upload_if_changed if skip_unchanged else upload_file)


async def get(source: str, destination: str | Path, *, config: Config | None = None,
              progress: Progress | None = None, cache_path: Path | None = None) -> Summary:
    """Download an object, or a prefix recursively, to a local file or folder (a destination
    ending in "/" is a folder). Verified files go into the hash cache, as for :func:`put`."""
    if is_s3_url(str(destination)):
        raise ConfigError(f"get takes a local destination, got {destination} (use put or sync)")
    src = parse_s3_url(source)
    # A trailing slash means a folder, as in aws-cli; Path() would drop it.
    into_folder = str(destination).endswith(("/", os.sep))
    async with open_context(config, progress) as ctx:
        with HashCache(cache_path) as cache:
            return await get_path(ctx, src, Path(destination), into_folder=into_folder, cache=cache)


async def verify(source: str | Path, destination: str, *, config: Config | None = None,
                 progress: Progress | None = None) -> Summary:
    """Check a local file (or folder, recursively) against ``s3://bucket/key`` (or a prefix).

    Every pair gets one verdict (match, mismatch, missing-local, missing-remote, unverifiable);
    ``summary.exit_code`` is 0 only when every pair matches, 3 when any pair mismatches or
    cannot be verified, else 4 when any side is missing.
    """
    if is_s3_url(str(source)):
        raise ConfigError(f"verify takes a local file or folder first, got {source}")
    remote = parse_s3_url(destination)
    async with open_context(config, progress) as ctx:
        return await verify_path(ctx, Path(source), remote)
