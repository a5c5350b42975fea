"""Part planning: which byte ranges make up a transfer. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from s3ferry.core.config import MAX_PART_SIZE, MAX_PARTS, MIN_PART_SIZE


@dataclass(frozen=True, slots=True)
class Part:
    number: int  # 1-based, as S3 numbers parts
    offset: int
    size: int

    @property
    def end(self) -> int:
        """Exclusive end offset."""
        return self.offset + self.size

    @property
    def http_range(self) -> str:
        return f"bytes={self.offset}-{self.end - 1}"


def part_count(size: int, part_size: int) -> int:
    """Number of parts ``size`` bytes take at ``part_size`` (a zero-byte file is one part)."""
    return max(1, -(-size // part_size))


def choose_part_size(size: int, requested: int) -> int:
    """The part size to upload ``size`` bytes with: ``requested`` unless that needs more than
    10,000 parts, in which case it doubles until it fits.

    Deterministic from (size, requested) so verify can find it again, and the same rule
    s3transfer applies, so aws-cli uploads land on the same candidates.
    """
    part_size = max(requested, MIN_PART_SIZE)
    while part_count(size, part_size) > MAX_PARTS:
        part_size *= 2
    if part_size > MAX_PART_SIZE:
        raise ValueError(f"{size} bytes cannot be uploaded in {MAX_PARTS} parts of at most 5 GiB")
    return part_size


def plan_parts(size: int, part_size: int) -> Iterator[Part]:
    """The parts of a ``size``-byte object, lazily, so 10,000 parts cost no memory up front."""
    for index in range(part_count(size, part_size)):
        offset = index * part_size
        yield Part(index + 1, offset, min(part_size, size - offset))


def use_multipart(size: int, threshold: int) -> bool:
    """aws-cli's rule: a file of at least the threshold goes multipart."""
    return size >= threshold
