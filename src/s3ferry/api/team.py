"""Two-way team sync of a folder with an S3 prefix, and its reset."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from s3ferry.api.session import (
    default_user,
    open_context,
)
from s3ferry.core.config import TEAM_MAX_DELETE, TEAM_WAIT, Config
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import S3Location, is_s3_url, parse_s3_url
from s3ferry.core.results import Progress, Summary
from s3ferry.local.hashcache import HashCache
from s3ferry.ops.teamsync import TeamOptions, team_filter
from s3ferry.ops.teamsync import team_sync as team_sync_tree
from s3ferry.ops.teamsync_reset import reset as reset_team_state


async def team_sync(local: str | Path, remote: str, *, user: str | None = None, config: Config | None = None,
                    progress: Progress | None = None, dry_run: bool = False, yes: bool = False,
                    confirm: Callable[[int, int], bool] | None = None, max_delete: float = TEAM_MAX_DELETE,
                    wait: float = TEAM_WAIT, excludes: Sequence[str] = (), includes: Sequence[str] = (),
                    cache_path: Path | None = None) -> Summary:
    """Two-way sync of a local folder with an s3:// prefix shared by a team: each side's
    creations, edits and deletions since this member's last sync go to the other side; a file
    both sides changed differently is kept twice (``name.conflict-USER-DATE.ext``). Several
    members may run it at once (they take turns through a lease under the prefix).

    ``user`` (default: $S3FERRY_USER, else the OS user) is recorded with every change.
    Deletions run only with ``yes`` or when ``confirm(local_count, remote_count)`` says so;
    ``max_delete`` refuses deletions above that percent of a side's files. ``wait``: seconds
    to wait for another member's run. ``summary.counters`` tells what went each way."""
    root, where = _team_sides(local, remote)
    options = TeamOptions(user=user or default_user(), keys=team_filter(root, list(excludes), list(includes)),
                          dry_run=dry_run, max_delete=max_delete, yes=yes, confirm=confirm, wait=wait)
    async with open_context(config, progress) as ctx:
        with HashCache(cache_path) as cache:
            options.cache = cache
            return await team_sync_tree(ctx, root, where, options)


async def team_reset(local: str | Path, remote: str, *, user: str | None = None, config: Config | None = None,
                     wait: float = TEAM_WAIT) -> list[str]:
    """Remove team sync's state in the folder and under the prefix (not the data, the local
    trash or the remote deleted area); returns what was removed. Ask the person first."""
    root, where = _team_sides(local, remote)
    async with open_context(config, None) as ctx:
        return await reset_team_state(ctx, root, where, user or default_user(), wait)


def _team_sides(local: str | Path, remote: str) -> tuple[Path, S3Location]:
    if is_s3_url(str(local)) or not is_s3_url(str(remote)):
        raise ConfigError(f"team sync takes a local folder, then an s3:// prefix; got {local} {remote}")
    root = Path(local)
    if root.exists() and not root.is_dir():
        raise ConfigError(f"not a folder: {root}")
    return root, parse_s3_url(remote)
