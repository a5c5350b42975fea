"""The AWS profile's settings (config and credentials files), as botocore reads them, for
``config show``. Only reading: credentials are never resolved or sent anywhere here."""

from __future__ import annotations

from typing import Any

from botocore.exceptions import ProfileNotFound

from s3ferry.core.errors import ConfigError


def profile_values(name: str | None) -> dict[str, str]:
    """The keys of profile ``name`` (None: the default), nested sections flattened as
    ``s3.addressing_style``. A missing default profile is empty; a named one is an error."""
    from botocore.session import Session  # ~0.2 CPU-s: only for the command that asks

    try:
        scoped: dict[str, Any] = Session(profile=name).get_scoped_config()
    except ProfileNotFound as exc:
        raise ConfigError(str(exc)) from None
    flat: dict[str, str] = {}
    for key, value in scoped.items():
        if isinstance(value, dict):
            flat.update({f"{key}.{inner}": str(v) for inner, v in value.items()})
        else:
            flat[key] = str(value)
    return flat
