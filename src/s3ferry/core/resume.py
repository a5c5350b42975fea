"""Resume decisions: which parts of an interrupted upload may stay, and which ranges of an
interrupted download are already in its temporary file. Pure, no I/O."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from s3ferry.core.parts import Part, part_count


@dataclass(frozen=True, slots=True)
class StoredPart:
    """A part the store already holds for an upload (from ListParts)."""

    number: int
    size: int
    etag: str  # normalized: lower-case hex, no quotes


def reusable(part: Part, stored: StoredPart | None, digest: bytes | None) -> bool:
    """May ``stored`` stand for ``part``? Only when it has the part's size and its ETag is the
    MD5 of the local bytes: a part from an older version of the file, or one cut at another
    part size, is sent again."""
    return stored is not None and digest is not None and stored.size == part.size \
        and stored.etag == digest.hex()


def worth_hashing(part: Part, stored: StoredPart | None) -> bool:
    """Hashing the local part is only worth it when a stored part could match it."""
    return stored is not None and stored.size == part.size


def fits_plan(stored: Iterable[StoredPart], size: int, part_size: int) -> bool:
    """Could these parts come from cutting ``size`` bytes at ``part_size``? An upload found
    by key alone (the journal is gone) is taken for ours only then; at least one part needed."""
    count = part_count(size, part_size)
    seen = False
    for part in stored:
        seen = True
        expected = min(part_size, size - (part.number - 1) * part_size)
        if not 1 <= part.number <= count or part.size != expected:
            return False
    return seen


class RangeSet:
    """Which of ``count`` ranges are done, one bit each: 10,000 ranges cost 1.25 KB."""

    def __init__(self, count: int, bits: bytes | None = None):
        self.count = count
        self._bits = bytearray((count + 7) // 8)
        if bits is not None and len(bits) == len(self._bits):
            self._bits[:] = bits
            if self._bits:  # bits past ``count`` mean nothing; drop them
                self._bits[-1] &= self._tail_mask()

    def _tail_mask(self) -> int:
        tail = self.count % 8
        return 0xFF if tail == 0 else (1 << tail) - 1

    def add(self, number: int) -> None:
        """Mark range ``number`` (1-based, as parts are numbered) done."""
        index = number - 1
        if not 0 <= index < self.count:
            raise ValueError(f"range {number} out of 1..{self.count}")
        self._bits[index // 8] |= 1 << (index % 8)

    def __contains__(self, number: object) -> bool:
        if not isinstance(number, int) or not 1 <= number <= self.count:
            return False
        index = number - 1
        return bool(self._bits[index // 8] >> (index % 8) & 1)

    def __len__(self) -> int:
        return sum(bin(b).count("1") for b in self._bits)

    def clear(self) -> None:
        self._bits[:] = bytes(len(self._bits))

    def encode(self) -> str:
        return self._bits.hex()

    @classmethod
    def decode(cls, text: str, count: int) -> RangeSet:
        """The inverse of :meth:`encode`; a malformed or mis-sized text gives an empty set."""
        try:
            raw = bytes.fromhex(text)
        except ValueError:
            raw = None
        return cls(count, raw)
