"""Where the transfer options come from when not given on the command line: ``S3FERRY_*``
variables, then the TOML config file (``--config``, ``$S3FERRY_CONFIG``, else
``$XDG_CONFIG_HOME/s3ferry/config.toml``); the AWS layer stays botocore's. The precedence
itself is core/settings.py."""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

try:  # typer >= 0.2x runs on its own vendored click: its context is the one that is current
    from typer._click.globals import get_current_context
except ImportError:  # pragma: no cover - older typer on the real click
    from click import get_current_context

from s3ferry.core.errors import ConfigError
from s3ferry.core.settings import ConfigFile, config_path, parse_config_file, resolve, s3ferry_level

# Set by the global --config option (cli/app.py's callback).
config_flag: str | None = None


def load_config_file(flag: str | None = None) -> ConfigFile | None:
    path, explicit = config_path(flag or config_flag, os.environ, str(Path.home()))
    try:
        text = Path(path).read_text()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"config file not found: {path}") from None
        return None
    except OSError as exc:
        raise ConfigError(f"config file {path}: {exc.strerror}") from None
    return parse_config_file(text, path)


def given_on_command_line(names: list[str]) -> set[str]:
    ctx = get_current_context(silent=True)
    if ctx is None:
        return set(names)
    return {name for name in names if getattr(ctx.get_parameter_source(name), "name", "") == "COMMANDLINE"}


def with_settings(values: Mapping[str, object]) -> dict[str, object]:
    """``values`` (the parsed options, flags or defaults) with every option not given on the
    command line taken from an ``S3FERRY_*`` variable or the config file, when they set it."""
    given = given_on_command_line(list(values))
    settings = resolve({name: values[name] for name in given}, os.environ, load_config_file())  # type: ignore[misc]
    merged = dict(values)
    for name, value in s3ferry_level(settings).items():
        if name in merged and name not in given:
            merged[name] = _as_int(name, value) if isinstance(merged[name], int) else str(value)
    return merged


def _as_int(name: str, value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload]
    except (TypeError, ValueError):
        raise ConfigError(f"{name} must be a whole number, got {value!r} ({settings_source(name)})") from None


def settings_source(name: str) -> str:
    return f"from S3FERRY_{name.upper()} or the config file"
