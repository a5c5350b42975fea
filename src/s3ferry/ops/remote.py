"""An existing object as operations see it: what a HEAD (or a listing entry) says of it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from s3ferry.core.checksums import etag_is_opaque
from s3ferry.core.etag import ETag, parse_etag
from s3ferry.core.locations import S3Location
from s3ferry.core.parts import Part
from s3ferry.ops.context import Context

# Headers that describe the object rather than the request, carried over to a copy
# (core/object_options.copy_params decides what an object option replaces).
CARRIED_HEADERS = ("ContentType", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage",
                   "Expires", "StorageClass")


@dataclass(frozen=True, slots=True)
class RemoteObject:
    loc: S3Location
    size: int
    etag_raw: str  # as the server sent it, for If-Match
    metadata: dict[str, str] | None  # None: not fetched (known from a listing)
    last_modified: datetime | None = None
    opaque: bool | None = None  # SSE-KMS/SSE-C: the ETag is no MD5. None: unknown (a listing)
    headers: dict[str, Any] = field(default_factory=dict)  # what describes the object: Content-Type, ...
    # Parsed once: a small get asks for it four times, and a tree has one object per file.
    _etag: ETag | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_etag", None if self.opaque else parse_etag(self.etag_raw))

    @property
    def etag(self) -> ETag | None:
        return self._etag


async def head(ctx: Context, loc: S3Location) -> RemoteObject:
    response = await ctx.store.head(loc)
    headers = {name: response[name] for name in CARRIED_HEADERS if response.get(name)}
    return RemoteObject(loc, int(response["ContentLength"]), response.get("ETag", ""),
                        dict(response.get("Metadata") or {}), response.get("LastModified"), etag_is_opaque(response),
                        headers)


async def read_into_buffer(ctx: Context, loc: S3Location, part: Part, if_match: str | None,
                           whole: bool) -> bytearray:
    """One ranged GET into one buffer of exactly the part's size: the part is the only copy
    held, and it can go on to UploadPart or stdout as is. Not retried here (the caller is)."""
    buffer = bytearray(part.size)

    async def fill(offset: int, chunks: list[bytes]) -> None:
        at = offset - part.offset
        for chunk in chunks:
            buffer[at:at + len(chunk)] = chunk
            at += len(chunk)

    await ctx.store.read_range(loc, part, fill, if_match=if_match, whole=whole)
    return buffer
