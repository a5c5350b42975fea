"""The local side of a small get (ops/get.py's ``_download_small``): one GET's body held in
memory, then one worker-thread hop that writes, hashes, verifies and installs the file. A hop
costs ~0.1 ms of CPU, as much as the request itself, so a small file pays for one."""

from __future__ import annotations

import os
from datetime import datetime
from pathlib import Path

from s3ferry.core.config import DOWNLOAD_CHUNK
from s3ferry.core.md5lanes import Md5
from s3ferry.core.parts import Part
from s3ferry.local import files as fileio
from s3ferry.local.hashcache import HashCache
from s3ferry.local.lanes import LaneJob
from s3ferry.ops.context import Context
from s3ferry.ops.remote import RemoteObject


def one_request(ctx: Context, obj: RemoteObject) -> bool:
    """Fetched whole by one GET and judged by its MD5 alone: a single-PUT object no larger
    than one range, and no larger than the batch a streaming GET hands to a worker thread
    anyway (DOWNLOAD_CHUNK), so holding its body costs no more memory per slot than streaming
    does. Anything else takes the general path."""
    etag = obj.etag
    return etag is not None and not etag.is_multipart and obj.size <= min(ctx.config.part_size, DOWNLOAD_CHUNK)


async def fetch_whole(ctx: Context, obj: RemoteObject) -> list[bytes]:
    """One GET of the whole object, its body as the pieces aiohttp buffered (no joining copy)."""
    chunks: list[bytes] = []

    async def keep(offset: int, pieces: list[bytes]) -> None:
        chunks.extend(pieces)
        ctx.progress.advanced(sum(len(c) for c in pieces))

    await ctx.store.read_range(obj.loc, Part(1, 0, obj.size), keep, if_match=obj.etag_raw, whole=True)
    return chunks


def write_small(md5: Md5, tmp: Path, dest: Path, chunks: list[bytes], expected: bytes | None,
                last_modified: datetime | None, inside: tuple[Path, str] | None,
                cache: HashCache | None) -> LaneJob[tuple[bytes, bool]]:
    """The local side of get.py's ``_download_small``, a lane job (local/lanes.py) on a worker
    thread, side by side with other files': (MD5, installed). Not installed (the MD5 is not
    ``expected``): the temporary file stays for the caller, which removes it. On any error, no
    temporary file is left. A verified file goes into ``cache``."""
    if inside is not None:
        fileio.check_inside(*inside)
    # No space reserved (size 0): the bytes are here already, and a full disk fails the
    # write just as it would the reservation (one fallocate less per file).
    fd = fileio.create_temp(tmp, 0)
    try:
        try:
            yield from fileio.write_job(fd, 0, chunks)
        finally:
            os.close(fd)
        digest = md5.digest()
        if expected is not None and digest != expected:
            return digest, False
        install(tmp, dest, last_modified)
    except BaseException:
        fileio.remove_quietly(tmp)
        raise
    if cache is not None and expected is not None:
        cache.remember_written(dest, expected.hex())
    return digest, True


def install(tmp: Path, dest: Path, last_modified: datetime | None) -> None:
    if last_modified is not None:  # as aws-cli does: the local mtime is the object's
        stamp = last_modified.timestamp()
        os.utime(tmp, (stamp, stamp))
    os.replace(tmp, dest)
