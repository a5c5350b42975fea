"""get: one S3 object to one local file, by parallel ranged GETs into a temporary file that
is renamed into place only once its ETag is verified."""

from __future__ import annotations

import os
import time
from collections.abc import Awaitable, Callable
from functools import partial
from pathlib import Path

import anyio
from anyio import to_thread

from s3ferry.core import layout as guess
from s3ferry.core.config import TEMP_SUFFIX, MiB
from s3ferry.core.errors import IntegrityError, UnsafeKeyError, UnverifiableError
from s3ferry.core.etag import ETag, composite_etag, normalize
from s3ferry.core.layout import SINGLE, Layout
from s3ferry.core.locations import S3Location
from s3ferry.core.md5lanes import Md5
from s3ferry.core.parts import Part, plan_parts
from s3ferry.core.results import TransferResult, Verdict, report_kept
from s3ferry.local import files as fileio
from s3ferry.local import hashing
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.batched import run_lane
from s3ferry.ops.context import Context
from s3ferry.ops.get_small import fetch_whole, one_request, write_small
from s3ferry.ops.get_small import install as _install
from s3ferry.ops.jobs import failed
from s3ferry.ops.layout import remote_layout, store_checksum_verdict
from s3ferry.ops.multipart import keeps_partial
from s3ferry.ops.remote import RemoteObject, head
from s3ferry.ops.resume.rangelog import RangeLog, ranges_for

# What a range's body is received into (store/http1.py), then hashed and written from in one
# thread hop. With one hashing stream per thread, larger blocks were cheaper (profile.md
# "bigfile": 1 MiB 3.32, 4 MiB 3.05 CPU-s per GiB); with MD5 lanes, more ranges in flight make
# wider batches: 2 MiB keeps 24 ranges in the 48 MiB budget. 1 GiB get, own Ceph, 4 rounds
# interleaved: 2 MiB 1.96-2.16 s, 4 MiB 2.03-2.13 s, s5cmd 1.72-1.85 s (profile.md "lanes").
RECEIVE_BLOCK = 2 * MiB

# A whole-object mismatch is fetched once more before it is called a failure: a byte flipped
# in transit fails the first pass and passes the second.
VERIFY_PASSES = 2


def temp_path(dest: Path) -> Path:
    return dest.with_name(f".{dest.name}{TEMP_SUFFIX}")


async def download_object(ctx: Context, loc: S3Location, dest: Path, known: RemoteObject | None = None, *,
                          inside: tuple[Path, str] | None = None, refused_as: str = "get",
                          cache: HashCache | None = None) -> TransferResult:
    """Download ``loc`` to ``dest``. Never raises for a failed transfer: the result carries
    the error, and the destination is untouched. Cancellation propagates (after cleanup).
    ``inside`` (root, relative): refuse to write through a symbolic link out of root (a
    failure reported as ``refused_as``); only for objects ``one_request`` takes. ``cache``:
    a verified download is remembered there (a later sync then need not hash it)."""
    started = time.monotonic()
    try:
        obj = known if _enough(known) else await head(ctx, loc)
        ctx.progress.started(str(loc), obj.size)
        if one_request(ctx, obj):
            verdict, detail = await _download_small(ctx, obj, dest, inside, cache)
        else:
            assert inside is None, "only a one-request download checks the path in its hop"
            verdict, detail = await _download(ctx, obj, dest)
            if cache is not None and verdict is Verdict.MATCH:
                await to_thread.run_sync(cache.remember_written, dest, normalize(obj.etag_raw))
        result = TransferResult("get", str(loc), str(dest), obj.size, normalize(obj.etag_raw),
                                verdict, detail, time.monotonic() - started)
    except UnsafeKeyError as exc:
        result = failed(refused_as, str(loc), str(dest), exc, started)
    except Exception as exc:  # noqa: BLE001 - every failure becomes a result
        result = failed("get", str(loc), str(dest), exc, started)
    ctx.progress.finished(result)
    return result


async def _download_small(ctx: Context, obj: RemoteObject, dest: Path, inside: tuple[Path, str] | None,
                          cache: HashCache | None) -> tuple[Verdict, str]:
    """``_download`` for a ``one_request`` object, with one worker-thread hop per file
    instead of four (each costs ~0.1 ms of CPU, as much as the GET): the body is held in
    memory (at most one streaming batch, under a slot, as a streaming GET holds) and one hop
    checks the path, creates the temporary file (O_EXCL), writes and hashes it and, when the
    MD5 is the ETag, renames it into place. A mismatch leaves the
    temporary file to ``_judge``, as the general path does, and is fetched once more."""
    etag = obj.etag
    assert etag is not None
    tmp = temp_path(dest)
    expected = bytes.fromhex(str(etag)) if ctx.config.verify else None
    detail = ""
    for attempt in range(VERIFY_PASSES):
        token = object()
        await ctx.slots.acquire_on_behalf_of(token)
        try:
            chunks = await ctx.store.retry(lambda: fetch_whole(ctx, obj))
            md5 = Md5()
            job = write_small(md5, tmp, dest, chunks, expected, obj.last_modified, inside, cache)
            digest, installed = await run_lane(ctx.batches, md5, job, undo=partial(_left, tmp))
        finally:
            ctx.slots.release_on_behalf_of(token)
        if installed:
            if expected is None:
                return Verdict.SKIPPED, "verification off"
            return Verdict.MATCH, SINGLE.source if attempt == 0 else f"{SINGLE.source}, re-fetched"
        try:  # the bytes differ from the ETag: the temporary file is judged as _download would
            verdict, detail = await _judge(ctx, obj, etag, SINGLE, [digest], tmp, ctx.config.part_size, attempt)
            if verdict is not None:
                await to_thread.run_sync(_install, tmp, dest, obj.last_modified)
                if cache is not None and verdict is Verdict.MATCH:
                    await to_thread.run_sync(cache.remember_written, dest, str(etag))
                return verdict, detail
        finally:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(fileio.remove_quietly, tmp)
    raise IntegrityError(f"downloaded bytes have ETag {detail}, object has {etag}")


def _left(tmp: Path, outcome: tuple[bytes, bool]) -> None:
    """A small get cancelled once its bytes were written: a temporary file not installed goes."""
    if not outcome[1]:
        fileio.remove_quietly(tmp)


def _enough(known: RemoteObject | None) -> bool:
    """A listing tells size and ETag; only a multipart object needs the HEAD's metadata too."""
    if known is None:
        return False
    etag = known.etag
    return known.metadata is not None or etag is None or not etag.is_multipart


async def _download(ctx: Context, obj: RemoteObject, dest: Path) -> tuple[Verdict, str]:
    etag = obj.etag
    layout = await remote_layout(ctx, obj.loc, obj.size, etag, obj.metadata or {}) if etag else Layout(None, "unknown")
    # Aligning ranges with the upload's parts lets each range's MD5 feed the composite ETag.
    range_size = layout.part_size or ctx.config.part_size
    tmp = temp_path(dest)
    ranges = await ranges_for(ctx, obj.loc, obj.size, obj.etag_raw if obj.etag else None, dest, tmp, range_size)
    resumed = ranges is not None and ranges.resumed
    fd = await to_thread.run_sync(fileio.create_temp, tmp, obj.size, resumed)  # one hop: small files pay per hop
    try:
        try:
            verdict, detail = await _fetch_and_verify(ctx, obj, etag, layout, fd, tmp, range_size, ranges)
        finally:
            os.close(fd)
        await to_thread.run_sync(_install, tmp, dest, obj.last_modified)
    except BaseException as exc:
        with anyio.CancelScope(shield=True):
            if ranges is not None and keeps_partial(ctx, exc):
                await ranges.flush()
                report_kept(ctx.progress, f"get {obj.loc} -> {dest}: {len(ranges.done)} of {ranges.done.count} "
                                          f"ranges in {tmp}; re-run the same command to resume, or delete it")
            else:
                await to_thread.run_sync(fileio.remove_quietly, tmp)
                if ranges is not None:
                    await ranges.forget()
        raise
    if ranges is not None:
        await ranges.forget()
    return verdict, detail


async def _fetch_and_verify(ctx: Context, obj: RemoteObject, etag: ETag | None, layout: Layout, fd: int,
                            tmp: Path, range_size: int, ranges: RangeLog | None) -> tuple[Verdict, str]:
    for attempt in range(VERIFY_PASSES):
        if attempt and ranges is not None:
            await ranges.clear()  # the second pass fetches everything again
        digests, reused = await _fetch_all(ctx, obj, fd, range_size, ranges)
        verdict, detail = await _judge(ctx, obj, etag, layout, digests, tmp, range_size, attempt)
        if verdict is not None:
            if reused:
                detail += f"; resumed: {reused} of {len(digests)} ranges were already in the temporary file"
            return verdict, detail
    raise IntegrityError(f"downloaded bytes have ETag {detail}, object has {etag}")


async def _judge(ctx: Context, obj: RemoteObject, etag: ETag | None, layout: Layout, digests: list[bytes],
                 tmp: Path, range_size: int, attempt: int) -> tuple[Verdict | None, str]:
    """The verdict on the fetched file, or (None, local ETag) when it is worth fetching again."""
    if not ctx.config.verify:
        return Verdict.SKIPPED, "verification off"
    local = await _local_etag(etag, layout, digests, tmp)
    if local is None and etag is not None and etag.is_multipart:
        # Unknown layout (no metadata, no PartNumber support, e.g. Ceph): guess it from
        # the finished temporary file, before it is renamed into place.
        if _ranges_match(digests, etag, range_size):
            return Verdict.MATCH, f"guessed from the ranges: {guess.part_text(range_size)}"
        guessed = await _guess_layout(obj, etag, tmp)
        if guessed is not None:
            return Verdict.MATCH, f"guessed: {guess.part_text(guessed)}"
    judged = None
    if local is None:  # no ETag to compare: the store's own full-object checksum decides
        judged = await store_checksum_verdict(ctx, obj.loc, tmp)
        if judged is None:
            return _unverifiable(ctx, etag, layout)
    elif local == str(etag):
        return Verdict.MATCH, layout.source if attempt == 0 else f"{layout.source}, re-fetched"
    elif obj.opaque is None:  # known from a listing: an SSE-KMS ETag differs without a flipped byte
        judged = await store_checksum_verdict(ctx, obj.loc, tmp, only_if_opaque=True)
    if judged is not None and (judged[0] is not Verdict.MISMATCH or attempt + 1 == VERIFY_PASSES):
        return _final(ctx, judged)
    return None, str(local)


def _final(ctx: Context, judged: tuple[Verdict, str]) -> tuple[Verdict, str]:
    verdict, detail = judged
    if verdict is Verdict.MISMATCH:
        raise IntegrityError(f"downloaded bytes differ from the store's checksum: {detail}")
    if verdict is Verdict.UNVERIFIABLE and ctx.config.require_verify:
        raise UnverifiableError(detail)
    return verdict, detail


async def _local_etag(etag: ETag | None, layout: Layout, digests: list[bytes], tmp: Path) -> str | None:
    if etag is None or not layout.known:
        return None
    if etag.is_multipart:
        return composite_etag(digests)
    if len(digests) == 1:
        return digests[0].hex()
    # A large single-PUT object came in several ranges: its MD5 needs the bytes in order.
    return (await to_thread.run_sync(fileio.hash_file, tmp)).hex()


def _ranges_match(digests: list[bytes], etag: ETag, range_size: int) -> bool:
    """The ranges were cut at ``range_size``: when the uploader used that part size too (8 MiB
    is the common default), their MD5s already make the ETag and the file need not be re-read."""
    return len(digests) == etag.parts and composite_etag(digests) == str(etag)


async def _guess_layout(obj: RemoteObject, etag: ETag, tmp: Path) -> int | None:
    candidates = guess.candidate_part_sizes(obj.size, etag.parts or 0)
    if not candidates.sizes:
        return None
    return await to_thread.run_sync(lambda: _find_in_file(tmp, obj.size, str(etag), candidates.sizes))


def _find_in_file(path: Path, size: int, etag: str, part_sizes: tuple[int, ...]) -> int | None:
    fd = os.open(path, os.O_RDONLY)
    try:
        return hashing.find_part_size(hashing.file_reader(fd), size, etag, part_sizes)
    finally:
        os.close(fd)


def _unverifiable(ctx: Context, etag: ETag | None, layout: Layout) -> tuple[Verdict, str]:
    reason = "ETag is not an MD5 (SSE-KMS/SSE-C or non-AWS store)" if etag is None else \
        f"unknown part layout for {etag}"
    if ctx.config.require_verify:
        raise UnverifiableError(reason)
    return Verdict.UNVERIFIABLE, reason


async def _fetch_all(ctx: Context, obj: RemoteObject, fd: int, range_size: int,
                     ranges: RangeLog | None) -> tuple[list[bytes], int]:
    """Every range's MD5, and how many ranges were already in the file (re-hashed, not fetched)."""
    parts = list(plan_parts(obj.size, range_size))
    digests: list[bytes] = [b""] * len(parts)
    reused = 0

    whole = len(parts) == 1

    async def fetch(part: Part, token: object) -> None:
        nonlocal reused
        present = ranges is not None and part.number in ranges.done
        try:
            if present:
                digests[part.number - 1] = (await to_thread.run_sync(fileio.hash_part, fd, part.offset, part.size))[0]
            else:
                digests[part.number - 1] = await _fetch_into_block(ctx, obj, part, fd, whole)
        finally:
            ctx.slots.release_on_behalf_of(token)
        if present:
            reused += 1
            ctx.progress.advanced(part.size)
        elif ranges is not None:
            await ranges.add(part.number)

    if whole:  # the common small object: no task group (and task) for one range
        token = object()
        await ctx.slots.acquire_on_behalf_of(token)
        await fetch(parts[0], token)
        return digests, reused
    async with anyio.create_task_group() as tg:
        for part in plan_parts(obj.size, range_size):
            token = object()  # a borrower unique to this range, across all concurrent files
            await ctx.slots.acquire_on_behalf_of(token)
            tg.start_soon(fetch, part, token)
    return digests, reused


async def _fetch_into_block(ctx: Context, obj: RemoteObject, part: Part, fd: int, whole: bool) -> bytes:
    """``_fetch_range`` (retried) with a receive block from the part buffers' pool: reused
    from range to range, counted in the memory budget, and taken only if the HTTP client
    asks for one (the raw client does; aiohttp's stream gives pieces)."""
    held: list[memoryview] = []

    async def block() -> memoryview:
        if not held:
            await ctx.buffers.reserve(RECEIVE_BLOCK)
            held.append(ctx.buffers.take(RECEIVE_BLOCK))
        return held[0]

    try:
        digest = await ctx.store.retry(lambda: _fetch_range(ctx, obj, part, fd, whole, block))
    except BaseException:
        if held:
            ctx.buffers.forget(held[0])  # a failed receive: never lend it again
        raise
    if held:
        ctx.buffers.give(held[0])
    return digest


async def _fetch_range(ctx: Context, obj: RemoteObject, part: Part, fd: int, whole: bool,
                       block: Callable[[], Awaitable[memoryview]] | None = None) -> bytes:
    """One GET of one range, hashed and written as it streams in, a batch per thread hop
    (hashed while it is still in cache). With ``block``, the raw HTTP client receives the
    body straight into it, a block at a time, and the thread hashes and writes it from there."""
    md5 = Md5()

    async def write(offset: int, chunks: list[bytes]) -> None:
        await run_lane(ctx.batches, md5, fileio.write_job(fd, offset, chunks), gather=True)
        ctx.progress.advanced(sum(len(c) for c in chunks))

    await ctx.store.read_range(obj.loc, part, write, if_match=obj.etag_raw, whole=whole, into=block)
    return md5.digest()
