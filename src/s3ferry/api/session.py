"""What every API call opens: a store and a Context (or a presigned-URL session), with botocore's errors mapped to ours."""

from __future__ import annotations

import getpass
import os
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from s3ferry.core.config import Config
from s3ferry.core.results import NoProgress, Progress, Summary, TransferResult
from s3ferry.ops.context import Context
from s3ferry.store.errors import map_error
from s3ferry.store.profiles import profile_values
from s3ferry.store.s3 import open_store

if TYPE_CHECKING:
    from s3ferry.ops.presign import URLContext


@asynccontextmanager
async def open_context(config: Config | None, progress: Progress | None) -> AsyncIterator[Context]:
    config = config or Config()
    try:
        async with open_store(config) as store:
            yield Context(store, config, progress or NoProgress())
    except Exception as exc:  # noqa: BLE001 - our tree out, whatever botocore raised
        raise map_error(exc) from exc


def config_for_source(config: Config, endpoint_url: str | None, profile: str | None) -> Config | None:
    """The source's config when it differs from the destination's (another endpoint or
    profile); None when both sides are one endpoint, which allows server-side copies."""
    endpoint_url = endpoint_url or config.endpoint_url
    profile = profile or config.profile
    if (endpoint_url, profile) == (config.endpoint_url, config.profile):
        return None
    return config.replace(endpoint_url=endpoint_url, profile=profile)


@asynccontextmanager
async def source_context(ctx: Context, config: Config | None) -> AsyncIterator[Context | None]:
    if config is None:
        yield None
        return
    try:
        async with open_store(config) as store:
            # One limit across both stores: parts in flight stay bounded by the concurrency.
            yield Context(store, config, ctx.progress, ctx.slots, ctx.buffers)
    except Exception as exc:  # noqa: BLE001
        raise map_error(exc) from exc


@asynccontextmanager
async def url_context(config: Config, progress: Progress | None) -> AsyncIterator[URLContext]:
    # Imported here: every other transfer would pay for them at start-up (~7 ms of CPU).
    from s3ferry.ops.presign import URLContext
    from s3ferry.store.presigned import open_presigned

    try:
        async with open_presigned(config) as http:
            yield URLContext(http, config, progress or NoProgress())
    except Exception as exc:  # noqa: BLE001
        raise map_error(exc) from exc


async def one_result(ctx: URLContext, job: Callable[[], Awaitable[TransferResult]]) -> Summary:
    started, summary = time.monotonic(), Summary("put")
    result = await job()
    summary.op = result.op
    summary.add(result)
    summary.seconds = time.monotonic() - started
    return summary


def read_manifest(target: str) -> str:
    if target.lstrip().startswith("{"):
        return target
    try:
        return Path(target).read_text()
    except OSError as exc:
        raise map_error(exc) from None


def aws_profile(name: str | None) -> dict[str, str]:
    """The AWS profile's keys as botocore reads them (``config show``); nothing is sent."""
    return profile_values(name)


def default_user() -> str:
    return os.environ.get("S3FERRY_USER") or getpass.getuser()
