"""The part layout of an existing object: what our metadata says, and which part sizes could
have made a multipart ETag when nothing says (the candidates verify hashes in one pass). Pure.

A multipart ETag ``md5(md5(p1)+...+md5(pN))-N`` says N but not the part size. The part sizes
consistent with an object of ``size`` bytes are those with ``ceil(size / p) == N``. Tools use
a few defaults (aws-cli/boto3 8 MiB, s3cmd 15 MiB, rclone/Go SDK 5 MiB, ...) and otherwise
MiB-aligned sizes, so those are the candidates, common defaults first, capped.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from s3ferry.core.config import MAX_PART_SIZE, META_PART_SIZE, MIN_PART_SIZE, MiB
from s3ferry.core.etag import ETag
from s3ferry.core.parts import part_count

# Part sizes of the usual tools, most common first (aws-cli/boto3 8, rclone/Go 5, s3cmd 15,
# 16, 50, 64, 100 MiB).
COMMON_PART_SIZES: tuple[int, ...] = tuple(m * MiB for m in (8, 5, 15, 16, 50, 64, 100))
MAX_CANDIDATES = 64

@dataclass(frozen=True, slots=True)
class Layout:
    part_size: int | None  # None: a single PUT, or unknown for a multipart object
    source: str  # "single", "metadata", "part-1", "unknown"

    @property
    def known(self) -> bool:
        return self.source != "unknown"


SINGLE = Layout(None, "single")
UNKNOWN = Layout(None, "unknown")


def consistent(size: int, part_size: int, parts: int) -> bool:
    """Would ``size`` bytes cut at ``part_size`` give exactly ``parts`` parts?"""
    return part_size > 0 and part_count(size, part_size) == parts


def from_metadata(size: int, etag: ETag, metadata: Mapping[str, str]) -> Layout | None:
    raw = metadata.get(META_PART_SIZE)
    if raw is None or not raw.isdigit() or etag.parts is None:
        return None
    part_size = int(raw)
    return Layout(part_size, "metadata") if consistent(size, part_size, etag.parts) else None


@dataclass(frozen=True, slots=True)
class Candidates:
    sizes: tuple[int, ...]  # to try, in order
    total: int  # how many were consistent before the cap

    @property
    def capped(self) -> bool:
        return self.total > len(self.sizes)

    def describe(self) -> str:
        text = f"tried {len(self.sizes)} candidate part size(s)"
        return text + f" (capped from {self.total})" if self.capped else text


def size_range(size: int, parts: int) -> tuple[int, int] | None:
    """Inclusive bounds of the part sizes p with ceil(size / p) == parts (any p, bytes)."""
    if parts < 1 or size < 0:
        return None
    if parts == 1:
        return (max(size, 1), MAX_PART_SIZE * 1024)  # any p >= size: one part
    if size < parts:  # every part needs at least one byte
        return None
    low = -(-size // parts)  # p * parts >= size
    high = (size - 1) // (parts - 1)  # p * (parts - 1) < size
    return (low, high) if low <= high else None


def candidate_part_sizes(size: int, parts: int, *, unit: int = MiB, minimum: int = MIN_PART_SIZE,
                         maximum: int = MAX_PART_SIZE, common: Sequence[int] = COMMON_PART_SIZES,
                         limit: int = MAX_CANDIDATES) -> Candidates:
    """Every unit-aligned p in [minimum, maximum] with ceil(size / p) == parts, plus the even
    split ceil(size / parts) (what tools that divide a file evenly use), common defaults
    first, then powers of two, then ascending; at most ``limit``.

    One part is a special case: every p >= size gives the same ETag, so one candidate does.
    """
    bounds = size_range(size, parts)
    if bounds is None:
        return Candidates((), 0)
    if parts == 1:
        return Candidates((bounds[0],), 1)
    low, high = max(bounds[0], minimum), min(bounds[1], maximum)
    if low > high:
        return Candidates((), 0)
    first, last = -(-low // unit), high // unit
    aligned_count = max(0, last - first + 1)
    even = bounds[0]
    extra = 0 if (even % unit == 0 or not low <= even <= high) else 1
    total = aligned_count + extra

    ordered: list[int] = [p for p in common if low <= p <= high and p % unit == 0]
    power = unit
    while power <= high and len(ordered) < limit:
        if power >= low and power not in ordered:
            ordered.append(power)
        power *= 2
    seen = set(ordered)
    k = first
    while k <= last and len(ordered) < limit:
        if k * unit not in seen:
            ordered.append(k * unit)
        k += 1
    if extra and len(ordered) < limit:
        ordered.append(even)
    return Candidates(tuple(ordered[:limit]), total)


# How verify found a layout, as its verdict line says it.
LAYOUT_HOW = {"metadata": "from metadata", "part-1": "from part 1", "guessed": "guessed"}


def layout_text(part_size: int | None, size: int, how: str) -> str:
    """"layout: single PUT" or "layout: 8 MiB × 38, from metadata": what a verdict was
    computed with, in the words of verify's output."""
    if part_size is None:
        return "layout: single PUT"
    unit = f"{part_size // MiB} MiB" if part_size % MiB == 0 else f"{part_size} bytes"
    count = max(1, -(-size // part_size))
    return f"layout: {unit} × {count}, {LAYOUT_HOW.get(how, how)}"


def part_text(part_size: int | None) -> str:
    if part_size is None:
        return "single PUT"
    if part_size % MiB == 0:
        return f"parts of {part_size // MiB} MiB"
    return f"parts of {part_size} bytes"
