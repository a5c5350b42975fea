"""ls, du, stat, rm, streams (put from stdin, cat), cp and mv."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import BinaryIO

from s3ferry.api.session import (
    config_for_source,
    open_context,
    source_context,
)
from s3ferry.core.config import Config
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import is_s3_url, parse_s3_url
from s3ferry.core.objects import DuTotals, Entry
from s3ferry.core.results import Progress, Summary
from s3ferry.local.streams import InputStream, OutputStream
from s3ferry.ops import move as moving
from s3ferry.ops import objects, remove
from s3ferry.ops.copy import Endpoints
from s3ferry.ops.jobs import run_jobs, single_job
from s3ferry.ops.stream import cat_object, put_stream


async def ls(where: str | None = None, *, recursive: bool = False, config: Config | None = None
             ) -> AsyncIterator[Entry]:
    """The buckets (``where`` None), or the objects under ``s3://bucket/prefix`` (and, unless
    ``recursive``, the prefixes one level down), streamed a page at a time."""
    loc = parse_s3_url(where) if where else None
    async with open_context(config, None) as ctx:
        if loc is None:
            for entry in await objects.list_buckets(ctx):
                yield entry
            return
        async for entry in objects.list_entries(ctx, loc, recursive=recursive):
            yield entry


async def du(where: str, *, config: Config | None = None) -> AsyncIterator[DuTotals]:
    """Object count and bytes per first-level prefix under ``where``, then the total."""
    loc = parse_s3_url(where)
    async with open_context(config, None) as ctx:
        async for totals in objects.disk_usage(ctx, loc):
            yield totals


async def stat(where: str, *, config: Config | None = None) -> dict[str, object]:
    """Everything the store says of one object, and the part layout verify would use."""
    loc = parse_s3_url(where)
    async with open_context(config, None) as ctx:
        return await objects.stat_object(ctx, loc)


async def count_objects(where: str, *, config: Config | None = None) -> int:
    async with open_context(config, None) as ctx:
        return await remove.count_prefix(ctx, parse_s3_url(where))


async def rm(where: str, *, recursive: bool = False, dry_run: bool = False,
             config: Config | None = None) -> remove.Removal:
    """Delete one object, or (``recursive``) every object under a prefix, 1,000 a request."""
    loc = parse_s3_url(where)
    async with open_context(config, None) as ctx:
        if recursive:
            return await remove.remove_prefix(ctx, loc, dry_run=dry_run)
        return await remove.remove_object(ctx, loc, dry_run=dry_run)


async def put_stdin(destination: str, *, source: BinaryIO, expected_size: int | None = None,
                    config: Config | None = None, progress: Progress | None = None) -> Summary:
    """Upload a stream of unknown length (stdin) to ``s3://bucket/key`` as it arrives."""
    dest = parse_s3_url(destination)
    stream = InputStream(source)
    try:
        async with open_context(config, progress) as ctx:
            return await run_jobs(ctx, single_job(lambda: put_stream(ctx, stream, dest, expected_size=expected_size)),
                                  Summary("put"))
    finally:
        stream.close()


async def cat(source: str, *, out: BinaryIO, config: Config | None = None,
              progress: Progress | None = None) -> Summary:
    """Write an object to ``out`` (stdout) in order; its ETag is checked at the end."""
    loc = parse_s3_url(source)
    stream = OutputStream(out)
    try:
        async with open_context(config, progress) as ctx:
            return await run_jobs(ctx, single_job(lambda: cat_object(ctx, loc, stream)), Summary("cat"))
    finally:
        await stream.close()


async def cp(source: str, destination: str, *, recursive: bool = False, config: Config | None = None,
             progress: Progress | None = None, source_endpoint_url: str | None = None,
             source_profile: str | None = None) -> Summary:
    """Copy objects between keys, buckets or endpoints; the copy keeps the source's part layout,
    so its ETag is the source's, and that equality is the verification."""
    return await _copy(source, destination, recursive, False, config, progress, source_endpoint_url, source_profile)


async def mv(source: str | Path, destination: str | Path, *, recursive: bool = False,
             config: Config | None = None, progress: Progress | None = None,
             source_endpoint_url: str | None = None, source_profile: str | None = None) -> Summary:
    """Copy (or put, or get), verify, then delete the source; a source whose copy did not
    verify is kept. S3 -> S3, local -> S3 or S3 -> local."""
    up, down = not is_s3_url(str(source)), not is_s3_url(str(destination))
    if up and down:
        raise ConfigError(f"mv needs an s3:// side, got {source} and {destination}")
    if up or down:
        async with open_context(config, progress) as ctx:
            if up:
                return await moving.move_up(ctx, Path(source), parse_s3_url(str(destination)))
            return await moving.move_down(ctx, parse_s3_url(str(source)), Path(destination), recursive=recursive)
    return await _copy(str(source), str(destination), recursive, True, config, progress, source_endpoint_url,
                       source_profile)


async def _copy(source: str, destination: str, recursive: bool, move: bool, config: Config | None,
                progress: Progress | None, source_endpoint_url: str | None, source_profile: str | None) -> Summary:
    src, dst = parse_s3_url(source), parse_s3_url(destination)
    config = config or Config()
    source_config = config_for_source(config, source_endpoint_url, source_profile)
    async with open_context(config, progress) as ctx, source_context(ctx, source_config) as src_ctx:
        return await moving.copy_path(Endpoints(src_ctx or ctx, ctx), src, dst, recursive=recursive, move=move)
