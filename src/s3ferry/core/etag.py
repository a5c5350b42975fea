"""ETag math: the single-PUT MD5 and the composite multipart ETag. Pure, no I/O."""

from __future__ import annotations

import base64
import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

_ETAG_RE = re.compile(r"^([0-9a-f]{32})(?:-([1-9][0-9]*))?$")


@dataclass(frozen=True, slots=True)
class ETag:
    """A parsed S3 ETag. ``parts`` is None for a single PUT, N for an ``-N`` multipart ETag."""

    digest: str
    parts: int | None

    @property
    def is_multipart(self) -> bool:
        return self.parts is not None

    def __str__(self) -> str:
        return self.digest if self.parts is None else f"{self.digest}-{self.parts}"


def normalize(raw: str | None) -> str:
    """Strip the quotes S3 puts around ETags (and the W/ of weak ones); lower-case."""
    text = (raw or "").strip()
    if text.startswith("W/"):
        text = text[2:]
    return text.strip('"').lower()


def parse_etag(raw: str | None) -> ETag | None:
    """Parse an ETag if it can be an MD5 (single) or composite MD5; None otherwise.

    SSE-KMS, SSE-C and some third-party stores return ETags that are not MD5s: those
    yield None, and callers must report the object as unverifiable.
    """
    match = _ETAG_RE.match(normalize(raw))
    if match is None:
        return None
    parts = match.group(2)
    return ETag(match.group(1), int(parts) if parts else None)


def single_etag(md5_digest: bytes) -> str:
    return md5_digest.hex()


def composite_etag(part_digests: Sequence[bytes]) -> str:
    """``md5(md5(p1) || ... || md5(pN))-N`` from the 16-byte binary part digests."""
    if not part_digests:
        raise ValueError("a multipart ETag needs at least one part")
    return f"{hashlib.md5(b''.join(part_digests)).hexdigest()}-{len(part_digests)}"


def content_md5(md5_digest: bytes) -> str:
    """The base64 form the Content-MD5 header wants."""
    return base64.b64encode(md5_digest).decode("ascii")


class CompositeBuilder:
    """Collects part digests as parts finish, in any order, and yields the ETag at the end.

    Holds 16 bytes per part (160 KB at the 10,000-part limit), never part data.
    """

    def __init__(self, part_count: int):
        self._digests: list[bytes | None] = [None] * part_count
        self._etags: list[str | None] = [None] * part_count

    def add(self, part_number: int, md5_digest: bytes, server_etag: str | None = None) -> None:
        """Record a part; ``server_etag`` is what CompleteMultipartUpload must be sent back."""
        self._digests[part_number - 1] = md5_digest
        self._etags[part_number - 1] = server_etag or md5_digest.hex()

    def part_etags(self) -> list[tuple[int, str]]:
        return [(i + 1, e) for i, e in enumerate(self._etags) if e is not None]

    def etag(self) -> str:
        missing = [i + 1 for i, d in enumerate(self._digests) if d is None]
        if missing:
            raise ValueError(f"parts missing from the ETag: {missing[:5]}")
        return composite_etag(self._digests)  # type: ignore[arg-type]

    def digests(self) -> list[bytes]:
        return [d for d in self._digests if d is not None]


def etag_of_bytes(data: bytes, part_size: int | None) -> str:
    """The ETag S3 gives ``data`` uploaded whole (part_size None) or in parts of part_size."""
    if part_size is None:
        return single_etag(hashlib.md5(data).digest())
    chunks: Iterable[bytes] = (data[i:i + part_size] for i in range(0, max(len(data), 1), part_size))
    return composite_etag([hashlib.md5(c).digest() for c in chunks])
