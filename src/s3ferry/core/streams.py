"""Streams: the part size for stdin of unknown length, and the ETags of bytes written to
stdout in order. Pure; the I/O is in ops/stream.py and local/streams.py.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from s3ferry.core.config import MAX_PARTS, MIN_PART_SIZE
from s3ferry.core.errors import ConfigError
from s3ferry.core.etag import composite_etag
from s3ferry.core.parts import choose_part_size


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


class InOrderHasher:
    """The ETags a stream read in order would have: its whole MD5 (a single-PUT ETag) and
    the composite ETag at each candidate part size, in one pass, keeping 16 bytes per part
    per candidate. ``cat`` checks what it wrote with it without holding the object."""

    def __init__(self, part_sizes: Sequence[int], whole: bool = True):
        self._whole = hashlib.md5() if whole else None
        self._layouts = {size: _Layout(size) for size in part_sizes}

    def update(self, data: bytes | memoryview) -> None:
        view = memoryview(data)
        if self._whole is not None:
            self._whole.update(view)
        for layout in self._layouts.values():
            layout.update(view)

    def etags(self) -> dict[int | None, str]:
        """None: the whole-stream MD5; each part size: its composite ETag."""
        found: dict[int | None, str] = {size: layout.etag() for size, layout in self._layouts.items()}
        if self._whole is not None:
            found[None] = self._whole.hexdigest()
        return found


class _Layout:
    def __init__(self, part_size: int):
        self.part_size = part_size
        self.current = hashlib.md5()
        self.filled = 0
        self.digests: list[bytes] = []

    def update(self, view: memoryview) -> None:
        while view:
            take = min(len(view), self.part_size - self.filled)
            self.current.update(view[:take])
            self.filled += take
            view = view[take:]
            if self.filled == self.part_size:
                self.digests.append(self.current.digest())
                self.current, self.filled = hashlib.md5(), 0

    def etag(self) -> str:
        digests = self.digests + ([self.current.digest()] if self.filled or not self.digests else [])
        return composite_etag(digests)
