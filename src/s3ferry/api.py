"""The public async API: one function per operation, keyword-only options, typed results."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from .client import map_error, open_client
from .config import Config
from .context import Context
from .errors import ConfigError
from .locations import is_s3_url, parse_s3_url
from .results import NoProgress, Progress, Summary
from .transfer import get_path, put_path
from .verify import verify_path


@asynccontextmanager
async def _context(config: Config | None, progress: Progress | None) -> AsyncIterator[Context]:
    config = config or Config()
    try:
        async with open_client(config) as client:
            yield Context(client, config, progress or NoProgress())
    except Exception as exc:  # noqa: BLE001 - our tree out, whatever botocore raised
        raise map_error(exc) from exc


async def put(source: str | Path, destination: str, *, config: Config | None = None,
              progress: Progress | None = None) -> Summary:
    """Upload a file, or a folder recursively, to ``s3://bucket/key`` (or ``.../prefix/``)."""
    if is_s3_url(str(source)):
        raise ConfigError(f"put takes a local source, got {source} (use get or sync)")
    dest = parse_s3_url(destination)
    async with _context(config, progress) as ctx:
        return await put_path(ctx, Path(source), dest)


async def get(source: str, destination: str | Path, *, config: Config | None = None,
              progress: Progress | None = None) -> Summary:
    """Download an object, or a prefix recursively, to a local file or folder."""
    if is_s3_url(str(destination)):
        raise ConfigError(f"get takes a local destination, got {destination} (use put or sync)")
    src = parse_s3_url(source)
    async with _context(config, progress) as ctx:
        return await get_path(ctx, src, Path(destination))


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
    async with _context(config, progress) as ctx:
        return await verify_path(ctx, Path(source), remote)
