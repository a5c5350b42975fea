"""Streams of unknown or sequential order: cutting stdin into parts, and putting ranges that
arrive out of order back in order for stdout. Pure bookkeeping; the I/O is in ops/stream.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ..config import MAX_PARTS, MIN_PART_SIZE
from ..errors import ConfigError
from ..planning import choose_part_size


def stream_part_size(requested: int, expected_size: int | None) -> int:
    """The part size for a stream of unknown length. All parts but the last have one size (so
    the ETag's layout is the one recorded in the metadata), and there are at most 10,000 of
    them: a stream is capped at 10,000 x part size. With ``--expected-size`` the part size
    grows, as for a file, until the expected size fits."""
    size = max(requested, MIN_PART_SIZE)
    if expected_size is not None:
        size = choose_part_size(expected_size, size)
    return size


def check_part_number(number: int, part_size: int) -> None:
    """A stream longer than 10,000 parts cannot be uploaded at this part size."""
    if number > MAX_PARTS:
        raise ConfigError(f"the input is longer than {MAX_PARTS} parts of {part_size} bytes; "
                          f"pass --expected-size (or a larger --part-size)")


@dataclass
class PartFiller:
    """Fills one part's buffer from reads of any size. ``want()`` is how many more bytes the
    part takes; ``add(n)`` records a read of n bytes (0: end of input)."""

    size: int
    filled: int = 0
    ended: bool = False

    def want(self) -> int:
        return self.size - self.filled

    def add(self, count: int) -> None:
        if count < 0 or count > self.want():
            raise ValueError(f"a read of {count} bytes into a part with {self.want()} free")
        if count == 0:
            self.ended = True
        self.filled += count

    @property
    def full(self) -> bool:
        return self.filled == self.size

    @property
    def done(self) -> bool:
        return self.full or self.ended


def single_put(first_part_filled: int, part_size: int, input_ended: bool) -> bool:
    """The stream ended inside its first part (short of a whole part): one PutObject, as for
    a small file. A first part exactly full could be followed by more, so it starts a multipart
    upload unless the end of input was seen too."""
    return input_ended and first_part_filled <= part_size


@dataclass
class ReorderWindow:
    """Ranges fetched in parallel, written in order, with at most ``window`` ranges held.

    A range may start only while it is within ``window`` of the next one to write, so the
    buffer holds at most ``window`` ranges however the fetches race (memory: window x range
    size). ``put`` stores an arrived range; ``pop_ready`` hands back the in-order run that
    can be written now."""

    count: int
    window: int
    next_out: int = 0
    _held: dict[int, object] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.window < 1:
            raise ValueError("the window must hold at least one range")

    def may_start(self, index: int) -> bool:
        return index < self.next_out + self.window

    def put(self, index: int, data: object) -> None:
        if not self.next_out <= index < self.count or index in self._held:
            raise ValueError(f"range {index} is not awaited")
        if not self.may_start(index):
            raise ValueError(f"range {index} is outside the window at {self.next_out}")
        self._held[index] = data

    def pop_ready(self) -> list[object]:
        ready = []
        while self.next_out in self._held:
            ready.append(self._held.pop(self.next_out))
            self.next_out += 1
        return ready

    @property
    def held(self) -> int:
        return len(self._held)

    @property
    def finished(self) -> bool:
        return self.next_out == self.count
