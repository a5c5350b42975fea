"""Presigned URLs, and transfers through them with no credentials."""

from __future__ import annotations

from collections.abc import Awaitable
from pathlib import Path

from s3ferry.api.session import (
    one_result,
    open_context,
    read_manifest,
    url_context,
)
from s3ferry.core.config import Config
from s3ferry.core.locations import parse_s3_url
from s3ferry.core.presign import Manifest, is_http_url, parse_manifest
from s3ferry.core.results import Progress, Summary, TransferResult
from s3ferry.ops import presign as presigning
from s3ferry.ops.presigned_get import get_url


async def presign(where: str, *, put: bool = False, expires: int = 3600, content_type: str | None = None,
                  config: Config | None = None) -> str:
    """A presigned GET (or PUT) URL for ``s3://bucket/key``, valid ``expires`` seconds."""
    loc = parse_s3_url(where)
    async with open_context(config, None) as ctx:
        return await presigning.presign_url(ctx, loc, put=put, expires=expires, content_type=content_type)


async def presign_multipart(where: str, *, size: int, expires: int = 3600, config: Config | None = None) -> Manifest:
    """Start a multipart upload of ``size`` bytes (parts of ``config.part_size``) and return the
    manifest that lets someone without credentials upload, complete or abort it."""
    loc = parse_s3_url(where)
    async with open_context(config, None) as ctx:
        return await presigning.presign_multipart(ctx, loc, size=size, expires=expires)


async def put_presigned(source: str | Path, target: str, *, config: Config | None = None,
                        progress: Progress | None = None) -> Summary:
    """Upload a file through a presigned PUT URL, or a manifest (its JSON text or a path to
    it), with no credentials at all."""
    config = config or Config()
    manifest = None if is_http_url(target) else parse_manifest(read_manifest(target), target)
    content_type = config.object_options.content_type
    async with url_context(config, progress) as ctx:
        def job() -> Awaitable[TransferResult]:
            if manifest is not None:
                return presigning.put_manifest(ctx, Path(source), manifest)
            return presigning.put_url(ctx, Path(source), target, content_type)
        return await one_result(ctx, job)


async def get_presigned(url: str, destination: str | Path, *, config: Config | None = None,
                        progress: Progress | None = None) -> Summary:
    """Download a presigned GET URL in parallel ranges and verify it by its ETag."""
    async with url_context(config or Config(), progress) as ctx:
        return await one_result(ctx, lambda: get_url(ctx, url, Path(destination)))
