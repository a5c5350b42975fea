"""Commands for objects beyond put/get/sync: ls, du, stat, rm, cat, cp, mv, presign, and the
object options (headers, metadata, tags, storage class, encryption, ACL) that put, cp, mv
and sync take. Parses and prints; the work is in api (ops/objects.py, remove.py, move.py,
stream.py, presign.py)."""

from __future__ import annotations

import json as jsonlib
import sys
from collections.abc import Awaitable, Callable
from typing import Annotated, Any, Optional

import anyio
import typer

from s3ferry.cli import sharding
from s3ferry.cli.object_flags import object_options
from s3ferry.cli.options import ClusterOption, TransferOptions, Workers, transfer_command
from s3ferry.cli.running import guard as _guard
from s3ferry.cli.running import run
from s3ferry.cli.transfer import api, cat_to_stdout
from s3ferry.core.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, S3FerryError
from s3ferry.core.object_options import ObjectOptions
from s3ferry.core.objects import Consent, delete_consent, human_size
from s3ferry.core.presign import parse_expires

EXAMPLES = {
    "ls": "s3ferry ls\n\n  s3ferry ls s3://bucket/logs/ --human\n\n  s3ferry ls s3://bucket/logs/ -r --json",
    "du": "s3ferry du s3://bucket/data/ --human",
    "stat": "s3ferry stat s3://bucket/isos/big.iso --json",
    "rm": "s3ferry rm s3://bucket/old.bin\n\n  s3ferry rm -r s3://bucket/tmp/ --dry-run\n\n"
          "  s3ferry rm -r s3://bucket/tmp/ --yes",
    "cat": "s3ferry cat s3://bucket/logs/today.log | grep ERROR\n\n  s3ferry cat s3://bucket/backup.tar | tar x",
    "cp": "s3ferry cp s3://staging/app.tar s3://archive/2026/\n\n  s3ferry cp -r s3://a/data/ s3://b/data/\n\n"
          "  s3ferry cp s3://a/k s3://b/k --source-endpoint-url http://ceph:7480 --storage-class STANDARD_IA",
    "mv": "s3ferry mv s3://staging/run-42.tar s3://archive/\n\n  s3ferry mv ./report.pdf s3://bucket/reports/\n\n"
          "  s3ferry mv -r s3://bucket/inbox/ ./inbox/",
    "presign": "s3ferry presign s3://bucket/report.pdf --expires 15m\n\n"
               "  s3ferry presign s3://bucket/upload.bin --put --expires 1h\n\n"
               "  s3ferry presign s3://bucket/big.iso --multipart --size 4294967296 --part-size 64MiB > manifest.json",
}
EXAMPLES = {name: "Examples:\n\n  " + text for name, text in EXAMPLES.items()}

Recursive = Annotated[bool, typer.Option("--recursive", "-r", help="Every object under the prefix.")]
SourceEndpoint = Annotated[Optional[str], typer.Option(
    help="Endpoint of an s3:// source on another server (the copy streams through s3ferry).")]
SourceProfile = Annotated[Optional[str], typer.Option(help="AWS profile to read an s3:// source with.")]

def call(make: Callable[[], Awaitable[Any]]) -> Any:
    """Run a non-transfer call (ls, stat, rm, presign): one line and its code on failure."""
    try:
        return anyio.run(make, backend="asyncio")
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except S3FerryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    except BrokenPipeError:  # `s3ferry ls | head`: the reader has what it wanted
        raise typer.Exit(0) from None


@transfer_command
def ls(where: Annotated[Optional[str], typer.Argument(help="s3://bucket/prefix; none: the buckets.")] = None, *,
       opts: TransferOptions, recursive: Recursive = False,
       human: Annotated[bool, typer.Option("--human", "-H", help="Sizes as 1.5MiB.")] = False) -> None:
    """List buckets, or objects: time, size, ETag, storage class, key (PRE: a prefix)."""
    async def show() -> None:
        async for entry in api.ls(where, recursive=recursive, config=opts.config):
            if opts.json_lines:
                print(jsonlib.dumps(entry.as_dict()))
            elif not entry.key and not entry.is_prefix:  # a bucket
                print(f"{entry.last_modified:%Y-%m-%d %H:%M:%S}  {entry.bucket}" if entry.last_modified
                      else entry.bucket)
            else:
                print(entry.line(human))
    call(show)


@transfer_command
def du(where: Annotated[str, typer.Argument(help="s3://bucket/prefix/")], *, opts: TransferOptions,
       human: Annotated[bool, typer.Option("--human", "-H", help="Sizes as 1.5MiB.")] = False) -> None:
    """Object count and bytes per first-level prefix, then the total (the last line)."""
    async def show() -> None:
        async for totals in api.du(where, config=opts.config):
            if opts.json_lines:
                print(jsonlib.dumps({"prefix": totals.prefix, "objects": totals.objects, "bytes": totals.bytes}))
            else:
                size = human_size(totals.bytes) if human else str(totals.bytes)
                print(f"{size:>14}  {totals.objects:>10}  s3://{where.removeprefix('s3://').split('/')[0]}/"
                      f"{totals.prefix}")
    call(show)


@transfer_command
def stat(where: Annotated[str, typer.Argument(help="s3://bucket/key")], *, opts: TransferOptions) -> None:
    """Everything the store says of one object: HEAD, metadata, tags, checksums, part layout."""
    info = call(lambda: api.stat(where, config=opts.config))
    if opts.json_lines:
        print(jsonlib.dumps(info, default=str))
        return
    for name, value in info.items():
        if name == "size":
            value = f"{value} ({human_size(value)})"
        elif name == "part_size" and value:
            value = f"{value} ({human_size(value)})"
        elif isinstance(value, dict):
            value = ", ".join(f"{k}={v}" for k, v in value.items()) or "-"
        print(f"{name:<22} {value if value is not None else '-'}")


@transfer_command
def rm(where: Annotated[str, typer.Argument(help="s3://bucket/key, or with -r s3://bucket/prefix/")], *,
       opts: TransferOptions, recursive: Recursive = False,
       yes: Annotated[bool, typer.Option("--yes", "-y", help="Delete without asking (needed without a terminal).")]
       = False,
       dry_run: Annotated[bool, typer.Option("--dry-run", help="Count what would go; delete nothing.")] = False) -> None:
    """Delete an object, or every object under a prefix (-r), 1,000 per request."""
    if recursive:
        consent = delete_consent(yes=yes, dry_run=dry_run, interactive=sys.stdin.isatty() and sys.stderr.isatty())
        if consent is Consent.REFUSE:
            print(f"error: rm {where}: refusing to delete without --yes (no terminal to ask); "
                  f"--dry-run counts what would go", file=sys.stderr)
            raise typer.Exit(EXIT_USAGE)
        if consent is Consent.ASK:
            count = call(lambda: api.count_objects(where, config=opts.config))
            if not typer.confirm(f"delete {count} object(s) under {where}?", err=True):
                print("nothing deleted", file=sys.stderr)
                raise typer.Exit(EXIT_FAILED)
    removal = call(lambda: api.rm(where, recursive=recursive, dry_run=dry_run, config=opts.config))
    for error in removal.errors:
        print(f"error: rm {error}", file=sys.stderr)
    verb = "would delete" if dry_run else "deleted"
    count = removal.matched if dry_run else removal.deleted
    if opts.json_lines:
        print(jsonlib.dumps({"matched": removal.matched, "deleted": removal.deleted, "failed": removal.failed}))
    elif not opts.quiet:
        print(f"{verb} {count} object(s) under {where}" if recursive else f"{verb} {where}")
    raise typer.Exit(0 if removal.ok else EXIT_FAILED)


@transfer_command
def cat(source: Annotated[str, typer.Argument(help="s3://bucket/key")], opts: TransferOptions) -> None:
    """Write an object to stdout in order, ranges fetched in parallel.

    The ETag is checked at the end: exit 3 if it does not match (the bytes are already out)."""
    cat_to_stdout(source, opts)


@transfer_command
@object_options
def cp(source: Annotated[str, typer.Argument(help="s3://bucket/key or s3://bucket/prefix/ (with -r)")],
       destination: Annotated[str, typer.Argument(help="s3://bucket/key or s3://bucket/prefix/")], *,
       opts: TransferOptions, object_options: ObjectOptions, recursive: Recursive = False, source_endpoint_url: SourceEndpoint = None,
       source_profile: SourceProfile = None, workers: Workers = None, cluster: ClusterOption = None) -> None:
    """Copy objects, keeping the ETag (which proves the copy), metadata, tags and storage class.

    Server-side within one endpoint, at the source's part layout; between endpoints
    (--source-endpoint-url, --source-profile) the bytes stream through s3ferry."""
    config = opts.config.replace(object_options=object_options)

    def one_process() -> None:
        run(lambda reporter: api.cp(source, destination, recursive=recursive, config=config, progress=reporter,
                                    source_endpoint_url=source_endpoint_url, source_profile=source_profile), opts)

    if not recursive:
        sharding.not_a_tree(workers, cluster, "copies a prefix: it needs --recursive")
        one_process()
    sharding.route("cp", source, destination, opts, workers_text=workers, cluster=cluster, one_process=one_process,
                   config=config, source_endpoint_url=source_endpoint_url, source_profile=source_profile)


@transfer_command
@object_options
def mv(source: Annotated[str, typer.Argument(help="s3://..., or a local file or folder")],
       destination: Annotated[str, typer.Argument(help="s3://..., or a local file or folder")], *,
       opts: TransferOptions, object_options: ObjectOptions, recursive: Recursive = False, source_endpoint_url: SourceEndpoint = None,
       source_profile: SourceProfile = None) -> None:
    """Copy (or put, or get), verify, then delete the source.

    A source whose copy did not verify is never deleted ("source kept"); S3 to S3, a local
    file or folder to S3, or S3 to local files."""
    config = opts.config.replace(object_options=object_options)
    run(lambda reporter: api.mv(source, destination, recursive=recursive, config=config, progress=reporter,
                                source_endpoint_url=source_endpoint_url, source_profile=source_profile), opts)


@transfer_command
def presign(where: Annotated[str, typer.Argument(help="s3://bucket/key")], *, opts: TransferOptions,
            put: Annotated[bool, typer.Option("--put", help="A URL to upload with (default: to download).")] = False,
            content_type: Annotated[Optional[str], typer.Option(help="With --put: the Content-Type the uploader "
                                                                     "must send.")] = None,
            expires: Annotated[str, typer.Option(help="How long the URLs work: 15m, 1h, 7d (at most).")] = "1h",
            multipart: Annotated[bool, typer.Option("--multipart", help="Start a multipart upload and print its "
                                                    "JSON manifest (with --size, --part-size).")] = False,
            size: Annotated[Optional[str], typer.Option(help="With --multipart: the file's size in bytes.")] = None,
            ) -> None:
    """Print a presigned URL, or a multipart manifest for uploads without credentials."""
    seconds = _guard(lambda: parse_expires(expires))  # type: ignore[arg-type,return-value]
    if multipart:
        if size is None:
            print("error: presign --multipart needs --size BYTES", file=sys.stderr)
            raise typer.Exit(EXIT_USAGE)
        from s3ferry.core.config import parse_size
        total = _guard(lambda: parse_size(size))  # type: ignore[arg-type,return-value]
        manifest = call(lambda: api.presign_multipart(where, size=total, expires=seconds, config=opts.config))
        print(manifest.to_json())
        return
    print(call(lambda: api.presign(where, put=put, expires=seconds, content_type=content_type, config=opts.config)))
