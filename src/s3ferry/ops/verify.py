"""verify: prove a local file and an S3 object hold the same bytes, whoever uploaded the object.

Each (local, remote) pair gets exactly one verdict: match, mismatch, missing-local,
missing-remote or unverifiable (with its reason). The part layout of a multipart object comes
from our metadata, then HeadObject(PartNumber=1), then guessing (guess.py: every consistent
candidate hashed in one pass over the file). "No comparable hash" is a verdict, never a pass.
"""

from __future__ import annotations

import os
import stat as stat_module
import time
from collections.abc import AsyncIterator
from functools import partial
from pathlib import Path

import anyio
from anyio import to_thread

from s3ferry.core import layout as guess
from s3ferry.core.config import MiB
from s3ferry.core.errors import ConfigError, LocalIOError, NotFoundError
from s3ferry.core.etag import composite_etag, normalize
from s3ferry.core.layout import layout_text
from s3ferry.core.locations import S3Location, safe_relative_path
from s3ferry.core.results import TransferResult, Verdict
from s3ferry.core.sync_plan import KeyFilter, amerge_join
from s3ferry.core.verdicts import VerifySummary, decide_etag, verdict_result
from s3ferry.local import files as fileio
from s3ferry.local import hashing
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import Job, check_bucket, failed, refuse_key, report_problem, run_jobs
from s3ferry.ops.layout import remote_layout, store_checksum_verdict
from s3ferry.ops.listing import local_items, remote_items
from s3ferry.ops.remote import RemoteObject, head
from s3ferry.store.errors import map_error

# Files at least this big hash on all cores under a run-wide limit (so 32 concurrent big
# files do not each start a thread per core and a queue of blocks); smaller ones in one hop.
PARALLEL_HASH_MIN = 64 * MiB
PARALLEL_HASHES = 2


# ---- one pair ---------------------------------------------------------------------------

class Verifier:
    def __init__(self, ctx: Context):
        self.ctx = ctx
        self.big = anyio.CapacityLimiter(PARALLEL_HASHES)
        self.hashed = 0  # local files read to compute an ETag

    async def pair(self, local: Path, loc: S3Location, remote: RemoteObject | None = None,
                   local_known: bool | None = None) -> TransferResult:
        """Never raises for a failed pair: the result carries the verdict or the error."""
        started = time.monotonic()
        try:
            result = await self._pair(local, loc, remote, local_known, started)
        except Exception as exc:  # noqa: BLE001 - every failure becomes a result
            result = failed("verify", str(local), str(loc), exc, started, what=str(loc))
        self.ctx.progress.finished(result)
        return result

    async def _pair(self, local: Path, loc: S3Location, remote: RemoteObject | None, local_known: bool | None,
                    started: float) -> TransferResult:
        size = await to_thread.run_sync(_local_size, local) if local_known is not False else None
        if remote is None:
            remote = await self._head(loc)
        if size is None and remote is None:
            raise NotFoundError(f"neither exists: {local} and {loc}")
        if size is None:
            assert remote is not None
            return verdict_result(local, loc, Verdict.MISSING_LOCAL, f"no such file: {local}", remote.size,
                                  normalize(remote.etag_raw), started)
        if remote is None:
            return verdict_result(local, loc, Verdict.MISSING_REMOTE, f"no such object: {loc}", size, None, started)
        self.ctx.progress.started(str(local), size)
        if size != remote.size:
            verdict, detail = Verdict.MISMATCH, f"size differs: local {size} bytes, object {remote.size}"
        else:
            verdict, detail = await self.compare(local, size, remote)
        self.ctx.progress.advanced(size)
        return verdict_result(local, loc, verdict, detail, size, normalize(remote.etag_raw), started)

    async def missing_remote(self, local: Path, loc: S3Location, size: int) -> TransferResult:
        result = verdict_result(local, loc, Verdict.MISSING_REMOTE, f"no such object: {loc}", size, None,
                                time.monotonic())
        self.ctx.progress.finished(result)
        return result

    async def _head(self, loc: S3Location) -> RemoteObject | None:
        try:
            return await head(self.ctx, loc)
        except Exception as exc:  # noqa: BLE001
            if isinstance(map_error(exc), NotFoundError):
                return None
            raise

    async def compare(self, local: Path, size: int, remote: RemoteObject) -> tuple[Verdict, str]:
        """The verdict for a local file and an object of the same size: by ETag, and where that
        cannot decide (not an MD5, SSE-KMS, unknown layout), by the store's full-object checksum.
        An ETag mismatch costs one HEAD to rule out an SSE-KMS ETag, which only looks like an MD5."""
        verdict, detail = await self._compare_etag(local, size, remote)
        if verdict is Verdict.MATCH or remote.opaque is False and verdict is Verdict.MISMATCH:
            return verdict, detail
        judged = await store_checksum_verdict(self.ctx, remote.loc, local,
                                              only_if_opaque=verdict is Verdict.MISMATCH)
        return judged or (verdict, detail)

    async def _compare_etag(self, local: Path, size: int, remote: RemoteObject) -> tuple[Verdict, str]:
        etag = remote.etag
        if etag is None:
            return decide_etag(None, {})
        if not etag.is_multipart:
            digest = await self._hash(fileio.hash_file, local, size=size)
            verdict, detail = decide_etag(etag, {None: digest.hex()})
            return verdict, layout_text(None, size, "single") if verdict is Verdict.MATCH else detail
        if remote.metadata is None:
            fetched = await self._head(remote.loc)
            if fetched is None or fetched.etag_raw != remote.etag_raw:
                raise NotFoundError(f"object changed or vanished during verify: {remote.loc}")
            remote = fetched
        layout = await remote_layout(self.ctx, remote.loc, size, etag, remote.metadata or {})
        if layout.known and layout.part_size is not None:
            computed = await self._composites(local, size, [layout.part_size])
            verdict, detail = decide_etag(etag, computed, layout_known=True)
            return verdict, layout_text(layout.part_size, size, layout.source) if verdict is Verdict.MATCH else detail
        candidates = guess.candidate_part_sizes(size, etag.parts or 0)
        computed = await self._composites(local, size, list(candidates.sizes)) if candidates.sizes else {}
        verdict, detail = decide_etag(etag, computed, layout_known=False, tried=candidates.describe())
        if verdict is Verdict.MATCH:
            matched = next(p for p, local_etag in computed.items() if local_etag == str(etag))
            return verdict, layout_text(matched, size, "guessed")
        return verdict, detail

    async def _composites(self, local: Path, size: int, part_sizes: list[int]) -> dict[int | None, str]:
        digests = await self._hash(hashing.hash_file_parts, local, size, part_sizes, size=size)
        return {p: composite_etag(d) for p, d in digests.items()}

    async def _hash(self, fn, *args, size: int):  # type: ignore[no-untyped-def]
        self.hashed += 1
        if size >= PARALLEL_HASH_MIN:
            async with self.big:
                return await to_thread.run_sync(fn, *args)
        return await to_thread.run_sync(fn, *args)


def _local_size(path: Path) -> int | None:
    try:
        info = os.stat(path)
    except FileNotFoundError:
        return None
    if stat_module.S_ISDIR(info.st_mode):
        raise LocalIOError(f"is a directory (verify it against a prefix ending in /): {path}")
    if not stat_module.S_ISREG(info.st_mode):
        raise LocalIOError(f"not a regular file: {path}")
    return info.st_size


# ---- paths and trees --------------------------------------------------------------------

async def verify_path(ctx: Context, local: Path, remote: S3Location) -> VerifySummary:
    summary = VerifySummary("verify")
    verifier = Verifier(ctx)
    is_dir = await to_thread.run_sync(local.is_dir)
    if is_dir or remote.is_prefix and not await to_thread.run_sync(local.exists):
        base = remote.as_prefix()
        await check_bucket(ctx, base.bucket)
        return await run_jobs(ctx, _tree_jobs(verifier, local, base, summary), summary)  # type: ignore[return-value]
    key = remote.child(local.name) if remote.is_prefix else remote

    async def one() -> AsyncIterator[Job]:
        yield lambda: verifier.pair(local, key)
    return await run_jobs(ctx, one(), summary)  # type: ignore[return-value]


async def _tree_jobs(verifier: Verifier, root: Path, base: S3Location, summary: VerifySummary) -> AsyncIterator[Job]:
    """Merge-join the sorted local walk with the sorted listing: bounded memory, one job
    per pair, started while both sides are still being read."""
    ctx, everything = verifier.ctx, KeyFilter()
    local = local_items(root, everything, follow_links=ctx.config.follow_symlinks,
                        on_problem=lambda entry: report_problem(ctx, summary, "verify", entry, ""))
    pairs = amerge_join(local, remote_items(ctx.store, base, everything))
    async for here, there in pairs:
        if there is not None:
            try:  # a key like p//etc/x names no file in this folder: never read /etc/x for it
                safe_relative_path(there.key, "")
            except ConfigError as exc:
                refuse_key(ctx, summary, "verify", base.child(there.key), root, exc)
                continue
        if there is None:
            assert here is not None
            yield partial(verifier.missing_remote, root / here.key, base.child(here.key), here.size)
            continue
        remote = RemoteObject(base.child(there.key), there.size, there.etag or "", None)
        yield partial(verifier.pair, root / there.key, remote.loc, remote, here is not None)
