"""``s3ferry reset``: remove team sync's state on both sides, so that the next team sync
starts over as a first sync (the union of both sides, no deletions). Data files are never
touched; neither are the local trash and the remote deleted area, which hold people's files."""

from __future__ import annotations

import shutil
from pathlib import Path

from anyio import to_thread

from s3ferry.core.config import TEAM_WAIT
from s3ferry.core.locations import S3Location
from s3ferry.core.twoway import STATE_DIR
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import check_bucket
from s3ferry.ops.teamsync_lease import Lease, holding

LOCAL_STATE = ("baseline.sqlite", "baseline.sqlite-wal", "baseline.sqlite-shm", "logs")
KEPT_REMOTE = STATE_DIR + "deleted/"


async def reset(ctx: Context, root: Path, where: S3Location, user: str, wait: float = TEAM_WAIT) -> list[str]:
    """Remove the state; returns what was removed. Holds the lease meanwhile, so that no team
    sync is half-way through merging into the record it deletes."""
    where = where if where.is_prefix else S3Location(where.bucket, where.key + "/")
    await check_bucket(ctx, where.bucket)

    async def remove(lease: Lease) -> list[str]:
        removed = []
        async for item in ctx.store.list_objects(where.child(STATE_DIR)):
            key = item["Key"]
            relative = key[len(where.key):]
            if relative.startswith(KEPT_REMOTE) or relative == lease.key.key[len(where.key):]:
                continue
            lease.check()
            await ctx.store.delete(S3Location(where.bucket, key))
            removed.append(f"s3://{where.bucket}/{key}")
        removed += await to_thread.run_sync(_remove_local, root / STATE_DIR)
        return removed

    return await holding(ctx, where, user, str(root.resolve()), wait, remove)


def _remove_local(state: Path) -> list[str]:
    removed = []
    for name in LOCAL_STATE:
        path = state / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
        else:
            continue
        removed.append(str(path))
    return removed
