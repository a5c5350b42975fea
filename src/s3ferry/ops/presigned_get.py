"""get of a presigned GET URL: parallel ranged GETs into a temporary file, renamed into place
only once the ETag is verified, as for ``get s3://`` but with no credentials: what the store
says of the object (size, ETag, our part-size metadata) comes from the reply headers."""

from __future__ import annotations

import os
import time
from collections.abc import Mapping
from email.utils import parsedate_to_datetime
from pathlib import Path

import anyio
from anyio import to_thread

from s3ferry.core.checksums import etag_is_opaque
from s3ferry.core.config import META_PART_SIZE
from s3ferry.core.errors import IntegrityError, UnverifiableError
from s3ferry.core.etag import ETag, composite_etag, normalize, parse_etag
from s3ferry.core.layout import candidate_part_sizes, from_metadata, part_text
from s3ferry.core.md5lanes import Md5
from s3ferry.core.parts import Part, plan_parts
from s3ferry.core.presign import total_size, url_label
from s3ferry.core.results import TransferResult, Verdict
from s3ferry.local import files as fileio
from s3ferry.local import hashing
from s3ferry.ops.get import temp_path
from s3ferry.ops.jobs import failed
from s3ferry.ops.presign import URLContext


async def get_url(ctx: URLContext, url: str, dest: Path) -> TransferResult:
    started, label = time.monotonic(), url_label(url)
    target = dest / Path(label.rsplit("/", 1)[-1]).name if dest.is_dir() else dest
    try:
        headers = await ctx.http.probe(url)
        size = total_size(headers.get("Content-Range"), headers.get("Content-Length"))
        etag_raw = headers.get("ETag", "")
        reply = {"ServerSideEncryption": headers.get("x-amz-server-side-encryption"),
                 "SSECustomerAlgorithm": headers.get("x-amz-server-side-encryption-customer-algorithm")}
        etag = None if etag_is_opaque(reply) else parse_etag(etag_raw)
        ctx.progress.started(label, size)
        part_size = _part_size(headers, size, etag)
        verdict, detail = await _download(ctx, url, target, size, etag_raw, etag, part_size, headers)
        result = TransferResult("get", label, str(target), size, normalize(etag_raw), verdict, detail,
                                time.monotonic() - started)
    except Exception as exc:  # noqa: BLE001
        result = failed("get", label, str(target), exc, started)
    ctx.progress.finished(result)
    return result


def _part_size(headers: Mapping[str, str], size: int, etag: ETag | None) -> int | None:
    """The upload's part size from our metadata header, when the ETag is multipart."""
    if etag is None or not etag.is_multipart:
        return None
    metadata = {META_PART_SIZE: headers.get(f"x-amz-meta-{META_PART_SIZE}", "")}
    layout = from_metadata(size, etag, metadata)
    return layout.part_size if layout else None


async def _download(ctx: URLContext, url: str, dest: Path, size: int, etag_raw: str, etag: ETag | None,
                    part_size: int | None, headers: Mapping[str, str]) -> tuple[Verdict, str]:
    range_size = part_size or ctx.config.part_size
    tmp = temp_path(dest)
    fd = await to_thread.run_sync(fileio.create_temp, tmp, size)
    try:
        try:
            digests = await _fetch_all(ctx, url, fd, size, range_size, etag_raw if etag else None)
        finally:
            os.close(fd)
        verdict, detail = await _judge(ctx, etag, part_size, digests, tmp, size, range_size)
        await to_thread.run_sync(_install, tmp, dest, headers.get("Last-Modified"))
    except BaseException:
        with anyio.CancelScope(shield=True):
            await to_thread.run_sync(fileio.remove_quietly, tmp)
        raise
    return verdict, detail


async def _fetch_all(ctx: URLContext, url: str, fd: int, size: int, range_size: int,
                     if_match: str | None) -> list[bytes]:
    parts = list(plan_parts(size, range_size))
    digests = [b""] * len(parts)

    async def fetch(part: Part) -> None:
        async def attempt() -> bytes:
            md5 = Md5()

            async def sink(offset: int, chunks: list[bytes]) -> None:
                await to_thread.run_sync(fileio.write_and_hash, fd, offset, chunks, md5)
                ctx.progress.advanced(sum(len(c) for c in chunks))

            if part.size:
                await ctx.http.read_range(url, part, sink, if_match=if_match)
            return md5.digest()

        async with ctx.slots:
            digests[part.number - 1] = await ctx.http.retry(attempt)

    async with anyio.create_task_group() as tg:
        for part in parts:
            tg.start_soon(fetch, part)
    return digests


async def _judge(ctx: URLContext, etag: ETag | None, part_size: int | None, digests: list[bytes], tmp: Path,
                 size: int, range_size: int) -> tuple[Verdict, str]:
    if not ctx.config.verify:
        return Verdict.SKIPPED, "verification off"
    if etag is None:
        return _unverifiable(ctx, "ETag is not an MD5 (SSE-KMS/SSE-C or non-AWS store)")
    if not etag.is_multipart:
        local = digests[0].hex() if len(digests) == 1 else (await to_thread.run_sync(fileio.hash_file, tmp)).hex()
        how = "single PUT"
    elif len(digests) == etag.parts and composite_etag(digests) == str(etag):
        return Verdict.MATCH, f"parts of {part_text(range_size)}"
    elif part_size is not None:
        local, how = composite_etag(digests), "metadata"
    else:
        found = await _guess(tmp, size, etag)
        if found is None:
            return _unverifiable(ctx, f"unknown part layout for {etag}: no candidate part size matched")
        return Verdict.MATCH, f"guessed: {part_text(found)}"
    if local != str(etag):
        raise IntegrityError(f"downloaded bytes have ETag {local}, object has {etag}")
    return Verdict.MATCH, how


async def _guess(tmp: Path, size: int, etag: ETag) -> int | None:
    sizes = candidate_part_sizes(size, etag.parts or 0).sizes
    if not sizes:
        return None

    def find() -> int | None:
        fd = os.open(tmp, os.O_RDONLY)
        try:
            return hashing.find_part_size(hashing.file_reader(fd), size, str(etag), sizes)
        finally:
            os.close(fd)

    return await to_thread.run_sync(find)


def _unverifiable(ctx: URLContext, why: str) -> tuple[Verdict, str]:
    if ctx.config.require_verify:
        raise UnverifiableError(why)
    return Verdict.UNVERIFIABLE, why


def _install(tmp: Path, dest: Path, last_modified: str | None) -> None:
    if last_modified:
        stamp = parsedate_to_datetime(last_modified).timestamp()
        os.utime(tmp, (stamp, stamp))
    os.replace(tmp, dest)
