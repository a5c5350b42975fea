"""What ls, du, rm, cp and mv decide, without doing it: sizes for people, per-prefix sums over
a sorted listing in constant memory, delete batches, whether to ask before deleting, and
which key a copy lands on. Pure.
"""

from __future__ import annotations

import enum
from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from s3ferry.core.config import DELETE_BATCH
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import S3Location

_UNITS = ("B", "KiB", "MiB", "GiB", "TiB", "PiB")


def human_size(size: int) -> str:
    """1536 -> '1.5KiB'; binary units, one decimal below 10."""
    value = float(size)
    for unit in _UNITS:
        if value < 1024 or unit == _UNITS[-1]:
            if unit == "B":
                return f"{int(value)}B"
            return f"{value:.1f}{unit}" if value < 10 else f"{value:.0f}{unit}"
        value /= 1024
    raise AssertionError("unreachable")


@dataclass(frozen=True, slots=True)
class Entry:
    """One line of ``ls``: an object, or a common prefix (``is_prefix``) when not recursive."""

    bucket: str
    key: str
    size: int = 0
    last_modified: datetime | None = None
    etag: str = ""
    storage_class: str = ""
    is_prefix: bool = False

    def as_dict(self) -> dict[str, Any]:
        if self.is_prefix:
            return {"url": f"s3://{self.bucket}/{self.key}", "prefix": self.key}
        return {"url": f"s3://{self.bucket}/{self.key}", "key": self.key, "size": self.size,
                "last_modified": self.last_modified.isoformat() if self.last_modified else None,
                "etag": self.etag, "storage_class": self.storage_class or "STANDARD"}

    def line(self, human: bool) -> str:
        if self.is_prefix:
            return f"{'PRE':>30}  {'':>12}  {self.key}"
        size = human_size(self.size) if human else str(self.size)
        stamp = f"{self.last_modified:%Y-%m-%d %H:%M:%S}" if self.last_modified else "-"
        return f"{stamp:19}  {size:>10}  {self.etag:36}  {self.storage_class or 'STANDARD':12}  {self.key}"


def group_of(key: str, prefix: str) -> str:
    """The per-prefix group ``du`` counts ``key`` under: the first path segment below
    ``prefix`` (with its slash), or "" for an object directly under it."""
    rest = key[len(prefix):]
    head, slash, _ = rest.partition("/")
    return prefix + head + "/" if slash else prefix


@dataclass
class DuTotals:
    prefix: str
    objects: int = 0
    bytes: int = 0


@dataclass
class DuGrouper:
    """Sums a listing per first-level prefix in constant memory. ListObjectsV2 returns keys in
    byte order, so all keys of one group are contiguous, except the objects directly under
    the prefix, which interleave with the groups and are summed on their own."""

    prefix: str
    total: DuTotals = field(init=False)
    direct: DuTotals = field(init=False)
    _current: DuTotals | None = None

    def __post_init__(self) -> None:
        self.total = DuTotals(self.prefix)
        self.direct = DuTotals(self.prefix + " (objects directly here)")

    def add(self, key: str, size: int) -> DuTotals | None:
        """Count one object; returns a group the moment it is complete."""
        self.total.objects += 1
        self.total.bytes += size
        group = group_of(key, self.prefix)
        if group == self.prefix:
            self.direct.objects += 1
            self.direct.bytes += size
            return None
        finished = None
        if self._current is None or self._current.prefix != group:
            finished, self._current = self._current, DuTotals(group)
        self._current.objects += 1
        self._current.bytes += size
        return finished

    def finish(self) -> Iterator[DuTotals]:
        if self._current is not None:
            yield self._current
        if self.direct.objects:
            yield self.direct


def batches(keys: Iterable[str], size: int = DELETE_BATCH) -> Iterator[list[str]]:
    """Keys in lists of at most ``size``: a DeleteObjects call each, one batch in memory."""
    batch: list[str] = []
    for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


async def batches_async(keys: AsyncIterator[str], size: int = DELETE_BATCH) -> AsyncIterator[list[str]]:
    """:func:`batches` over an async stream of keys (a listing)."""
    batch: list[str] = []
    async for key in keys:
        batch.append(key)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


class Consent(str, enum.Enum):
    PROCEED = "proceed"
    ASK = "ask"
    REFUSE = "refuse"
    DRY_RUN = "dry-run"


def delete_consent(*, yes: bool, dry_run: bool, interactive: bool) -> Consent:
    """rm deletes only with ``--yes`` or a person answering on a terminal; a script without
    ``--yes`` is refused rather than left waiting on a prompt nobody sees."""
    if dry_run:
        return Consent.DRY_RUN
    if yes:
        return Consent.PROCEED
    return Consent.ASK if interactive else Consent.REFUSE


def copy_target(source: S3Location, dest: S3Location, key: str) -> S3Location:
    """Where ``key`` (listed under ``source``) lands below ``dest``. One object into a prefix
    keeps its name, as ``put FILE s3://b/prefix/`` does; a prefix maps onto a prefix."""
    if not source.is_prefix:
        if dest.is_prefix:
            return dest.child(key.rsplit("/", 1)[-1])
        return dest
    relative = key[len(source.key):]
    if not relative:
        raise ConfigError(f"key names no object under the prefix: {key!r}")
    base = dest if dest.is_prefix else S3Location(dest.bucket, dest.key + "/")
    return S3Location(base.bucket, base.key + relative)


def overlapping(source: S3Location, dest: S3Location) -> bool:
    """A recursive copy or move into a prefix inside its own source would list its own output."""
    if source.bucket != dest.bucket or not source.is_prefix:
        return False
    return (dest.key if dest.is_prefix else dest.key + "/").startswith(source.key)
