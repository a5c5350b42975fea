"""put, get, verify and sync."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from s3ferry.cli import sharding, tuning
from s3ferry.cli.object_flags import object_options
from s3ferry.cli.options import ClusterOption, TransferOptions, Workers, refuse_unused, transfer_command
from s3ferry.cli.running import fail, guard, run, usage_error
from s3ferry.core.config import parse_size
from s3ferry.core.deletes import DEFAULT_MAX_DELETE
from s3ferry.core.errors import ConfigError
from s3ferry.core.object_options import ObjectOptions
from s3ferry.core.results import Summary

if TYPE_CHECKING:
    from s3ferry.cli.render import Reporter

# Loaded when a command runs, not for --help or a usage error (aiobotocore, rich: ~0.6 s).
api = tuning.lazy_import("s3ferry.api")


def _arg(metavar: str, help: str) -> typer.models.ArgumentInfo:
    return typer.Argument(metavar=metavar, show_default=False, help=help)


LOCAL, REMOTE = "Local file or folder.", "s3://bucket/key, or s3://bucket/prefix/ ."


PUT_EXAMPLES = ("Examples:\n\n  s3ferry put big.iso s3://bucket/isos/\n\n  tar c dir | s3ferry put - s3://bucket/dir.tar"
                "\n\n  s3ferry put ./dataset s3://bucket/data/ -v   # a line per file")
GET_EXAMPLES = ("Examples:\n\n  s3ferry get s3://bucket/isos/big.iso ./downloads/   # -> ./downloads/big.iso\n\n"
                "  s3ferry get s3://bucket/dir.tar - | tar x\n\n  s3ferry get \"$PRESIGNED_URL\" ./report.pdf")


@transfer_command
@object_options
def put(
    source: Annotated[str, _arg("SOURCE", "Local file or folder; - for stdin.")],
    destination: Annotated[Optional[str], _arg("DESTINATION", REMOTE)] = None,
    *,
    opts: TransferOptions,
    object_options: ObjectOptions,
    skip_unchanged: Annotated[bool, typer.Option("--skip-unchanged", help="Skip a file whose object already has "
                                                 "the same content (judged as verify does).")] = False,
    presigned: Annotated[Optional[str], typer.Option(help="Upload through a presigned PUT URL or a multipart "
                                                     "manifest (file or JSON), with no credentials.")] = None,
    expected_size: Annotated[Optional[str], typer.Option(help="With -: about how much stdin holds (raises the "
                                                         "part size so it fits in 10,000 parts).")] = None,
    workers: Workers = None,
    cluster: ClusterOption = None,
) -> None:
    """Upload a file, a folder recursively, or stdin (-) of any length."""
    config = opts.config.replace(object_options=object_options)
    if presigned is not None:
        sharding.not_a_tree(workers, cluster, "takes a folder, not --presigned")
        run(lambda reporter: api.put_presigned(source, presigned, config=config, progress=reporter), opts)
    if destination is None:
        raise fail(ConfigError("put needs a destination (s3://bucket/key), or --presigned"))
    if source == "-":
        sharding.not_a_tree(workers, cluster, "takes a folder, not stdin")
        expected = guard(lambda: parse_size(expected_size)) if expected_size else None
        run(lambda reporter: api.put_stdin(destination, source=sys.stdin.buffer, expected_size=expected,
                                           config=config, progress=reporter), opts)

    def one_process() -> None:
        run(lambda reporter: api.put(source, destination, config=config, progress=reporter,
                                     skip_unchanged=skip_unchanged), opts)

    if not Path(source).is_dir():
        sharding.not_a_tree(workers, cluster, f"takes a folder; {source} is not one (one file runs in one process)")
        one_process()
    if skip_unchanged and (workers is not None or cluster is not None):
        usage_error("--skip-unchanged with --workers/--cluster: use sync, which shards the same way")
    sharding.route("put", source, destination, opts, workers_text=workers, cluster=cluster, one_process=one_process,
                   config=config)


@transfer_command
def get(
    source: Annotated[str, _arg("SOURCE", "s3://bucket/key, s3://bucket/prefix/, or a presigned URL.")],
    destination: Annotated[str, _arg("DESTINATION", "Local file or folder (ending in / it is one); - for stdout.")],
    opts: TransferOptions,
    workers: Workers = None,
    cluster: ClusterOption = None,
) -> None:
    """Download an object, a prefix recursively, or a presigned https:// URL; - writes to stdout."""
    if source.lower().startswith(("http://", "https://")):
        sharding.not_a_tree(workers, cluster, "takes an s3:// prefix, not a URL")
        run(lambda reporter: api.get_presigned(source, destination, config=opts.config, progress=reporter), opts)
    if destination == "-":
        sharding.not_a_tree(workers, cluster, "writes files, not stdout")
        cat_to_stdout(source, opts)

    def one_process() -> None:
        run(lambda reporter: api.get(source, destination, config=opts.config, progress=reporter), opts)

    sharding.route("get", source, destination, opts, workers_text=workers, cluster=cluster, one_process=one_process,
                   config=opts.config)


@transfer_command
def verify(source: Annotated[str, _arg("SOURCE", LOCAL)], destination: Annotated[str, _arg("DESTINATION", REMOTE)],
           opts: TransferOptions) -> None:
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


@transfer_command
@object_options
def sync(
    source: Annotated[str, _arg("SOURCE", "Local folder or s3://bucket/prefix/ .")],
    destination: Annotated[str, _arg("DESTINATION", "s3://bucket/prefix/ or local folder.")],
    opts: TransferOptions,
    object_options: ObjectOptions,
    delete: Annotated[bool, typer.Option("--delete", help="Remove what the source does not have.")] = False,
    trash: Annotated[Optional[str], typer.Option(metavar="PREFIX", help="Folder (below the destination) deleted "
                                                 "objects move to; default .s3ferry-trash/TIME/.")] = None,
    no_trash: Annotated[bool, typer.Option("--no-trash", help="With --delete: delete objects outright.")] = False,
    max_delete: Annotated[Optional[str], typer.Option(help="Refuse to delete more than this many (100) or this "
                                                      f"share of the destination (default {DEFAULT_MAX_DELETE}).")] = None,
    force: Annotated[bool, typer.Option("--force", help="Delete past --max-delete.")] = False,
    allow_empty_source: Annotated[bool, typer.Option(
        "--allow-empty-source", help="With --delete: an s3:// source with no objects may empty the destination.")] = False,
    dry_run: Annotated[bool, typer.Option("--dry-run", help="Print what would be done; change nothing.")] = False,
    size_only: Annotated[bool, typer.Option("--size-only", help="Same size means unchanged (cheap, unsafe).")] = False,
    mtime: Annotated[bool, typer.Option("--mtime", help="Compare size and mtime, as aws s3 sync does.")] = False,
    exclude: Annotated[Optional[list[str]], typer.Option(metavar="GLOB", help="Leave out (repeatable).")] = None,
    include: Annotated[Optional[list[str]], typer.Option(metavar="GLOB", help="Keep despite excludes "
                                                         "(repeatable).")] = None,
    source_endpoint_url: Annotated[Optional[str], typer.Option(
        help="Endpoint of an s3:// source on another server (the copy streams through s3ferry).")] = None,
    source_profile: Annotated[Optional[str], typer.Option(help="AWS profile to read an s3:// source with.")] = None,
    cluster: Annotated[Optional[str], typer.Option(
        help="Shard the sync over Dask: local:N worker processes, or tcp://scheduler:8786 (s3ferry[dask]).")] = None,
    report: Annotated[Optional[Path], typer.Option(
        help="With --cluster: where the JSON migration report goes (default ./s3ferry-migration-TIME.json).")] = None,
    manifest: Annotated[Optional[Path], typer.Option(
        help="With --cluster: a CSV (S3 Batch Operations or Inventory) of the keys to sync, instead of listing.")] = None,
    manifest_schema: Annotated[str, typer.Option(
        help="The manifest's columns (an S3 Inventory's fileSchema).")] = "Bucket, Key",
    workers: Workers = None,
) -> None:
    """Make DESTINATION equal to SOURCE (a local folder and s3://bucket/prefix/, either way, or two
    prefixes); by default a same-size file is compared by content.

    Examples:

      s3ferry sync ./site s3://bucket/site/ --delete --dry-run   # the plan

      s3ferry sync ./site s3://bucket/site/ --delete   # extras to trash
    """
    _check_sync_options(delete=delete, trash=trash, no_trash=no_trash, max_delete=max_delete,
                        size_only=size_only, mtime=mtime, force=force, allow_empty_source=allow_empty_source)
    rule = "size-only" if size_only else "mtime" if mtime else "content"
    trash_prefix = None if no_trash else (trash or "default")
    sharded = sharding.workers_given(workers, cluster)
    if cluster is not None or sharded is not None:
        if max_delete is not None:
            usage_error("--max-delete cannot be split over shards: leave it out with --cluster/--workers")
        if delete and not force:
            usage_error("--delete with --cluster/--workers has no --max-delete guard (it cannot be split over "
                        "shards): add --force to delete without it")
    if cluster is None and (report is not None or manifest is not None):
        usage_error("--report and --manifest go with --cluster")

    async def operation(reporter: Reporter) -> Summary:
        config = opts.config.replace(object_options=object_options)
        done = await api.sync(source, destination, config=config, progress=reporter, rule=rule, delete=delete,
                                trash=trash_prefix, max_delete=DEFAULT_MAX_DELETE if max_delete is None else max_delete,
                                dry_run=dry_run, force=force,
                                allow_empty_source=allow_empty_source,
                                excludes=exclude or (), includes=include or (),
                                source_endpoint_url=source_endpoint_url, source_profile=source_profile)
        return done.summary

    sharding.route("sync", source, destination, opts, workers_text=workers, cluster=cluster,
                   one_process=lambda: run(operation, opts), report_path=report,
                   config=opts.config.replace(object_options=object_options), rule=rule, delete=delete,
                   trash=trash_prefix, dry_run=dry_run, excludes=exclude or (), includes=include or (),
                   source_endpoint_url=source_endpoint_url, source_profile=source_profile,
                   allow_empty_source=allow_empty_source,
                   **({"manifest": manifest, "manifest_schema": manifest_schema} if cluster else {}))


def _check_sync_options(*, delete: bool, trash: str | None, no_trash: bool, max_delete: str | None,
                        size_only: bool, mtime: bool, force: bool = False, allow_empty_source: bool = False) -> None:
    """Options that would do nothing are refused, not ignored: the user meant something."""
    if trash is not None and no_trash:
        usage_error("--trash and --no-trash contradict each other: choose one")
    for given, flag in ((trash is not None, "--trash"), (no_trash, "--no-trash"), (max_delete is not None,
                                                                                    "--max-delete"),
                        (force, "--force"), (allow_empty_source, "--allow-empty-source")):
        if given and not delete:
            usage_error(f"{flag} does nothing without --delete")
    if size_only and mtime:
        usage_error("--size-only and --mtime are two different rules: choose one")
    if trash is not None and not trash.strip("/"):
        usage_error(f"--trash needs a folder name, got {trash!r}")


def cat_to_stdout(source: str, opts: TransferOptions) -> None:
    """Stdout is the data: results never go there, only errors to stderr."""
    quiet = TransferOptions(opts.config, False, True)
    run(lambda reporter: api.cat(source, out=sys.stdout.buffer, config=opts.config, progress=reporter), quiet)
