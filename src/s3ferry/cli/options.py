"""The options commands share and how they become one Config; the checks that refuse options
which would do nothing; --debug logging; and the help's shape (flags without a value,
arguments in capitals)."""

from __future__ import annotations

import functools
import inspect
import logging
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperCommand

from s3ferry.cli.running import guard, usage_error
from s3ferry.cli.settings import with_settings
from s3ferry.core.config import (
    DEFAULT_ENGINE,
    DEFAULT_MAX_ATTEMPTS,
    DEFAULT_MAX_CONCURRENCY,
    DEFAULT_PART_MEMORY_TEXT,
    Config,
    parse_duration,
    parse_size,
)

Endpoint = Annotated[Optional[str], typer.Option("--endpoint-url", envvar="S3FERRY_ENDPOINT_URL",
                                                 help="S3 endpoint (default: AWS, or AWS_ENDPOINT_URL).")]
Profile = Annotated[Optional[str], typer.Option("--profile", help="AWS profile (default: AWS_PROFILE).")]
Region = Annotated[Optional[str], typer.Option("--region", help="Region (default: AWS_REGION / profile).")]
Concurrency = Annotated[int, typer.Option("--concurrency", "-c", help="Requests in flight.")]
PartSize = Annotated[str, typer.Option("--part-size", metavar="SIZE", help="Multipart part size, e.g. 8MiB.")]
PartMemory = Annotated[str, typer.Option(
    "--part-memory", metavar="SIZE",
    help="Part buffers held at once, across all files (room for at least 4 parts). Raise it for "
         "fast, distant links, where more bytes must be in flight.")]
Threshold = Annotated[Optional[str], typer.Option("--multipart-threshold", metavar="SIZE",
                                                  help="Files at least this big go multipart (default: part size).")]
Attempts = Annotated[int, typer.Option("--max-attempts", help="Attempts per request, including the first.")]
NoVerify = Annotated[bool, typer.Option("--no-verify", help="Skip comparing ETags after the transfer.")]
RequireVerify = Annotated[bool, typer.Option("--require-verify", help="Fail transfers that cannot be verified.")]
Checksum = Annotated[str, typer.Option("--checksum", help="Extra upload checksum: off, crc32, crc32c, crc64nvme.")]
Addressing = Annotated[str, typer.Option("--addressing-style", help="auto, path or virtual.")]
Json = Annotated[bool, typer.Option("--json", help="One JSON object per result, then a summary.")]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Print failures only.")]
EngineOption = Annotated[str, typer.Option("--engine", envvar="S3FERRY_ENGINE",
                                           help="Request path for GET/PUT/HEAD/LIST: lean (fast) or botocore.")]
KeepPartial = Annotated[bool, typer.Option("--keep-partial", help="On Ctrl-C or failure keep uploads and temporary "
                                           "files for a resume (re-run the same command).")]
RetryFor = Annotated[str, typer.Option("--retry-for", help="Keep retrying a failing request this long once the "
                                       "endpoint has answered (rides out outages), e.g. 60s, 5m.")]
NoFollow = Annotated[bool, typer.Option("--no-follow-symlinks", help="Skip symbolic links in local folders "
                                        "(default: follow links to files, and to folders outside the tree once).")]
Verbose = Annotated[int, typer.Option("--verbose", "-v", count=True, show_default=False,
                                      help="-v: a line per file; -vv: as --debug.")]
Debug = Annotated[bool, typer.Option("--debug", help="Log each request, retry and timing on stderr "
                                     "(never credentials or signatures).")]

# Sharded runs of a tree (put, get, cp -r, sync); cli/cluster.py runs them.
Workers = Annotated[Optional[str], typer.Option(
    "--workers", metavar="N|auto", show_default=False,
    help="Worker processes for a tree, each with its own event loop and connections (auto: one per core, "
         "for trees of 1,000 files or more; 1: this process alone, the default). Memory grows with them: "
         "each holds up to --part-memory of part buffers, plus -c files of up to 1 MiB.")]
ClusterOption = Annotated[Optional[str], typer.Option(
    "--cluster", help="Shard the tree over Dask: local:N worker processes, or tcp://scheduler:8786 "
                      "(s3ferry[dask]).")]

# The options every transfer command takes, added to each by @transfer_command.
TRANSFER_OPTIONS: dict[str, tuple[object, object]] = {
    "endpoint_url": (Endpoint, None), "profile": (Profile, None), "region": (Region, None),
    "concurrency": (Concurrency, DEFAULT_MAX_CONCURRENCY), "part_size": (PartSize, "8MiB"),
    "multipart_threshold": (Threshold, None), "part_memory": (PartMemory, DEFAULT_PART_MEMORY_TEXT),
    "max_attempts": (Attempts, DEFAULT_MAX_ATTEMPTS),
    "no_verify": (NoVerify, False), "require_verify": (RequireVerify, False), "checksum": (Checksum, "off"),
    "addressing_style": (Addressing, "auto"), "json": (Json, False), "quiet": (Quiet, False),
    "keep_partial": (KeepPartial, False), "retry_for": (RetryFor, "60s"), "no_follow_symlinks": (NoFollow, False),
    "verbose": (Verbose, 0), "debug": (Debug, False), "engine": (EngineOption, DEFAULT_ENGINE),
}


@dataclass(frozen=True)
class TransferOptions:
    config: Config
    json_lines: bool
    quiet: bool
    verbose: int = 0
    # What the user typed, for the checks that refuse options a command would ignore.
    given: frozenset[str] = frozenset()


def build_config(endpoint_url: str | None, profile: str | None, region: str | None, concurrency: int,
                 part_size: str, multipart_threshold: str | None, max_attempts: int, no_verify: bool,
                 require_verify: bool, checksum: str, addressing_style: str, keep_partial: bool = False,
                 retry_for: str = "60s", no_follow_symlinks: bool = False, engine: str = DEFAULT_ENGINE,
                 part_memory: str = DEFAULT_PART_MEMORY_TEXT) -> Config:
    part = parse_size(part_size)
    return Config(
        endpoint_url=endpoint_url, profile=profile, region=region, max_concurrency=concurrency,
        part_size=part, multipart_threshold=parse_size(multipart_threshold) if multipart_threshold else part,
        part_memory=parse_size(part_memory),
        max_attempts=max_attempts, verify=not no_verify, require_verify=require_verify,
        checksum=checksum, addressing_style=addressing_style, keep_partial=keep_partial,  # type: ignore[arg-type]
        retry_for=parse_duration(retry_for), follow_symlinks=not no_follow_symlinks,
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
        given = frozenset(name for name, (_, default) in TRANSFER_OPTIONS.items() if values[name] != default)
        json_lines, quiet = bool(values.pop("json")), bool(values.pop("quiet"))
        verbose, debug = int(values.pop("verbose")), bool(values.pop("debug"))  # type: ignore[call-overload]
        if debug or verbose >= 2:
            enable_debug()
        config = guard(lambda: build_config(**with_settings(values)))  # type: ignore[arg-type]
        fn(**kwargs, opts=TransferOptions(config, json_lines, quiet, verbose, given))

    command.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in own + shared}
    del command.__wrapped__  # typer must read the new signature, not fn's
    return command


def refuse_unused(opts: TransferOptions, command: str, unused: dict[str, str]) -> None:
    """Options this command would silently ignore (name -> flag) are a usage error."""
    for name, flag in unused.items():
        if name in opts.given:
            usage_error(f"{flag} does nothing with {command}; leave it out")


def enable_debug() -> None:
    """s3ferry's own log (requests, retries, timings) on stderr. Only the "s3ferry" logger:
    botocore's debug log prints request headers, the Authorization signature among them."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("debug %(asctime)s.%(msecs)03d %(message)s", "%H:%M:%S"))
    log = logging.getLogger("s3ferry")
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False


class Command(TyperCommand):
    """Help that reads right: flags show no value, arguments read SOURCE DESTINATION.
    (Duck-typed: typer carries its own copy of click.)"""

    def __init__(self, *args: Any, **kwargs: Any):
        super().__init__(*args, **kwargs)
        for param in self.params:
            if param.param_type_name == "option" and (getattr(param, "is_flag", False) or getattr(param, "count", False)):
                param.metavar = ""

    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""
        return option

    def collect_usage_pieces(self, ctx: Any) -> list[str]:
        pieces = [self.options_metavar] if self.options_metavar else []
        return pieces + [(p.metavar or (p.name or "").upper()) for p in self.get_params(ctx)
                         if p.param_type_name == "argument"]
