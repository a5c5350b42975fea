"""Where bytes live: a local path or an ``s3://bucket/key`` URL. Pure parsing, no I/O."""

from __future__ import annotations

import re
from dataclasses import dataclass

from s3ferry.core.errors import ConfigError

# S3 bucket naming rules (3-63 chars, lower-case, digits, dots, hyphens), loosened to allow
# the underscores and upper case some S3-compatible stores accept.
_BUCKET_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{1,61}[A-Za-z0-9]$")


# The names AWS itself accepts: 3-63 lower-case letters, digits, dots and hyphens.
_AWS_BUCKET_RE = re.compile(r"^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$")


def invalid_bucket_name(name: str) -> str | None:
    """Why AWS would reject ``name`` as a bucket name, or None. Parsing stays looser (some
    stores accept upper case and underscores); this names the cause when a store says such a
    bucket does not exist, instead of leaving the user to look for a typo."""
    if _AWS_BUCKET_RE.match(name) and ".." not in name:
        return None
    return (f"invalid bucket name {name!r}: S3 bucket names are 3-63 lower-case letters, digits, "
            "dots and hyphens")


@dataclass(frozen=True, slots=True)
class S3Location:
    bucket: str
    key: str  # "" for the bucket root; may end in "/" for a prefix

    @property
    def is_prefix(self) -> bool:
        return self.key == "" or self.key.endswith("/")

    def as_prefix(self) -> S3Location:
        """This location read as a folder: ``s3://b/data`` means ``s3://b/data/``."""
        return self if self.is_prefix else S3Location(self.bucket, self.key + "/")

    def child(self, relative: str) -> S3Location:
        """The key for ``relative`` (a /-separated path) under this prefix."""
        return S3Location(self.bucket, self.as_prefix().key + relative)

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.key}"


def is_s3_url(text: str) -> bool:
    return text.lower().startswith("s3://")


def parse_s3_url(text: str) -> S3Location:
    """Parse ``s3://bucket/key``. Keys are kept byte for byte: spaces, ``+``, ``%``, ``//``."""
    if not is_s3_url(text):
        raise ConfigError(f"not an S3 URL (expected s3://bucket/key): {text!r}")
    rest = text[5:]
    bucket, _, key = rest.partition("/")
    if not _BUCKET_RE.match(bucket) or ".." in bucket:
        raise ConfigError(f"invalid bucket name {bucket!r} in {text!r}")
    if "\x00" in key:
        raise ConfigError(f"key contains a NUL byte: {text!r}")
    return S3Location(bucket, key)


def safe_relative_path(key: str, prefix: str) -> str:
    """The local relative path for ``key`` listed under ``prefix``, refusing anything that
    would escape the destination folder (``..`` segments, absolute paths, NUL bytes)."""
    relative = key[len(prefix):] if key.startswith(prefix) else key
    if "\x00" in relative:
        raise ConfigError(f"key contains a NUL byte: {key!r}")
    segments = relative.split("/")
    if relative.startswith("/") or any(s == ".." for s in segments):
        raise ConfigError(f"key would write outside the destination: {key!r}")
    cleaned = [s for s in segments if s not in ("", ".")]
    if not cleaned:
        raise ConfigError(f"key names no file under the prefix: {key!r}")
    return "/".join(cleaned)


def trash_folder(prefix: str | None) -> str | None:
    """A --trash prefix is always a folder below the destination: "old" and "/old/" both mean
    "old/" (never keys like "olda.txt"). None stays None (delete outright)."""
    if prefix is None:
        return None
    folder = prefix.strip("/")
    if not folder:
        raise ConfigError(f"the trash must be a folder name, got {prefix!r}")
    return folder + "/"
