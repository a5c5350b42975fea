"""A start without botocore's session: credentials and region from the environment alone.

Importing botocore's session and client machinery and aiohttp costs ~0.4 CPU-s, most of a
small run's CPU (benchmarks/profile.md "startup (session 6)"). On the lean engine with the raw
HTTP client (plain http to an explicit endpoint, no proxy) neither is needed when the
environment settles what botocore's chain would resolve:

- credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, which botocore's provider chain
  tries first unless the session is given a profile explicitly (then the env provider is
  removed, so a named profile always goes the full way here);
- region and endpoint settings: Config.region, else AWS_DEFAULT_REGION, else the profile's
  section of the AWS config file (read with botocore's own config loader, which is cheap).

Anything else (no such credentials, a proxy, FIPS/dual-stack/accelerate settings, an
unreadable config file) returns None and the run builds botocore's session as before.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from s3ferry.core.config import Config

# Proxy variables as urllib reads them: any set, and store/direct.py decides with botocore.
PROXY_VARIABLES = ("http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY")
# Settings with which botocore's rules send S3 requests elsewhere than the endpoint URL (the
# same as store/direct.py's, read here from the environment and the config file).
REDIRECTING_ENV = ("AWS_USE_FIPS_ENDPOINT", "AWS_USE_DUALSTACK_ENDPOINT")
REDIRECTING = ("use_fips_endpoint", "use_dualstack_endpoint")
REDIRECTING_S3 = ("use_accelerate_endpoint", "use_dualstack_endpoint", "use_arn_region")


@dataclass(frozen=True, slots=True)
class FrozenCredentials:
    """botocore's ReadOnlyCredentials' fields."""

    access_key: str
    secret_key: str
    token: str | None


class EnvCredentials:
    """Static credentials from the environment, shaped as botocore's Credentials are used."""

    def __init__(self, frozen: FrozenCredentials) -> None:
        self._frozen = frozen

    async def get_frozen_credentials(self) -> FrozenCredentials:
        return self._frozen


@dataclass(frozen=True, slots=True)
class LightStart:
    region: str
    credentials: EnvCredentials


def light_start(config: Config, environ: Any = os.environ) -> LightStart | None:
    """What botocore's session would resolve for ``config``, when the environment alone
    settles it on the raw HTTP path; None where the session must be built."""
    url = config.endpoint_url or ""
    if config.engine != "lean" or config.http != "raw" or not url.startswith("http://"):
        return None
    key, secret = environ.get("AWS_ACCESS_KEY_ID"), environ.get("AWS_SECRET_ACCESS_KEY")
    if config.profile is not None or not key or not secret:
        return None
    # AWS_CREDENTIAL_EXPIRATION: botocore then refreshes them from the environment.
    if any(environ.get(name) for name in (*PROXY_VARIABLES, "AWS_CREDENTIAL_EXPIRATION")):
        return None
    if any(truthy(environ.get(name)) for name in REDIRECTING_ENV):
        return None
    profile = profile_section(environ)
    if profile is None or redirecting(profile):
        return None
    token = environ.get("AWS_SESSION_TOKEN") or environ.get("AWS_SECURITY_TOKEN") or None
    region = config.region or environ.get("AWS_DEFAULT_REGION") or profile.get("region") or "us-east-1"
    return LightStart(str(region), EnvCredentials(FrozenCredentials(key, secret, token)))


def profile_section(environ: Any) -> dict[str, Any] | None:
    """The config file's section for the profile botocore would pick ({} without a file);
    None where only botocore's session can say (a named profile the file lacks, a bad file)."""
    path = os.path.expandvars(os.path.expanduser(environ.get("AWS_CONFIG_FILE") or "~/.aws/config"))
    name = environ.get("AWS_DEFAULT_PROFILE") or environ.get("AWS_PROFILE")
    if not os.path.isfile(path):
        return None if name else {}
    from botocore.configloader import load_config  # ~10 ms; only with a config file

    try:
        profiles = load_config(path).get("profiles", {})
    except Exception:  # noqa: BLE001 - botocore's session will say what is wrong with it
        return None
    section = profiles.get(name or "default")
    if section is None:
        return None if name else {}
    return section if isinstance(section, dict) else None


def redirecting(profile: dict[str, Any]) -> bool:
    if any(truthy(profile.get(name)) for name in REDIRECTING):
        return True
    s3 = profile.get("s3") or {}
    return not isinstance(s3, dict) or any(name in s3 for name in REDIRECTING_S3)


def truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"
