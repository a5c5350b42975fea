"""put, get, verify and sync."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Optional

import typer

from s3ferry.cli import tuning
from s3ferry.cli.options import TransferOptions, transfer_command
from s3ferry.cli.running import run
from s3ferry.core.results import Summary

if TYPE_CHECKING:
    from s3ferry.cli.render import Reporter

# Loaded when a command runs, not for --help or a usage error (aiobotocore, rich: ~0.6 s).
api = tuning.lazy_import("s3ferry.api")


@transfer_command
def put(
    source: Annotated[str, typer.Argument(help="Local file or folder.")],
    destination: Annotated[str, typer.Argument(help="s3://bucket/key, or s3://bucket/prefix/ .")],
    opts: TransferOptions,
) -> None:
    """Upload a file, or a folder recursively."""
    run(lambda reporter: api.put(source, destination, config=opts.config, progress=reporter), opts)


@transfer_command
def get(
    source: Annotated[str, typer.Argument(help="s3://bucket/key, or s3://bucket/prefix/ .")],
    destination: Annotated[str, typer.Argument(help="Local file or folder.")],
    opts: TransferOptions,
) -> None:
    """Download an object, or a prefix recursively."""
    run(lambda reporter: api.get(source, destination, config=opts.config, progress=reporter), opts)


@transfer_command
def verify(
    source: Annotated[str, typer.Argument(help="Local file or folder.")],
    destination: Annotated[str, typer.Argument(help="s3://bucket/key, or s3://bucket/prefix/ .")],
    opts: TransferOptions,
) -> None:
    """Check that local files and objects hold the same bytes, whoever uploaded them.

    Exit 0 when every pair matches; 3 when any mismatches or is unverifiable; else 4 when a
    file or object is missing."""
    run(lambda reporter: api.verify(source, destination, config=opts.config, progress=reporter), opts)


@transfer_command
def sync(
    source: Annotated[str, typer.Argument(help="Local folder or s3://bucket/prefix/ .")],
    destination: Annotated[str, typer.Argument(help="s3://bucket/prefix/ or local folder.")],
    opts: TransferOptions,
    delete: Annotated[bool, typer.Option("--delete", help="Remove what the source does not have.")] = False,
    trash: Annotated[Optional[str], typer.Option(help="Prefix (below the destination) deleted objects move to.")] = None,
    no_trash: Annotated[bool, typer.Option("--no-trash", help="With --delete: delete objects outright.")] = False,
    max_delete: Annotated[Optional[int], typer.Option(help="Refuse to delete more than this many.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print the plan; change nothing.")] = False,
    size_only: Annotated[bool, typer.Option("--size-only", help="Same size means unchanged (cheap, unsafe).")] = False,
    mtime: Annotated[bool, typer.Option("--mtime", help="Compare size and mtime, as aws s3 sync does.")] = False,
    exclude: Annotated[Optional[list[str]], typer.Option(help="Glob to leave out (repeatable).")] = None,
    include: Annotated[Optional[list[str]], typer.Option(help="Glob to keep despite excludes (repeatable).")] = None,
    source_endpoint_url: Annotated[Optional[str], typer.Option(
        help="Endpoint of an s3:// source on another server (the copy streams through s3ferry).")] = None,
    source_profile: Annotated[Optional[str], typer.Option(help="AWS profile to read an s3:// source with.")] = None,
) -> None:
    """Make DESTINATION equal to SOURCE; by default a same-size file is compared by content."""
    rule = "size-only" if size_only else "mtime" if mtime else "content"
    trash_prefix = None if no_trash else (trash or "default")

    async def operation(reporter: Reporter) -> Summary:
        report = await api.sync(source, destination, config=opts.config, progress=reporter, rule=rule, delete=delete,
                                trash=trash_prefix, max_delete=max_delete, dry_run=dry_run,
                                excludes=exclude or (), includes=include or (),
                                source_endpoint_url=source_endpoint_url, source_profile=source_profile)
        return report.summary

    run(operation, opts)
