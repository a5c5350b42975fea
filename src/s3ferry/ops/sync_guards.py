"""What sync checks before it lists anything, so a typo never empties a destination: the
source must exist and be a readable folder, and an S3 source with no objects is refused with
--delete (unless --allow-empty-source). The share of the destination a delete may remove is
core.deletes'."""

from __future__ import annotations

import os
import stat as stat_module
from pathlib import Path

from anyio import to_thread

from s3ferry.core.errors import LocalIOError, NotFoundError
from s3ferry.core.locations import S3Location
from s3ferry.core.sync_plan import KeyFilter
from s3ferry.ops.context import Context
from s3ferry.ops.listing import remote_items


async def check_local_source(root: Path) -> None:
    await to_thread.run_sync(_check_folder, root)


def _check_folder(root: Path) -> None:
    try:
        info = os.stat(root)
    except FileNotFoundError:
        raise NotFoundError(f"sync source does not exist: {root}") from None
    except OSError as exc:
        raise LocalIOError(f"cannot read the sync source {root}: {exc.strerror or exc}") from None
    if not stat_module.S_ISDIR(info.st_mode):
        raise LocalIOError(f"sync source is not a folder: {root} (put copies a single file)")
    try:
        with os.scandir(root):
            pass
    except OSError as exc:
        raise LocalIOError(f"cannot read the sync source {root}: {exc.strerror or exc}") from None


async def check_s3_source(ctx: Context, base: S3Location, keys: KeyFilter, *, delete: bool, allow_empty: bool) -> None:
    """With --delete, a source prefix with no objects (a typo, most likely) would delete the
    whole destination: refused unless the user says the source is empty on purpose."""
    if not delete or allow_empty:
        return
    async for _ in remote_items(ctx.store, base, keys):
        return
    raise NotFoundError(f"the source {base} holds no objects: refusing to delete everything at the destination "
                        "(check the prefix, or add --allow-empty-source)")


def same_file(before: os.stat_result, after: os.stat_result) -> bool:
    """Did nothing change between two stats of one path (the hash cache's key)?"""
    return (before.st_size, before.st_mtime_ns, before.st_ino, before.st_ctime_ns) == \
        (after.st_size, after.st_mtime_ns, after.st_ino, after.st_ctime_ns)


async def stat_or_none(path: Path) -> os.stat_result | None:
    try:
        return await to_thread.run_sync(os.stat, path)
    except OSError:
        return None
