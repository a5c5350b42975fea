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


def plain_values_skip_pydantic(command: Any) -> None:
    """typer coerces every parameter's value through a pydantic TypeAdapter, built per
    parameter on first use: importing pydantic and building ~30 adapters cost ~70 ms of CPU per
    run, to turn the strings click parsed into the same strings. Values that are already of
    the parameter's plain type (str, int or float, with no parser, range or path checks) are
    kept as they are, which is what those adapters return for them; anything else still goes
    through typer's own coercion (tests/unit/test_tuning.py compares the two)."""
    try:
        from typer._coercion import RuntimeParam, build_runtime_param
        from typer._param_types import routes_to_path
    except ImportError:  # another typer: nothing to shorten
        return

    class PlainFirst(RuntimeParam):
        def _coerce_value(self, value: Any, param: Any, ctx: Any) -> Any:
            info, kind = self.parameter_info, self.annotation
            if info.parser is None and kind in (str, int, float) and (
                    kind is str and not routes_to_path(kind, info) or info.min is None and info.max is None):
                if type(value) is kind:
                    return value
                if kind is int and type(value) is str and value.isascii() and value.isdigit():
                    return int(value)  # "16" from the command line
            real = build_runtime_param(param.type_descriptor)
            param._runtime_param = real
            return real._coerce_value(value, param=param, ctx=ctx)

    def plain_first(param: Any) -> Any:
        descriptor = getattr(param, "type_descriptor", None)
        if descriptor is not None and getattr(param, "_runtime_param", 0) is None and not descriptor.is_file:
            param._runtime_param = PlainFirst(parameter_info=descriptor.parameter_info,
                                              annotation=descriptor.annotation)
        return param

    def walk(command: Any) -> None:
        for param in getattr(command, "params", ()):
            plain_first(param)
        help_option = command.get_help_option  # made per context: --help is a parameter too
        command.get_help_option = lambda ctx: plain_first(help_option(ctx))
        for sub in getattr(command, "commands", {}).values():
            walk(sub)

    walk(command)


def main() -> None:
    tuning.bound_allocator()
    tuning.calm_gc()
    if sys.platform != "win32":
        tuning.coalesce_without_copy()
    tuning.defer_aiohttp_certificates()
    completing = any(name.endswith("_COMPLETE") for name in os.environ)  # shell completion: all commands
    app = build(None if completing else command_name(sys.argv[1:]))
    try:
        command = typer.main.get_command(app)  # what app() calls, minus typer's traceback hook (disabled)
        plain_values_skip_pydantic(command)
        command(prog_name="s3ferry")
    except SystemExit as done:  # click ends every run this way, success included
        if done.code is None or isinstance(done.code, int):
            tuning.leave(done.code or 0)
        raise
    except Exception as exc:  # noqa: BLE001 - a bug still gets one line, not a traceback
        if os.environ.get("S3FERRY_DEBUG"):
            raise
        print(f"internal error: {type(exc).__name__}: {exc} (set S3FERRY_DEBUG=1 for a traceback)", file=sys.stderr)
        sys.exit(EXIT_FAILED)


if __name__ == "__main__":
    main()
