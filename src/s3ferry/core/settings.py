"""Where each setting comes from: command-line flag, then ``S3FERRY_*`` variable, then the
TOML config file, then the AWS layer (``AWS_*`` variables and the AWS profile), then the
default. Pure: the caller reads the environment, the file and the profile and hands them in,
so the precedence is one table and one loop, tested without touching the machine.

``config show`` prints the result with each value's source, secrets masked.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import PurePath

from s3ferry.core.config import DEFAULT_MAX_ATTEMPTS, DEFAULT_MAX_CONCURRENCY, DEFAULT_PART_MEMORY_TEXT
from s3ferry.core.errors import ConfigError

CONFIG_ENV = "S3FERRY_CONFIG"
CONFIG_NAME = "s3ferry/config.toml"


@dataclass(frozen=True, slots=True)
class Spec:
    """One setting: its flag, its variables, its file key and its AWS-layer sources."""

    name: str
    flag: str | None
    env: str | None
    aws_env: tuple[str, ...] = ()
    profile_key: str | None = None  # key in the AWS profile (config or credentials file)
    default: str | int | None = None
    secret: bool = False  # never printed
    in_file: bool = True  # may be set in the TOML file (credentials may not)


SPECS: tuple[Spec, ...] = (
    Spec("endpoint_url", "--endpoint-url", "S3FERRY_ENDPOINT_URL", ("AWS_ENDPOINT_URL_S3", "AWS_ENDPOINT_URL"),
         "endpoint_url"),
    Spec("profile", "--profile", "S3FERRY_PROFILE", ("AWS_PROFILE", "AWS_DEFAULT_PROFILE")),
    Spec("region", "--region", "S3FERRY_REGION", ("AWS_REGION", "AWS_DEFAULT_REGION"), "region"),
    Spec("part_size", "--part-size", "S3FERRY_PART_SIZE", default="8MiB"),
    Spec("multipart_threshold", "--multipart-threshold", "S3FERRY_MULTIPART_THRESHOLD"),
    Spec("part_memory", "--part-memory", "S3FERRY_PART_MEMORY", default=DEFAULT_PART_MEMORY_TEXT),
    Spec("concurrency", "--concurrency", "S3FERRY_CONCURRENCY", default=DEFAULT_MAX_CONCURRENCY),
    Spec("max_attempts", "--max-attempts", "S3FERRY_MAX_ATTEMPTS", default=DEFAULT_MAX_ATTEMPTS),
    Spec("checksum", "--checksum", "S3FERRY_CHECKSUM", default="off"),
    Spec("addressing_style", "--addressing-style", "S3FERRY_ADDRESSING_STYLE", ("AWS_S3_ADDRESSING_STYLE",),
         "s3.addressing_style", default="auto"),
    Spec("access_key_id", None, None, ("AWS_ACCESS_KEY_ID",), "aws_access_key_id", secret=True, in_file=False),
    Spec("secret_access_key", None, None, ("AWS_SECRET_ACCESS_KEY",), "aws_secret_access_key", secret=True,
         in_file=False),
    Spec("session_token", None, None, ("AWS_SESSION_TOKEN",), "aws_session_token", secret=True, in_file=False),
)
BY_NAME = {spec.name: spec for spec in SPECS}
FILE_KEYS = tuple(spec.name for spec in SPECS if spec.in_file)


@dataclass(frozen=True, slots=True)
class Setting:
    name: str
    value: str | int | None
    source: str  # "--part-size", "env S3FERRY_PART_SIZE", "config file PATH", "profile NAME", "default", "unset"
    secret: bool = False

    @property
    def shown(self) -> str:
        """The value as it may be printed: secrets show only that they are set (an access
        key id its last four characters, as ``aws configure list`` does)."""
        if self.value is None:
            return "-"
        if not self.secret:
            return str(self.value)
        text = str(self.value)
        if self.name == "access_key_id" and len(text) > 8:
            return "*" * 12 + text[-4:]
        return "****** (set, hidden)"


@dataclass(frozen=True, slots=True)
class ConfigFile:
    """The parsed TOML file: where it is and the settings it holds (already validated)."""

    path: str
    values: Mapping[str, str | int]


def config_path(flag: str | None, env: Mapping[str, str], home: str) -> tuple[str, bool]:
    """The config file to read and whether the user named it (then it must exist):
    ``--config FILE``, else ``$S3FERRY_CONFIG``, else ``$XDG_CONFIG_HOME/s3ferry/config.toml``
    (``~/.config/s3ferry/config.toml``)."""
    if flag:
        return flag, True
    if env.get(CONFIG_ENV):
        return env[CONFIG_ENV], True
    base = env.get("XDG_CONFIG_HOME") or str(PurePath(home) / ".config")
    return str(PurePath(base) / CONFIG_NAME), False


def parse_config_file(text: str, path: str) -> ConfigFile:
    """Parse the TOML text of ``path``: flat ``name = value`` lines, names as in SPECS.
    Unknown names and credentials are refused (credentials belong in AWS profiles)."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"config file {path}: not valid TOML ({exc})") from None
    values: dict[str, str | int] = {}
    for name, value in data.items():
        spec = BY_NAME.get(name)
        if spec is None:
            raise ConfigError(f"config file {path}: unknown setting {name!r} (known: {', '.join(FILE_KEYS)})")
        if not spec.in_file:
            raise ConfigError(f"config file {path}: {name} does not belong here; use an AWS profile")
        if isinstance(value, bool) or not isinstance(value, (str, int)):
            raise ConfigError(f"config file {path}: {name} must be a string or a number, got {value!r}")
        values[name] = value
    return ConfigFile(path, values)


def resolve(flags: Mapping[str, str | int | None], env: Mapping[str, str], file: ConfigFile | None = None,
            profile_values: Mapping[str, str] | None = None, profile_name: str | None = None) -> dict[str, Setting]:
    """Every setting with its value and source, highest precedence first.

    ``flags``: values given on the command line (None or absent: not given). ``profile_values``:
    the chosen AWS profile's keys (config and credentials files), when the caller read them;
    it learns which profile to read from ``resolve(...)["profile"]`` first."""
    settings: dict[str, Setting] = {}
    for spec in SPECS:
        if not spec.in_file and _profile_named(settings.get("profile")):
            # botocore: a profile named by s3ferry (Session(profile=...)) supplies the credentials;
            # AWS_ACCESS_KEY_ID and friends are not consulted then.
            spec = Spec(spec.name, None, None, (), spec.profile_key, secret=True, in_file=False)
        settings[spec.name] = _one(spec, flags, env, file, profile_values or {}, profile_name)
    return settings


def _profile_named(setting: Setting | None) -> bool:
    return setting is not None and setting.value is not None and not setting.source.startswith("env AWS_")


def _one(spec: Spec, flags: Mapping[str, str | int | None], env: Mapping[str, str], file: ConfigFile | None,
         profile_values: Mapping[str, str], profile_name: str | None) -> Setting:
    def found(value: str | int, source: str) -> Setting:
        return Setting(spec.name, value, source, spec.secret)

    if spec.flag and flags.get(spec.name) is not None:
        return found(flags[spec.name], spec.flag)  # type: ignore[arg-type]
    if spec.env and env.get(spec.env):
        return found(env[spec.env], f"env {spec.env}")
    if file is not None and spec.name in file.values:
        return found(file.values[spec.name], f"config file {file.path}")
    for name in spec.aws_env:
        if env.get(name):
            return found(env[name], f"env {name}")
    if spec.profile_key and profile_values.get(spec.profile_key):
        return found(profile_values[spec.profile_key], f"profile {profile_name or 'default'}")
    if spec.default is not None:
        return found(spec.default, "default")
    return Setting(spec.name, None, "unset", spec.secret)


def s3ferry_level(settings: Mapping[str, Setting]) -> dict[str, str | int]:
    """The values s3ferry must pass on itself: those set by a flag, an ``S3FERRY_*`` variable
    or the config file. The AWS layer is botocore's own and stays botocore's to apply, so
    what s3ferry runs with and what ``config show`` says cannot drift apart."""
    own = {}
    for name, setting in settings.items():
        spec = BY_NAME[name]
        if setting.value is None or setting.secret:
            continue
        if setting.source == spec.flag or setting.source == f"env {spec.env}" or setting.source.startswith("config file"):
            own[name] = setting.value
    return own


def show_lines(settings: Mapping[str, Setting]) -> list[str]:
    """``config show``'s table: name, value (masked), source."""
    width = max(len(name) for name in settings)
    shown = max(len(s.shown) for s in settings.values())
    return [f"{s.name:<{width}}  {s.shown:<{shown}}  {s.source}" for s in settings.values()]


def show_json(settings: Mapping[str, Setting]) -> dict[str, dict[str, str | int | None]]:
    return {s.name: {"value": s.shown if s.secret and s.value is not None else s.value, "source": s.source}
            for s in settings.values()}
