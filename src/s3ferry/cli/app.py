"""The typer app: registers each command group's module; ``main`` is the console entry point."""

from __future__ import annotations

import os
import sys
from typing import Any

import typer
from typer.core import TyperGroup

from s3ferry.cli import tools, transfer, tuning
from s3ferry.cli.options import Command
from s3ferry.cli.uploads import uploads_app
from s3ferry.core.errors import EXIT_FAILED


class Group(TyperGroup):
    def get_help_option(self, ctx: Any) -> Any:
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
for command in (transfer.put, transfer.get, transfer.verify, transfer.sync):
    app.command(cls=Command)(command)
app.add_typer(uploads_app, name="uploads", cls=Group)
for command in (tools.bench, tools.demo):
    app.command(cls=Command)(command)


def main() -> None:
    tuning.bound_allocator()
    tuning.calm_gc()
    if sys.platform != "win32":
        tuning.coalesce_without_copy()
    try:
        app(prog_name="s3ferry")
    except Exception as exc:  # noqa: BLE001 - a bug still gets one line, not a traceback
        if os.environ.get("S3FERRY_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set S3FERRY_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
