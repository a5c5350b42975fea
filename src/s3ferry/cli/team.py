"""``s3ferry team-sync`` and ``s3ferry reset``: two-way sync of a folder with a prefix a team
shares. A command of its own rather than ``sync --two-way``: its options mean other things
(--max-delete is a share of the tree, deletions ask first, a user name is recorded) and most
of sync's (--delete, --trash, --size-only, --mtime, a second endpoint) would mean nothing."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from s3ferry.cli import tuning
from s3ferry.cli.options import Endpoint, Profile, Region, TransferOptions, transfer_command
from s3ferry.cli.running import guard, run, run_simple
from s3ferry.core.config import TEAM_MAX_DELETE, TEAM_WAIT, Config
from s3ferry.core.errors import EXIT_USAGE
from s3ferry.core.results import Summary

if TYPE_CHECKING:
    from s3ferry.cli.render import Reporter

# Loaded when a command runs, not for --help or a usage error.
api = tuning.lazy_import("s3ferry.api")

User = Annotated[Optional[str], typer.Option("--user", envvar="S3FERRY_USER",
                                             help="Name recorded with your changes (default: the OS user).")]
Yes = Annotated[bool, typer.Option("--yes", "-y", help="Do not ask before deleting (for scripts).")]
Wait = Annotated[float, typer.Option("--wait", help="Seconds to wait while a teammate's sync runs.")]


def _ask_on_terminal() -> object:
    """The confirmation, when there is a person to ask; None makes deletions need --yes."""
    if not sys.stdin.isatty():
        return None

    def confirm(here: int, there: int) -> bool:
        return typer.confirm(f"Delete {here} local file(s) (into the local trash) and {there} object(s) "
                             "(into the deleted area under the prefix)?", err=True)

    return confirm


@transfer_command
def team_sync(
    local: Annotated[str, typer.Argument(help="Local folder.")],
    remote: Annotated[str, typer.Argument(help="s3://bucket/prefix/ the team shares.")],
    opts: TransferOptions,
    user: User = None,
    yes: Yes = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    max_delete: Annotated[float, typer.Option(
        help="Refuse when deletions exceed this percent of a side's files.")] = TEAM_MAX_DELETE,
    wait: Wait = TEAM_WAIT,
    exclude: Annotated[Optional[list[str]], typer.Option(help="Glob to leave out (repeatable).")] = None,
    include: Annotated[Optional[list[str]], typer.Option(help="Glob to keep despite excludes (repeatable).")] = None,
) -> None:
    """Two-way sync with a prefix a team shares: send your creations, edits and deletions, get
    everyone else's. A file changed on both sides is kept twice (name.conflict-USER-DATE.ext);
    deletions go to a trash (local) or a deleted area (remote) and ask first. Safe to run while
    teammates run it (they take turns)."""
    confirm = _ask_on_terminal()

    async def operation(reporter: Reporter) -> Summary:
        return await api.team_sync(local, remote, user=user, config=opts.config, progress=reporter, dry_run=dry_run,
                                   yes=yes, confirm=confirm, max_delete=max_delete, wait=wait,
                                   excludes=exclude or (), includes=include or ())

    run(operation, opts)


def reset(
    local: Annotated[str, typer.Argument(help="Local folder.")],
    remote: Annotated[str, typer.Argument(help="s3://bucket/prefix/ the team shares.")],
    yes: Yes = False, user: User = None, wait: Wait = TEAM_WAIT,
    endpoint_url: Endpoint = None, profile: Profile = None, region: Region = None,
) -> None:
    """Remove team-sync's state in LOCAL and under the prefix, after confirmation. Files, the
    local trash and the remote deleted area stay; the next team-sync starts as a first one."""
    config = guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region))
    question = (f"Remove the team-sync state of {local} and {remote} for everyone? Files, the local trash and the "
                "deleted area stay; every member's next team-sync starts over as a first sync.")
    if not yes:
        if not sys.stdin.isatty():
            print("error: reset needs confirmation: run it on a terminal, or pass --yes", file=sys.stderr)
            raise typer.Exit(EXIT_USAGE)
        if not typer.confirm(question, err=True):
            print("reset cancelled: nothing removed", file=sys.stderr)
            raise typer.Exit(1)
    removed = run_simple(lambda: api.team_reset(local, remote, user=user, config=config, wait=wait))
    for line in removed:
        print(f"removed {line}")
    print(f"reset: {len(removed)} state item(s) removed")
