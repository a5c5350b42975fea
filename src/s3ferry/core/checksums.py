"""Store-side checksums: the full-object CRC64NVME our uploads can send, and the checksums a
store may keep (``HeadObject(ChecksumMode=ENABLED)``), for objects whose ETag proves nothing.

Pure except for :meth:`Algorithm.of_file`, which reads a local file and is meant for a worker thread.
awscrt does the CRC arithmetic, including combining part CRCs into the whole file's, so parts
can be checksummed in parallel and in any order. It is imported on first use (~40 ms of
start-up that a run without CRCs never needs).
"""

from __future__ import annotations

import base64
import hashlib
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType
from typing import Any

FULL_OBJECT = "FULL_OBJECT"
# A SSE-KMS or SSE-C object's ETag is not the MD5 of its bytes, even when it looks like one.
_OPAQUE_ETAG_SSE = ("aws:kms", "aws:kms:dsse")
_READ_BLOCK = 8 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class Algorithm:
    name: str  # as S3 spells it: CRC64NVME, CRC32, CRC32C, SHA256, SHA1
    crc: str | None = None  # the awscrt.checksums function
    width: int = 0  # bytes in a CRC's big-endian encoding
    digest: str | None = None  # hashlib name for the SHA family

    def of_file(self, path: Path) -> str:
        """The base64 value S3 would store for the whole file."""
        with open(path, "rb") as handle:
            if self.crc is not None:
                crc: Callable[[Any, int], int] = getattr(crt(), self.crc)
                value = 0
                while block := handle.read(_READ_BLOCK):
                    value = crc(block, value)
                return encode_crc(value, self.width)
            assert self.digest is not None
            return base64.b64encode(hashlib.file_digest(handle, self.digest).digest()).decode()


ALGORITHMS = {a.name: a for a in (
    Algorithm("CRC64NVME", "crc64nvme", 8),
    Algorithm("CRC32C", "crc32c", 4),
    Algorithm("CRC32", "crc32", 4),
    Algorithm("SHA256", digest="sha256"),
    Algorithm("SHA1", digest="sha1"),
)}


def crt() -> ModuleType:
    from awscrt import checksums

    return checksums


def encode_crc(value: int, width: int = 8) -> str:
    return base64.b64encode(value.to_bytes(width, "big")).decode()


def crc64nvme(data: bytes | memoryview, previous: int = 0) -> int:
    """``previous``: the CRC of the bytes before ``data``, to checksum a stream piece by piece."""
    return crt().crc64nvme(data, previous)


class CrcBuilder:
    """The whole object's CRC64NVME from its parts' CRCs, which arrive in any order."""

    def __init__(self, parts: int):
        self._parts: list[tuple[int, int] | None] = [None] * parts

    def add(self, number: int, crc: int, size: int) -> None:
        self._parts[number - 1] = (crc, size)

    def _entries(self) -> list[tuple[int, int]]:
        if any(entry is None for entry in self._parts):
            raise ValueError("a part's CRC is missing")
        return self._parts  # type: ignore[return-value]

    def part_values(self) -> list[str]:
        return [encode_crc(crc) for crc, _ in self._entries()]

    def value(self) -> str:
        total = 0
        for crc, size in self._entries():
            total = crt().combine_crc64nvme(total, crc, size)
        return encode_crc(total)


# --checksum modes whose multipart uploads are COMPOSITE (S3's default type for them): each
# part carries its own CRC, and Complete must list every part's, or S3 refuses it
# ("The upload was created using a crc32c checksum. The complete request must include the
# checksum for each part.").
COMPOSITE_MODES = {"crc32": "CRC32", "crc32c": "CRC32C"}


class PartChecksums:
    """Each part's checksum of a COMPOSITE upload, base64 as S3 spells it, kept beside its
    ETag for Complete's part list. Parts arrive in any order."""

    def __init__(self, name: str):
        self.algorithm = ALGORITHMS[name]
        self.member = f"Checksum{name}"  # UploadPart's, CompletedPart's and ListParts' member
        self._values: dict[int, str] = {}

    def of(self, data: bytes | memoryview, previous: int = 0) -> int:
        """The CRC of ``data``, continuing from ``previous`` (the bytes before it)."""
        if self.algorithm.name == "CRC32":
            # zlib's CRC32 is the same function at ~0.48 CPU-s/GiB here, awscrt's ~0.59
            # (benchmarks/profile.md, partsums); awscrt has the only CRC32C.
            return zlib.crc32(data, previous)
        fn: Callable[[Any, int], int] = getattr(crt(), self.algorithm.crc)  # type: ignore[arg-type]
        return fn(data, previous)

    def encode(self, crc: int) -> str:
        return encode_crc(crc, self.algorithm.width)

    def add(self, number: int, value: str) -> None:
        self._values[number] = value

    def get(self, number: int) -> str | None:
        return self._values.get(number)

    def __len__(self) -> int:
        return len(self._values)

    def complete(self, parts: list[dict[str, Any]]) -> None:
        """Give each of Complete's ``parts`` its checksum member; a part without one is a bug
        upstream, and S3 would refuse the whole Complete for it: say which."""
        for entry in parts:
            value = self._values.get(entry["PartNumber"])
            if value is None:
                raise ValueError(f"part {entry['PartNumber']}: no {self.algorithm.name} checksum to complete with")
            entry[self.member] = value


@dataclass(frozen=True, slots=True)
class StoredChecksum:
    algorithm: Algorithm
    value: str  # base64, as the store sent it

    def __str__(self) -> str:
        return f"{self.algorithm.name} {self.value}"


def full_object_checksum(head: Mapping[str, object]) -> StoredChecksum | None:
    """The strongest checksum of the whole object that a HeadObject(ChecksumMode=ENABLED)
    reply carries. A COMPOSITE checksum (``value-N``) covers parts, not the object: ignored."""
    if head.get("ChecksumType") not in (None, FULL_OBJECT):
        return None
    for name, algorithm in ALGORITHMS.items():
        value = head.get(f"Checksum{name}")
        if isinstance(value, str) and value and "-" not in value:
            return StoredChecksum(algorithm, value)
    return None


def etag_is_opaque(head: Mapping[str, object]) -> bool:
    """SSE-KMS and SSE-C objects have ETags that are not MD5s of their bytes."""
    return head.get("ServerSideEncryption") in _OPAQUE_ETAG_SSE or bool(head.get("SSECustomerAlgorithm"))
