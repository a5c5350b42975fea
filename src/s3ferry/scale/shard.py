"""One attempt at one shard, on a worker: its own store (and the source's, on another
endpoint), the normal sync engine over the shard's keys, and the counts it reports back."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import AsyncExitStack, asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from s3ferry.core.config import MAX_CAUSES_KEPT, TICK_SECONDS, Config
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import S3Location, is_s3_url, parse_s3_url
from s3ferry.core.results import TransferResult, Verdict
from s3ferry.core.shards import Migration, ShardResult, ShardSpec
from s3ferry.core.sync_plan import COPY_ALL, RULES, KeyFilter
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.context import Context
from s3ferry.ops.sync import SyncOptions, load_filter, sync
from s3ferry.store.errors import map_error
from s3ferry.store.s3 import ObjectStore, open_store


class ShardCounts:
    """The progress sink of a shard: counts ETag proofs, which the summary does not, and
    sends the driver (objects, bytes) done, batched (``sink``: see runner.Tick)."""

    def __init__(self, number: int = 0, attempt: int = 1, sink: Callable[[Any], None] | None = None) -> None:
        self.matched = 0
        self.number, self.attempt, self.sink = number, attempt, sink
        self.objects = self.bytes = 0
        self.sent = time.monotonic()

    def started(self, source: str, size: int) -> None:
        pass

    def advanced(self, nbytes: int) -> None:
        pass

    def finished(self, result: TransferResult) -> None:
        if result.ok and result.verdict is Verdict.MATCH:
            self.matched += 1
        if self.sink is not None:
            self.objects += 1
            self.bytes += result.size if result.ok and result.moves_bytes else 0
            if time.monotonic() - self.sent >= TICK_SECONDS:
                self.flush()

    def flush(self) -> None:
        if self.sink is not None and self.objects:
            try:
                self.sink((self.number, self.attempt, self.objects, self.bytes))
            except Exception:  # noqa: BLE001 - progress is never worth failing a shard for
                self.sink = None
            self.objects = self.bytes = 0
        self.sent = time.monotonic()


def side(text: str) -> Path | S3Location:
    return parse_s3_url(text) if is_s3_url(text) else Path(text)


Stores = Callable[[Config], Awaitable[ObjectStore]]


@asynccontextmanager
async def _context(config: Config | None, progress: ShardCounts | None,
                   stores: Stores | None = None) -> AsyncIterator[Context | None]:
    if config is None:
        yield None
        return
    try:
        async with AsyncExitStack() as stack:
            # A local worker process lends its own store, kept between shards (scale/kept.py).
            store = await (stores(config) if stores is not None else stack.enter_async_context(open_store(config)))
            yield Context(store, config, progress) if progress is not None else Context(store, config)
    except Exception as exc:
        raise map_error(exc) from exc


@contextmanager
def _hash_cache(source: Path | S3Location, dest: Path | S3Location) -> Iterator[HashCache | None]:
    """With a local side, the worker's hash cache (its user's, as a one-process run uses): a
    file a shard sent or fetched is remembered, and a re-run hashes none of the unchanged
    ones. A worker that cannot open it (a read-only home) goes without: only ever a shortcut."""
    if isinstance(source, S3Location) and isinstance(dest, S3Location):
        yield None
        return
    try:
        cache = HashCache()
    except (OSError, sqlite3.Error):
        yield None
        return
    with cache:
        yield cache


def shard_filter(job: Migration, source: Path | S3Location) -> KeyFilter:
    """put/get/cp of a tree take every file: no globs, and no ignore file (sync's alone); cp
    every object, the trash and folder markers sync leaves out too."""
    if job.copies_all:
        return KeyFilter(every_key=job.action == "cp")
    return load_filter(source if isinstance(source, Path) else None, list(job.excludes), list(job.includes))


async def sync_shard(spec: ShardSpec, attempt: int, worker: str, sink: Callable[[Any], None] | None = None,
                     stores: Stores | None = None) -> ShardResult:
    """Sync the shard's keys; a failed object is counted, a failed shard raises (run_shard
    turns that into the attempt's cause)."""
    job = spec.migration
    started = time.monotonic()
    source, dest = side(job.source), side(job.destination)
    if spec.keys is not None and not (isinstance(source, S3Location) and isinstance(dest, S3Location)):
        raise ConfigError("a manifest names objects: it needs s3:// on both sides")
    counts = ShardCounts(spec.number, attempt, sink)
    options = SyncOptions(rule=COPY_ALL if job.copies_all else RULES[job.rule], delete=job.delete,
                          trash=job.trash, dry_run=job.dry_run, keys=shard_filter(job, source),
                          span=spec.span, only=spec.keys)
    async with _context(job.config, counts, stores) as ctx, _context(job.source_config, None, stores) as src_ctx:
        if src_ctx is not None:  # one limit across both stores, as a one-process sync has
            src_ctx = Context(src_ctx.store, src_ctx.config, counts, ctx.slots, ctx.buffers)
        with _hash_cache(source, dest) as options.cache:
            summary, stats = await sync(ctx, source, dest, options, src_ctx)
    counts.flush()
    return ShardResult(spec.number, attempt, worker, copied=stats.copied, skipped=stats.skipped,
                       deleted=stats.deleted, failed=summary.failed, bytes=summary.bytes, etag_match=counts.matched,
                       unverifiable=summary.unverified, hashed=stats.hashed, seconds=time.monotonic() - started,
                       exit_code=summary.exit_code, causes=tuple(summary.errors[:MAX_CAUSES_KEPT]))
