"""The typer command line. Parses, renders, maps errors to exit codes; no transfer logic."""

from __future__ import annotations

import functools
import os
import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Annotated, Optional

import anyio
import typer
from typer.core import TyperGroup

from s3ferry.cli import tuning as _tuning
from s3ferry.cli.options import (  # noqa: F401 - re-exported for command modules
    Addressing, Checksum, Command, Endpoint, Json, Profile, Quiet, Region, TransferOptions, guard, refuse_unused,
    transfer_command, usage_error,
)
from s3ferry.tools import bench_plan
from s3ferry.core.config import Config
from s3ferry.core.errors import EXIT_FAILED, EXIT_INTERRUPTED, S3FerryError
from s3ferry.core.results import Summary

if TYPE_CHECKING:
    from s3ferry.cli.render import Reporter

# Loaded when a command runs, not for --help or a usage error (aiobotocore, rich: ~0.6 s).
api = _tuning.lazy_import("s3ferry.api")


class Group(TyperGroup):
    def get_help_option(self, ctx):  # type: ignore[no-untyped-def]
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""  # a flag: no "<bool>" in the help
        return option


app = typer.Typer(
    name="s3ferry",
    help="Move files to, from and between S3-compatible stores, fast, and prove every byte arrived.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    cls=Group,
)
command = functools.partial(app.command, cls=Command)
Source = Annotated[str, typer.Argument(metavar="SOURCE", show_default=False)]
Destination = Annotated[str, typer.Argument(metavar="DESTINATION", show_default=False)]


def run(operation: Callable[[Reporter], Awaitable[Summary]], opts: TransferOptions) -> None:
    """Run one operation on the event loop and exit with its documented code."""
    from s3ferry.cli.render import Reporter

    reporter = Reporter(json_lines=opts.json_lines, quiet=opts.quiet, verbose=opts.verbose)
    try:
        with reporter:
            summary = anyio.run(operation, reporter, backend="asyncio",
                                backend_options={"use_uvloop": sys.platform != "win32"})
    except KeyboardInterrupt:
        print("interrupted: partial transfers kept (see above); re-run the same command to resume"
              if opts.config.keep_partial else "interrupted: in-flight uploads aborted, temporary files removed",
              file=sys.stderr)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except S3FerryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    reporter.summary(summary)
    raise typer.Exit(summary.exit_code)


@command()
@transfer_command
def put(source: Source, destination: Destination, opts: TransferOptions) -> None:
    """Upload a file, or a folder recursively (SOURCE: a local path; DESTINATION: s3://bucket/key,
    or s3://bucket/prefix/ to keep the file's name).

    Examples:

      s3ferry put big.iso s3://bucket/isos/   # -> .../isos/big.iso

      s3ferry put ./dataset s3://bucket/data/ -v   # a line per file
    """
    run(lambda reporter: api.put(source, destination, config=opts.config, progress=reporter), opts)


@command()
@transfer_command
def get(source: Source, destination: Destination, opts: TransferOptions) -> None:
    """Download an object, or a prefix recursively (SOURCE: s3://bucket/key or s3://bucket/prefix/;
    DESTINATION: a local path; ending in / it is a folder the object goes into).

    Examples:

      s3ferry get s3://bucket/isos/big.iso ./downloads/

      s3ferry get s3://bucket/data/ ./dataset-copy   # recursively
    """
    run(lambda reporter: api.get(source, destination, config=opts.config, progress=reporter), opts)


@command()
@transfer_command
def verify(source: Source, destination: Destination, opts: TransferOptions) -> None:
    """Check that local files and objects hold the same bytes, whoever uploaded them: one line per
    pair (match, mismatch, missing-local, missing-remote, unverifiable), then the counts.

    Exit 0 when every pair matches; 3 when any mismatches or is unverifiable; else 4 when a
    file or object is missing.

    Examples:

      s3ferry verify big.iso s3://bucket/isos/big.iso

      s3ferry verify ./dataset s3://bucket/data/ --quiet  # only the pairs that fail
    """
    refuse_unused(opts, "verify", {"checksum": "--checksum", "keep_partial": "--keep-partial",
                                   "no_verify": "--no-verify"})
    run(lambda reporter: api.verify(source, destination, config=opts.config, progress=reporter), opts)


@command()
@transfer_command
def sync(
    source: Source, destination: Destination,
    opts: TransferOptions,
    delete: Annotated[bool, typer.Option("--delete", help="Remove what the source does not have.")] = False,
    trash: Annotated[Optional[str], typer.Option(metavar="PREFIX", help="Folder (below the destination) deleted "
                                                 "objects move to; default .s3ferry-trash/TIME/.")] = None,
    no_trash: Annotated[bool, typer.Option("--no-trash", help="With --delete: delete objects outright.")] = False,
    max_delete: Annotated[Optional[int], typer.Option(help="Refuse to delete more than this many.")] = None,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be done; change nothing.")] = False,
    size_only: Annotated[bool, typer.Option("--size-only", help="Same size means unchanged (cheap, unsafe).")] = False,
    mtime: Annotated[bool, typer.Option("--mtime", help="Compare size and mtime, as aws s3 sync does.")] = False,
    exclude: Annotated[Optional[list[str]], typer.Option(metavar="GLOB", help="Leave out (repeatable).")] = None,
    include: Annotated[Optional[list[str]], typer.Option(metavar="GLOB", help="Keep despite excludes "
                                                         "(repeatable).")] = None,
    source_endpoint_url: Annotated[Optional[str], typer.Option(
        help="Endpoint of an s3:// source on another server (the copy streams through s3ferry).")] = None,
    source_profile: Annotated[Optional[str], typer.Option(help="AWS profile to read an s3:// source with.")] = None,
) -> None:
    """Make DESTINATION equal to SOURCE (a local folder and s3://bucket/prefix/, either way, or two
    prefixes); by default a same-size file is compared by content.

    Examples:

      s3ferry sync ./site s3://bucket/site/ --delete --dry-run   # the plan

      s3ferry sync ./site s3://bucket/site/ --delete   # extras to trash
    """
    _check_sync_options(delete=delete, trash=trash, no_trash=no_trash, max_delete=max_delete,
                        size_only=size_only, mtime=mtime)
    rule = "size-only" if size_only else "mtime" if mtime else "content"
    trash_prefix = None if no_trash else (trash or "default")

    async def operation(reporter: Reporter) -> Summary:
        report = await api.sync(source, destination, config=opts.config, progress=reporter, rule=rule, delete=delete,
                                trash=trash_prefix, max_delete=max_delete, dry_run=dry_run,
                                excludes=exclude or (), includes=include or (),
                                source_endpoint_url=source_endpoint_url, source_profile=source_profile)
        return report.summary

    run(operation, opts)


def _check_sync_options(*, delete: bool, trash: str | None, no_trash: bool, max_delete: int | None,
                        size_only: bool, mtime: bool) -> None:
    """Options that would do nothing are refused, not ignored: the user meant something."""
    if trash is not None and no_trash:
        usage_error("--trash and --no-trash contradict each other: choose one")
    for given, flag in ((trash is not None, "--trash"), (no_trash, "--no-trash"), (max_delete is not None,
                                                                                    "--max-delete")):
        if given and not delete:
            usage_error(f"{flag} does nothing without --delete")
    if size_only and mtime:
        usage_error("--size-only and --mtime are two different rules: choose one")
    if trash is not None and not trash.strip("/"):
        usage_error(f"--trash needs a folder name, got {trash!r}")


from s3ferry.cli.uploads import uploads_app  # noqa: E402 - registered after the transfer commands

app.add_typer(uploads_app, name="uploads", cls=Group)


@command()
def bench(
    where: Annotated[Optional[str], typer.Argument(
        help="s3://BUCKET or s3://BUCKET/PREFIX to write under; needed with --endpoint-url.")] = None,
    endpoint_url: Endpoint = None, profile: Profile = None, region: Region = None,
    addressing_style: Addressing = "auto", checksum: Checksum = "off",
    size: Annotated[Optional[str], typer.Option(help="Generated file size (default 256MiB; 64MiB embedded).")] = None,
    part_sizes: Annotated[str, typer.Option(help="Part sizes to try, comma-separated.")] = bench_plan.DEFAULT_PART_SIZES,
    concurrency_levels: Annotated[str, typer.Option(help="Concurrency levels to try.")] = bench_plan.DEFAULT_LEVELS,
    rounds: Annotated[int, typer.Option(help="Rounds; figures are medians over them.")] = 1,
    files: Annotated[int, typer.Option(help="Also put/get this many small files (0: off).")] = 0,
    file_size: Annotated[str, typer.Option(help="Size of each small file.")] = bench_plan.DEFAULT_FILE_SIZE,
    embedded: Annotated[bool, typer.Option("--embedded", help="Use the embedded local server (moto).")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the results as one JSON object.")] = False,
    quiet: Quiet = False,
) -> None:
    """Measure put/get throughput over part sizes x concurrency, verified; removes all it wrote."""
    from s3ferry.tools import bench as bench_
    options = guard(lambda: bench_plan.parse_options(size, part_sizes, concurrency_levels, rounds, files, file_size))
    config = guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region,
                                   addressing_style=addressing_style, checksum=checksum))  # type: ignore[arg-type]
    say = None if quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    try:
        report = anyio.run(functools.partial(bench_.run_bench, where, config, options, embedded=embedded, say=say),
                           backend="asyncio", backend_options={"use_uvloop": sys.platform != "win32"})
    except KeyboardInterrupt:
        print("interrupted: benchmark objects, uploads and temporary files removed", file=sys.stderr)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except S3FerryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    bench_.print_report(report, as_json=json)


@command()
def demo(
    large_mib: Annotated[int, typer.Option(help="Size of the large file, MiB.")] = 128,
    small_files: Annotated[int, typer.Option(help="Number of small files.")] = 500,
    small_kib: Annotated[int, typer.Option(help="Size of each small file, KiB.")] = 64,
) -> None:
    """Round-trip a large file and a folder of small files through an embedded local S3 server."""
    from s3ferry.tools.demo import run_demo  # needs the `server` extra (moto)

    try:
        code = run_demo(large_mib, small_files, small_kib)
    except S3FerryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    raise typer.Exit(code)


def main() -> None:
    _tuning.bound_allocator()
    _tuning.calm_gc()
    if sys.platform != "win32":
        _tuning.coalesce_without_copy()
    try:
        app(prog_name="s3ferry")
    except Exception as exc:  # noqa: BLE001 - a bug still gets one line, not a traceback
        if os.environ.get("S3FERRY_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set S3FERRY_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
