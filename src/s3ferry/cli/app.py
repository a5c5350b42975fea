"""The typer command line. Parses, renders, maps errors to exit codes; no transfer logic."""

from __future__ import annotations

import functools
import inspect
import json as jsonlib
import os
import sys
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated, Optional

import anyio
import typer

from s3ferry.cli import tuning as _tuning
from s3ferry.tools import bench_plan
from s3ferry.core.config import DEFAULT_ENGINE, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_CONCURRENCY, Config, parse_size
from s3ferry.core.errors import EXIT_FAILED, EXIT_INTERRUPTED, EXIT_USAGE, S3FerryError
from s3ferry.core.results import Summary

if TYPE_CHECKING:
    from s3ferry.cli.render import Reporter

# Loaded when a command runs, not for --help or a usage error (aiobotocore, rich: ~0.6 s).
api = _tuning.lazy_import("s3ferry.api")
uploads = _tuning.lazy_import("s3ferry.ops.uploads")

app = typer.Typer(
    name="s3ferry",
    help="Move files to, from and between S3-compatible stores, fast, and prove every byte arrived.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

Endpoint = Annotated[Optional[str], typer.Option("--endpoint-url", envvar="S3FERRY_ENDPOINT_URL",
                                                 help="S3 endpoint (default: AWS, or AWS_ENDPOINT_URL).")]
Profile = Annotated[Optional[str], typer.Option("--profile", help="AWS profile (default: AWS_PROFILE).")]
Region = Annotated[Optional[str], typer.Option("--region", help="Region (default: AWS_REGION / profile).")]
Concurrency = Annotated[int, typer.Option("--concurrency", "-c", help="Requests in flight.")]
PartSize = Annotated[str, typer.Option("--part-size", help="Multipart part size, e.g. 8MiB.")]
Threshold = Annotated[Optional[str], typer.Option("--multipart-threshold",
                                                  help="Files at least this big go multipart (default: part size).")]
Attempts = Annotated[int, typer.Option("--max-attempts", help="Attempts per request, including the first.")]
NoVerify = Annotated[bool, typer.Option("--no-verify", help="Skip comparing ETags after the transfer.")]
RequireVerify = Annotated[bool, typer.Option("--require-verify", help="Fail transfers that cannot be verified.")]
Checksum = Annotated[str, typer.Option("--checksum", help="Extra upload checksum: off, crc32, crc32c, crc64nvme.")]
Addressing = Annotated[str, typer.Option("--addressing-style", help="auto, path or virtual.")]
Json = Annotated[bool, typer.Option("--json", help="One JSON object per result, then a summary.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print errors only.")]
EngineOption = Annotated[str, typer.Option("--engine", envvar="S3FERRY_ENGINE",
                                           help="Request path for GET/PUT/HEAD: lean (fast) or botocore.")]
KeepPartial = Annotated[bool, typer.Option("--keep-partial", help="On Ctrl-C or failure keep uploads and temporary "
                                           "files for a resume (re-run the same command).")]


# The options every transfer command takes, added to each by @transfer_command.
TRANSFER_OPTIONS: dict[str, tuple[object, object]] = {
    "endpoint_url": (Endpoint, None), "profile": (Profile, None), "region": (Region, None),
    "concurrency": (Concurrency, DEFAULT_MAX_CONCURRENCY), "part_size": (PartSize, "8MiB"),
    "multipart_threshold": (Threshold, None), "max_attempts": (Attempts, DEFAULT_MAX_ATTEMPTS),
    "no_verify": (NoVerify, False), "require_verify": (RequireVerify, False), "checksum": (Checksum, "off"),
    "addressing_style": (Addressing, "auto"), "json": (Json, False), "quiet": (Quiet, False),
    "keep_partial": (KeepPartial, False), "engine": (EngineOption, DEFAULT_ENGINE),
}


@dataclass(frozen=True)
class TransferOptions:
    config: Config
    json_lines: bool
    quiet: bool


def build_config(endpoint_url: str | None, profile: str | None, region: str | None, concurrency: int,
                 part_size: str, multipart_threshold: str | None, max_attempts: int, no_verify: bool,
                 require_verify: bool, checksum: str, addressing_style: str, keep_partial: bool = False,
                 engine: str = DEFAULT_ENGINE) -> Config:
    part = parse_size(part_size)
    return Config(
        endpoint_url=endpoint_url, profile=profile, region=region, max_concurrency=concurrency,
        part_size=part, multipart_threshold=parse_size(multipart_threshold) if multipart_threshold else part,
        max_attempts=max_attempts, verify=not no_verify, require_verify=require_verify,
        checksum=checksum, addressing_style=addressing_style, keep_partial=keep_partial,  # type: ignore[arg-type]
        engine=engine,  # type: ignore[arg-type]
    )


def transfer_command(fn: Callable[..., None]) -> Callable[..., None]:
    """Give a command the shared options. ``fn`` declares only its own parameters plus
    ``opts: TransferOptions``; typer sees the shared options appended to its signature."""
    own = [p for p in inspect.signature(fn, eval_str=True).parameters.values() if p.name != "opts"]
    shared = [inspect.Parameter(name, inspect.Parameter.KEYWORD_ONLY, default=default, annotation=annotation)
              for name, (annotation, default) in TRANSFER_OPTIONS.items()]

    @functools.wraps(fn)
    def command(**kwargs: object) -> None:
        values = {name: kwargs.pop(name) for name in TRANSFER_OPTIONS}
        json_lines, quiet = bool(values.pop("json")), bool(values.pop("quiet"))
        config = _guard(lambda: build_config(**values))  # type: ignore[arg-type]
        fn(**kwargs, opts=TransferOptions(config, json_lines, quiet))

    command.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in own + shared}
    del command.__wrapped__  # typer must read the new signature, not fn's
    return command


def run(operation: Callable[[Reporter], Awaitable[Summary]], opts: TransferOptions) -> None:
    """Run one operation on the event loop and exit with its documented code."""
    from s3ferry.cli.render import Reporter

    reporter = Reporter(json_lines=opts.json_lines, quiet=opts.quiet)
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


def _guard(build: Callable[[], Config]) -> Config:
    try:
        return build()
    except S3FerryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(EXIT_USAGE) from None


@app.command()
@transfer_command
def put(
    source: Annotated[str, typer.Argument(help="Local file or folder.")],
    destination: Annotated[str, typer.Argument(help="s3://bucket/key, or s3://bucket/prefix/ .")],
    opts: TransferOptions,
) -> None:
    """Upload a file, or a folder recursively."""
    run(lambda reporter: api.put(source, destination, config=opts.config, progress=reporter), opts)


@app.command()
@transfer_command
def get(
    source: Annotated[str, typer.Argument(help="s3://bucket/key, or s3://bucket/prefix/ .")],
    destination: Annotated[str, typer.Argument(help="Local file or folder.")],
    opts: TransferOptions,
) -> None:
    """Download an object, or a prefix recursively."""
    run(lambda reporter: api.get(source, destination, config=opts.config, progress=reporter), opts)


@app.command()
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


@app.command()
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


uploads_app = typer.Typer(help="Incomplete multipart uploads: they are billed until aborted.", no_args_is_help=True)
app.add_typer(uploads_app, name="uploads")
OlderThan = Annotated[Optional[str], typer.Option("--older-than", help="Only uploads at least this old: 2d, 12h.")]


def _simple(call: Callable[[], Awaitable[object]]) -> object:
    try:
        return anyio.run(call, backend="asyncio")
    except KeyboardInterrupt:
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except S3FerryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None


@uploads_app.command("ls")
def uploads_ls(where: Annotated[str, typer.Argument(help="s3://bucket or s3://bucket/prefix")], older_than: OlderThan = None,
               endpoint_url: Endpoint = None, profile: Profile = None, region: Region = None,
               json: Json = False) -> None:
    """List incomplete multipart uploads."""
    config = _guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region))
    age = _guard(lambda: uploads.parse_age(older_than)) if older_than else None
    found = _simple(lambda: api.list_uploads(where, older_than=age, config=config))
    for upload in found:  # type: ignore[attr-defined]
        line = {"bucket": upload.bucket, "key": upload.key, "upload_id": upload.upload_id,
                "initiated": upload.initiated.isoformat()}
        print(jsonlib.dumps(line) if json else f"{upload.initiated:%Y-%m-%d %H:%M} s3://{upload.bucket}/{upload.key} "
              f"{upload.upload_id}")


@uploads_app.command("abort")
def uploads_abort(where: Annotated[str, typer.Argument(help="s3://bucket or s3://bucket/prefix")], older_than: OlderThan = None,
                  endpoint_url: Endpoint = None, profile: Profile = None, region: Region = None) -> None:
    """Abort incomplete multipart uploads (optionally only old ones)."""
    config = _guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region))
    age = _guard(lambda: uploads.parse_age(older_than)) if older_than else None
    aborted = _simple(lambda: api.abort_uploads(where, older_than=age, config=config))
    print(f"aborted {len(aborted)} incomplete upload(s)")  # type: ignore[arg-type]


@uploads_app.command("lifecycle")
def uploads_lifecycle(bucket: Annotated[str, typer.Argument(help="s3://bucket")],
                      days: Annotated[int, typer.Option(help="Abort uploads this many days old.")] = 7,
                      endpoint_url: Endpoint = None, profile: Profile = None, region: Region = None) -> None:
    """Install the AbortIncompleteMultipartUpload lifecycle rule on a bucket."""
    config = _guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region))
    _simple(lambda: api.add_abort_rule(bucket, days=days, config=config))
    print(f"{bucket}: incomplete multipart uploads are aborted after {days} day(s)")


@app.command()
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
    options = _guard(lambda: bench_plan.parse_options(size, part_sizes, concurrency_levels, rounds, files, file_size))
    config = _guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region,
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


@app.command()
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
        app()
    except Exception as exc:  # noqa: BLE001 - a bug still gets one line, not a traceback
        if os.environ.get("S3FERRY_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set S3FERRY_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
