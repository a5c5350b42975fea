"""The typer app: registers each command group's module; ``main`` is the console entry point."""

from __future__ import annotations

import os
import sys

import typer

from s3ferry.cli import tools, transfer, tuning
from s3ferry.cli.uploads import uploads_app
from s3ferry.core.errors import EXIT_FAILED

app = typer.Typer(
    name="s3ferry",
    help="Move files to, from and between S3-compatible stores, fast, and prove every byte arrived.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
for command in (transfer.put, transfer.get, transfer.verify, transfer.sync):
    app.command()(command)
app.add_typer(uploads_app, name="uploads")
for command in (tools.bench, tools.demo):
    app.command()(command)


def main() -> None:
    tuning.bound_allocator()
    tuning.calm_gc()
    if sys.platform != "win32":
        tuning.coalesce_without_copy()
    try:
        app()
    except Exception as exc:  # noqa: BLE001 - a bug still gets one line, not a traceback
        if os.environ.get("S3FERRY_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set S3FERRY_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
