"""Shards of a migration, pure: key ranges, how to cut a key space into them, manifests, and
what a shard reports back.

A shard holds the keys k below one source prefix with ``after < k <= upto`` (relative keys,
UTF-8 byte order, None unbounded). Exclusive below and inclusive above, so that *any* sorted
list of boundaries (real keys, delimiter prefixes, made-up strings) partitions the key space
exactly: every key lands in exactly one shard, whatever the boundaries are. ``after`` is
ListObjectsV2's ``StartAfter`` as it is, and both sides of a sync list the same relative range,
so a shard's merge-join, skips and deletes see only its own keys.

Cutting never lists all keys into memory: the driver groups the delimiter prefixes it sees
(:func:`cut_units`), or streams the listing and cuts a boundary every so many keys
(:class:`StreamCutter`), handing each shard out as soon as it is cut. A manifest (CSV or S3
Inventory, core.manifests) replaces the listing: its shards name their keys.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from s3ferry.core.config import (
    KEYS_PER_SHARD,
    MAX_LOCAL_WORKERS,
    MAX_SHARD_ATTEMPTS,
    SHARDS_PER_WORKER,
)
from s3ferry.core.errors import EXIT_USAGE, ConfigError


def _order(key: str) -> bytes:
    # ListObjectsV2's order: UTF-8 bytes.
    return key.encode("utf-8", "surrogateescape")


def sort_keys(keys: Iterable[str]) -> list[str]:
    """Distinct keys in ListObjectsV2 order."""
    return sorted(set(keys), key=_order)


@dataclass(frozen=True, slots=True)
class Cluster:
    """Where shards run: a local cluster of ``workers`` processes, or a scheduler's address."""

    workers: int = 0
    address: str | None = None

    def __str__(self) -> str:
        return self.address or f"local:{self.workers}"


def parse_cluster(text: str) -> Cluster:
    """``local:N`` or ``tcp://host:port`` (also ``tls://``)."""
    text = text.strip()
    if text.startswith("local:"):
        count = text[len("local:"):]
        if not count.isdigit() or not 1 <= int(count) <= MAX_LOCAL_WORKERS:
            raise ConfigError(f"--cluster local:N needs N from 1 to {MAX_LOCAL_WORKERS}, got {text!r}")
        return Cluster(workers=int(count))
    scheme, _, rest = text.partition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in ("tcp", "tls") or not host or not port.isdigit():
        raise ConfigError(f"--cluster takes tcp://host:port or local:N, got {text!r}")
    return Cluster(address=text)


@dataclass(frozen=True, slots=True)
class WorkerCount:
    """``--workers``: a number of local worker processes, or None for "auto" (the number of
    cores, for a tree big enough to be worth them)."""

    count: int | None = None

    @property
    def auto(self) -> bool:
        return self.count is None


def parse_workers(text: str) -> WorkerCount:
    """``auto`` or N from 1 (one process: no workers) to MAX_LOCAL_WORKERS."""
    text = text.strip().lower()
    if text == "auto":
        return WorkerCount()
    if not text.isdigit() or not 1 <= int(text) <= MAX_LOCAL_WORKERS:
        raise ConfigError(f"--workers takes auto or a number from 1 to {MAX_LOCAL_WORKERS}, got {text!r}")
    return WorkerCount(int(text))


@dataclass(frozen=True, slots=True)
class KeyRange:
    """Relative keys k with ``after < k <= upto``; None is unbounded on that side."""

    after: str | None = None
    upto: str | None = None

    def __post_init__(self) -> None:
        if self.after is not None and self.upto is not None and _order(self.after) >= _order(self.upto):
            raise ValueError(f"empty key range ({self.after!r}, {self.upto!r}]")

    def contains(self, key: str) -> bool:
        return not self.before(key) and not self.beyond(key)

    def before(self, key: str) -> bool:
        """``key`` sorts at or below the lower bound (a listing has not reached the range)."""
        return self.after is not None and _order(key) <= _order(self.after)

    def beyond(self, key: str) -> bool:
        """``key`` sorts past the upper bound: a sorted listing can stop here."""
        return self.upto is not None and _order(key) > _order(self.upto)

    def passed_folder(self, folder: str) -> bool:
        """Every key below ``folder`` (which ends in "/") sorts at or below the lower bound:
        a walk can skip the whole folder."""
        return self.after is not None and _order(self.after) >= _order(folder) and \
            not self.after.startswith(folder)

    def start_after(self, prefix: str) -> str | None:
        """ListObjectsV2's StartAfter for this range under ``prefix``."""
        return None if self.after is None else prefix + self.after

    def __str__(self) -> str:
        low = "(start" if self.after is None else f"({self.after!r}"
        high = "end)" if self.upto is None else f"{self.upto!r}]"
        return f"{low}, {high}"


def ranges_between(boundaries: Iterable[str]) -> list[KeyRange]:
    """The ranges that the sorted, distinct ``boundaries`` cut the whole key space into:
    (start, b1], (b1, b2], ..., (bn, end)."""
    cuts = sort_keys(boundaries)
    lows: list[str | None] = [None, *cuts]
    highs: list[str | None] = [*cuts, None]
    return [KeyRange(low, high) for low, high in zip(lows, highs)]


def cut_units(units: Sequence[str], shards: int) -> list[KeyRange]:
    """Group a sorted delimiter listing (common prefixes and top-level keys, the "units") into
    about ``shards`` ranges of consecutive units. A boundary is the unit that starts the next
    shard: everything below that unit (its keys sort after the unit string) goes right."""
    if shards < 1:
        raise ValueError("at least one shard")
    count = min(shards, len(units))
    if count <= 1:
        return [KeyRange()]
    starts = sorted({len(units) * i // count for i in range(1, count)})
    return ranges_between(units[i] for i in starts)


def target_shards(workers: int) -> int:
    return max(1, workers) * SHARDS_PER_WORKER


class StreamCutter:
    """Cuts a sorted stream of keys into ranges of ``per_shard`` keys as it goes, so a shard
    is handed out as soon as its last key has been listed, and only one boundary is held."""

    def __init__(self, per_shard: int = KEYS_PER_SHARD, after: str | None = None):
        if per_shard < 1:
            raise ValueError("at least one key per shard")
        self.per_shard = per_shard
        self.after = after
        self.seen = 0

    def feed(self, key: str) -> KeyRange | None:
        """The range that ``key`` completes, or None."""
        self.seen += 1
        if self.seen < self.per_shard:
            return None
        done, self.after, self.seen = KeyRange(self.after, key), key, 0
        return done

    def close(self, upto: str | None = None) -> KeyRange:
        """The last range: the rest of the key space (up to ``upto``)."""
        return KeyRange(self.after, upto)


# ---- specs and results ----------------------------------------------------------------

# What a migration's shards do. "sync" is a sync of each range (its rule, its deletes); the
# others are the one-process commands of a tree: every source item is copied (no skip rule,
# core.sync_plan.CopyAll), nothing is deleted, and nothing is filtered out.
ACTIONS = ("sync", "put", "get", "cp")
TREE_ACTIONS = frozenset(ACTIONS[1:])


@dataclass(frozen=True)
class Migration:
    """What every shard of one command does; picklable, the same for all its shards."""

    source: str  # s3://bucket/prefix/ (or a folder the workers share)
    destination: str
    config: Any  # core.config.Config: where and how (frozen, picklable)
    source_config: Any = None  # another endpoint or profile for the source; None: the same
    rule: str = "content"
    delete: bool = False
    trash: str | None = None
    dry_run: bool = False
    excludes: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()
    action: str = "sync"

    def __post_init__(self) -> None:
        if self.action not in ACTIONS:
            raise ValueError(f"unknown migration action {self.action!r}")
        if self.action in TREE_ACTIONS and (self.delete or self.excludes or self.includes or self.dry_run):
            raise ValueError(f"{self.action} copies every source item and deletes nothing")

    @property
    def copies_all(self) -> bool:
        """put/get/cp of a tree: every source item is copied, as the one-process command does."""
        return self.action in TREE_ACTIONS


@dataclass(frozen=True)
class ShardSpec:
    """One idempotent piece of a migration: a key range, or the keys a manifest named."""

    number: int
    migration: Migration
    span: KeyRange = field(default_factory=KeyRange)
    keys: tuple[str, ...] | None = None

    @property
    def label(self) -> str:
        if self.keys is not None:
            return f"{len(self.keys)} manifest keys from {self.keys[0]!r}" if self.keys else "no keys"
        return str(self.span)


@dataclass(frozen=True)
class ShardResult:
    """What one attempt at a shard did. ``cause`` is set when the attempt did not finish at all
    (its worker was lost, its listing failed); per-object failures are counted in ``failed``."""

    number: int
    attempt: int = 1
    worker: str = ""
    copied: int = 0
    skipped: int = 0
    deleted: int = 0
    failed: int = 0
    bytes: int = 0
    etag_match: int = 0  # pairs proven equal by ETag (a verified copy, or a skip that compared)
    unverifiable: int = 0
    hashed: int = 0  # local files read to compare them (the hash cache spares unchanged ones)
    seconds: float = 0.0
    exit_code: int = 0
    causes: tuple[str, ...] = ()
    cause: str | None = None

    @property
    def objects(self) -> int:
        return self.copied + self.skipped

    @property
    def ok(self) -> bool:
        return self.cause is None and self.failed == 0

    @property
    def verified(self) -> bool:
        """Every object of the shard now has the source's bytes, proven by its ETag."""
        return self.ok and self.unverifiable == 0 and self.etag_match == self.objects


def lost(number: int, attempt: int, cause: str, exit_code: int = 1) -> ShardResult:
    """The result of an attempt that never reported (a dead worker, an error in the shard)."""
    return ShardResult(number, attempt, cause=cause, exit_code=exit_code)


def should_retry(result: ShardResult) -> bool:
    """Another attempt only redoes what is left (a shard is a sync of its range), so anything
    short of success is worth one while attempts remain; usage errors never get better."""
    return not result.ok and result.attempt < MAX_SHARD_ATTEMPTS and result.exit_code != EXIT_USAGE
