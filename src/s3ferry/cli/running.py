"""Running a command's coroutine: one event loop, one line per error, the documented exit code."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, NoReturn, TypeVar

import anyio
import typer

from s3ferry.cli.signals import Signalled, until_signalled
from s3ferry.core.errors import EXIT_INTERRUPTED, EXIT_USAGE, S3FerryError, exit_for_signal
from s3ferry.core.results import Summary

if TYPE_CHECKING:
    from s3ferry.cli.options import TransferOptions
    from s3ferry.cli.render import Reporter

T = TypeVar("T")
LOOP = {"backend": "asyncio", "backend_options": {"use_uvloop": sys.platform != "win32"}}


def fail(exc: S3FerryError) -> typer.Exit:
    """Print the one line an error gets, and the exit that carries its code."""
    print(f"error: {exc}", file=sys.stderr)
    return typer.Exit(exc.exit_code)


def usage_error(message: str) -> NoReturn:
    print(f"error: {message}", file=sys.stderr)
    raise typer.Exit(EXIT_USAGE)


def guard(build: Callable[[], T]) -> T:
    """Options turned into values: a bad one is a usage error (exit 2)."""
    try:
        return build()
    except S3FerryError as exc:
        usage_error(str(exc))


def run(operation: Callable[[Reporter], Awaitable[Summary]], opts: TransferOptions) -> None:
    """Run one transfer operation on the event loop and exit with its documented code."""
    from s3ferry.cli.render import Reporter

    reporter = Reporter(json_lines=opts.json_lines, quiet=opts.quiet, verbose=opts.verbose)
    try:
        with reporter:
            summary = anyio.run(until_signalled, operation, reporter, **LOOP)
    except (KeyboardInterrupt, Signalled) as exc:  # SIGTERM/SIGHUP clean up as Ctrl-C does
        print("interrupted: partial transfers kept (see above); re-run the same command to resume"
              if opts.config.keep_partial else "interrupted: in-flight uploads aborted, temporary files removed",
              file=sys.stderr)
        raise typer.Exit(exit_for_signal(exc.signum) if isinstance(exc, Signalled) else EXIT_INTERRUPTED) from None
    except S3FerryError as exc:
        raise fail(exc) from None
    reporter.summary(summary)
    raise typer.Exit(summary.exit_code)


def run_simple(call: Callable[[], Awaitable[T]], interrupted: str | None = None) -> T:
    """Run a call that is not a transfer (no progress, no summary)."""
    try:
        return anyio.run(call, **LOOP)
    except KeyboardInterrupt:
        if interrupted:
            print(interrupted, file=sys.stderr)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except S3FerryError as exc:
        raise fail(exc) from None
