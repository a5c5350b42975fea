"""``s3ferry config show``: the effective settings and where each came from, secrets masked."""

from __future__ import annotations

import json as jsonlib
import os
import sys
from typing import Annotated, Optional

import typer

from s3ferry.cli.settings import load_config_file
from s3ferry.cli.transfer import api
from s3ferry.core.errors import S3FerryError
from s3ferry.core.settings import resolve, show_json, show_lines

config_app = typer.Typer(help="Effective configuration: flags, S3FERRY_* variables, config file, AWS profile.",
                         no_args_is_help=True)

Opt = Optional[str]


@config_app.command("show", epilog="Examples:\n\n  s3ferry config show\n\n  s3ferry config show --profile ci --json\n\n"
                                   "  s3ferry config show --config ./s3ferry.toml --part-size 64MiB")
def show(config: Annotated[Opt, typer.Option("--config", help="TOML config file to read.")] = None,
         endpoint_url: Annotated[Opt, typer.Option("--endpoint-url")] = None,
         profile: Annotated[Opt, typer.Option("--profile")] = None,
         region: Annotated[Opt, typer.Option("--region")] = None,
         part_size: Annotated[Opt, typer.Option("--part-size")] = None,
         multipart_threshold: Annotated[Opt, typer.Option("--multipart-threshold")] = None,
         part_memory: Annotated[Opt, typer.Option("--part-memory")] = None,
         concurrency: Annotated[Optional[int], typer.Option("--concurrency", "-c")] = None,
         max_attempts: Annotated[Optional[int], typer.Option("--max-attempts")] = None,
         checksum: Annotated[Opt, typer.Option("--checksum")] = None,
         addressing_style: Annotated[Opt, typer.Option("--addressing-style")] = None,
         json: Annotated[bool, typer.Option("--json", help="One JSON object.")] = False) -> None:
    """Print each setting, its value and its source (flag, S3FERRY_* variable, config file,
    AWS_* variable or profile, default); secrets are never printed."""
    flags = {"endpoint_url": endpoint_url, "profile": profile, "region": region, "part_size": part_size,
             "multipart_threshold": multipart_threshold, "part_memory": part_memory, "concurrency": concurrency,
             "max_attempts": max_attempts, "checksum": checksum, "addressing_style": addressing_style}

    try:
        file = load_config_file(config)
        chosen = resolve(flags, os.environ, file)["profile"]
        values = api.aws_profile(str(chosen.value) if chosen.value is not None else None)
        settings = resolve(flags, os.environ, file, values, str(chosen.value or "default"))
    except S3FerryError as exc:
        print(f"error: {exc}", file=sys.stderr)
        raise typer.Exit(exc.exit_code) from None
    if json:
        print(jsonlib.dumps(show_json(settings)))
    else:
        print("\n".join(show_lines(settings)))
