"""The options commands share, and how they become one Config."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Optional

import typer

from s3ferry.cli.running import guard
from s3ferry.cli.settings import with_settings
from s3ferry.core.config import DEFAULT_ENGINE, DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_CONCURRENCY, Config, parse_size

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
                                           help="Request path for GET/PUT/HEAD/LIST: lean (fast) or botocore.")]
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
        config = guard(lambda: build_config(**with_settings(values)))  # type: ignore[arg-type]
        fn(**kwargs, opts=TransferOptions(config, json_lines, quiet))

    command.__signature__ = inspect.Signature(own + shared)  # type: ignore[attr-defined]
    command.__annotations__ = {p.name: p.annotation for p in own + shared}
    del command.__wrapped__  # typer must read the new signature, not fn's
    return command
