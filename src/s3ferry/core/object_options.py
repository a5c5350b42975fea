"""Object options: the headers, metadata, tags, storage class, encryption and ACL a new object
is written with (put, cp, mv, sync). Pure: parsing the flags and building the S3 parameters.

A copy keeps the source's metadata, tags and storage class unless an option says otherwise.
"""

from __future__ import annotations

import mimetypes
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlencode

from s3ferry.core.errors import ConfigError

STORAGE_CLASSES = ("STANDARD", "REDUCED_REDUNDANCY", "STANDARD_IA", "ONEZONE_IA", "INTELLIGENT_TIERING",
                   "GLACIER", "DEEP_ARCHIVE", "GLACIER_IR", "OUTPOSTS", "SNOW", "EXPRESS_ONEZONE")
SSE_MODES = ("AES256", "aws:kms", "aws:kms:dsse")
CANNED_ACLS = ("private", "public-read", "public-read-write", "authenticated-read", "aws-exec-read",
               "bucket-owner-read", "bucket-owner-full-control")
MAX_TAGS = 10  # S3's limit per object
DEFAULT_CONTENT_TYPE = "application/octet-stream"
# Header-like options and the S3 parameter each becomes.
_HEADERS = {"content_type": "ContentType", "content_disposition": "ContentDisposition",
            "cache_control": "CacheControl", "content_encoding": "ContentEncoding"}


@dataclass(frozen=True, slots=True)
class ObjectOptions:
    """What the user asked for; None / empty means "not given" (guess, or keep the source's)."""

    content_type: str | None = None
    content_disposition: str | None = None
    cache_control: str | None = None
    content_encoding: str | None = None
    metadata: tuple[tuple[str, str], ...] = ()
    tags: tuple[tuple[str, str], ...] = ()
    storage_class: str | None = None
    sse: str | None = None
    sse_kms_key_id: str | None = None
    acl: str | None = None

    def __post_init__(self) -> None:
        if self.storage_class is not None and self.storage_class not in STORAGE_CLASSES:
            raise ConfigError(f"unknown storage class {self.storage_class!r} (one of {', '.join(STORAGE_CLASSES)})")
        if self.sse is not None and self.sse not in SSE_MODES:
            raise ConfigError(f"unknown --sse {self.sse!r} (one of {', '.join(SSE_MODES)})")
        if self.sse_kms_key_id is not None and self.sse not in ("aws:kms", "aws:kms:dsse"):
            raise ConfigError("--sse-kms-key-id needs --sse aws:kms")
        if self.acl is not None and self.acl not in CANNED_ACLS:
            raise ConfigError(f"unknown --acl {self.acl!r} (one of {', '.join(CANNED_ACLS)})")
        if len(self.tags) > MAX_TAGS:
            raise ConfigError(f"at most {MAX_TAGS} tags per object, got {len(self.tags)}")

    @property
    def empty(self) -> bool:
        return self == ObjectOptions()


def parse_pairs(values: Iterable[str], what: str) -> tuple[tuple[str, str], ...]:
    """``k=v`` flags (repeatable) into pairs; a key given twice keeps the last value."""
    pairs: dict[str, str] = {}
    for text in values:
        key, sep, value = text.partition("=")
        key = key.strip()
        if not sep or not key:
            raise ConfigError(f"--{what} takes KEY=VALUE, got {text!r}")
        pairs[key] = value
    return tuple(pairs.items())


def parse_metadata(values: Iterable[str]) -> tuple[tuple[str, str], ...]:
    """User metadata travels in ``x-amz-meta-*`` headers: ASCII only, keys lower-cased (S3
    lower-cases them anyway, so a round trip compares equal)."""
    pairs = parse_pairs(values, "metadata")
    for key, value in pairs:
        if not (key.isascii() and value.isascii()) or any(c in key for c in " :\r\n") or "\n" in value:
            raise ConfigError(f"--metadata {key}={value}: keys and values must be ASCII header text")
    return tuple((k.lower(), v) for k, v in pairs)


def guess_content_type(name: str) -> str:
    return mimetypes.guess_type(name)[0] or DEFAULT_CONTENT_TYPE


def tagging(tags: Iterable[tuple[str, str]]) -> str:
    """The ``Tagging`` parameter of PutObject/CreateMultipartUpload: a URL-encoded query."""
    return urlencode(list(tags))


def tags_from_tagging(text: str) -> tuple[tuple[str, str], ...]:
    return tuple(parse_qsl(text, keep_blank_values=True))


def tag_set(tags: Iterable[tuple[str, str]]) -> list[dict[str, str]]:
    """The TagSet of PutObjectTagging / GetObjectTagging."""
    return [{"Key": k, "Value": v} for k, v in tags]


def write_params(options: ObjectOptions, name: str) -> dict[str, Any]:
    """Parameters for a new object written from local bytes (PutObject, CreateMultipartUpload):
    the Content-Type is guessed from ``name`` unless given."""
    params = _explicit(options)
    params.setdefault("ContentType", guess_content_type(name))
    return params


def copy_params(options: ObjectOptions, source: Mapping[str, Any], source_tags: Iterable[tuple[str, str]],
                *, tags_copied_by_store: bool) -> dict[str, Any]:
    """Parameters for a copy: the source's headers, metadata, tags and storage class, each
    replaced only by an option that was given. ``source`` is the source's HeadObject reply.
    ``tags_copied_by_store``: CopyObject copies tags itself (TaggingDirective COPY); a
    multipart copy or a stream starts the object afresh and must send them."""
    params: dict[str, Any] = {}
    for name in (*_HEADERS.values(), "ContentLanguage", "Expires"):
        if source.get(name):
            params[name] = source[name]
    if source.get("StorageClass") and source["StorageClass"] != "STANDARD":
        params["StorageClass"] = source["StorageClass"]
    params["Metadata"] = dict(source.get("Metadata") or {})
    explicit = _explicit(options)
    if options.metadata:  # given: replaces the source's user metadata, as aws-cli does
        params["Metadata"] = dict(options.metadata)
    explicit.pop("Metadata", None)
    if not options.tags and not tags_copied_by_store and source_tags:
        params["Tagging"] = tagging(source_tags)
    params.update(explicit)
    if options.tags and tags_copied_by_store:
        params["TaggingDirective"] = "REPLACE"
    return params


def _explicit(options: ObjectOptions) -> dict[str, Any]:
    params: dict[str, Any] = {param: getattr(options, name) for name, param in _HEADERS.items()
                              if getattr(options, name) is not None}
    if options.metadata:
        params["Metadata"] = dict(options.metadata)
    if options.tags:
        params["Tagging"] = tagging(options.tags)
    if options.storage_class:
        params["StorageClass"] = options.storage_class
    if options.sse:
        params["ServerSideEncryption"] = options.sse
    if options.sse_kms_key_id:
        params["SSEKMSKeyId"] = options.sse_kms_key_id
    if options.acl:
        params["ACL"] = options.acl
    return params
