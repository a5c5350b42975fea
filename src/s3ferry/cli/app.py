"""The typer app: registers each command group's module; ``main`` is the console entry point."""

from __future__ import annotations

import os
import sys
from typing import Annotated, Any, Optional

import typer
from typer.core import TyperGroup

from s3ferry.cli import settings, tuning
from s3ferry.cli.options import Command
from s3ferry.core.errors import EXIT_FAILED


class Group(TyperGroup):
    def get_help_option(self, ctx: Any) -> Any:
        option = super().get_help_option(ctx)
        if option is not None:
            option.metavar = ""  # a flag: no "<bool>" in the help
        return option


def _transfer(app: typer.Typer) -> None:
    from s3ferry.cli import transfer

    app.command(cls=Command, epilog=transfer.PUT_EXAMPLES)(transfer.put)
    app.command(cls=Command, epilog=transfer.GET_EXAMPLES)(transfer.get)
    for command in (transfer.verify, transfer.sync):
        app.command(cls=Command)(command)


def _objects(app: typer.Typer) -> None:
    from s3ferry.cli import objects

    for command in (objects.ls, objects.du, objects.stat, objects.rm, objects.cat, objects.cp, objects.mv,
                    objects.presign):
        app.command(cls=Command, epilog=objects.EXAMPLES[command.__name__])(command)


def _uploads(app: typer.Typer) -> None:
    from s3ferry.cli.uploads import uploads_app

    app.add_typer(uploads_app, name="uploads", cls=Group)


def _config(app: typer.Typer) -> None:
    from s3ferry.cli.config_cmd import config_app

    app.add_typer(config_app, name="config", cls=Group)


def _tools(app: typer.Typer) -> None:
    from s3ferry.cli import tools

    for command in (tools.bench, tools.demo):
        app.command(cls=Command)(command)


def _team(app: typer.Typer) -> None:
    from s3ferry.cli import team

    app.command("team-sync")(team.team_sync)
    app.command("reset")(team.reset)


# Command groups in help order, with the command names each registers. A run registers only
# the group of the command it was given (importing every command module and building every
# click command cost ~40 ms of CPU per start); help, completion and typos get them all.
GROUPS = ((_transfer, ("put", "get", "verify", "sync")),
          (_objects, ("ls", "du", "stat", "rm", "cat", "cp", "mv", "presign")),
          (_uploads, ("uploads",)), (_config, ("config",)), (_tools, ("bench", "demo")),
          (_team, ("team-sync", "reset")))


def command_name(argv: list[str]) -> str | None:
    """The command in ``argv`` (after the program name), or None when there is none."""
    args = iter(argv)
    for arg in args:
        if arg == "--config":
            next(args, None)
        elif not arg.startswith("-"):
            return arg
    return None


def build(command: str | None = None) -> typer.Typer:
    """The typer app, with only ``command``'s group when it names one, else every command."""
    app = typer.Typer(
        name="s3ferry",
        help="Move files to, from and between S3-compatible stores, fast, and prove every byte arrived.",
        no_args_is_help=True,
        add_completion=True,  # --install-completion / --show-completion for bash, zsh, fish
        pretty_exceptions_enable=False,
        cls=Group,
    )
    known = any(command in names for _, names in GROUPS)
    for register, names in GROUPS:
        if not known or command in names:
            register(app)
    app.callback()(_options)
    return app


def __getattr__(name: str) -> Any:
    if name == "app":  # the whole app, for tests and tools that import it
        return build()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _version(value: bool) -> None:
    if value:
        from s3ferry import __version__
        print(f"s3ferry {__version__}")
        raise typer.Exit()


def _options(
    version: Annotated[bool, typer.Option("--version", is_eager=True, callback=_version,
                                          help="Print the version and exit.")] = False,
    config: Annotated[Optional[str], typer.Option("--config", envvar="S3FERRY_CONFIG", help=(
        "TOML config file (default: $XDG_CONFIG_HOME/s3ferry/config.toml). Precedence: flags, S3FERRY_* "
        "variables, this file, then AWS_* variables and profiles; see: s3ferry config show."))] = None,
) -> None:
    """Move files to, from and between S3-compatible stores, fast, and prove every byte arrived."""
    settings.config_flag = config


def main() -> None:
    tuning.bound_allocator()
    tuning.calm_gc()
    if sys.platform != "win32":
        tuning.coalesce_without_copy()
    tuning.defer_aiohttp_certificates()
    completing = any(name.endswith("_COMPLETE") for name in os.environ)  # shell completion: all commands
    app = build(None if completing else command_name(sys.argv[1:]))
    try:
        app(prog_name="s3ferry")
    except Exception as exc:  # noqa: BLE001 - a bug still gets one line, not a traceback
        if os.environ.get("S3FERRY_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set S3FERRY_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
