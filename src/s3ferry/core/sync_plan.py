"""Sync decisions, pure: merge-join two sorted listings and decide, per key, what to do.

Rules are strategy objects (s5cmd's SyncStrategy) with a truth table each; the I/O layer
(sync.py) only carries out the steps. Content is the default rule: a same-size file is not
assumed unchanged just because its mtime says so (aws-cli #8377, #1074, #3415).
"""

from __future__ import annotations

import enum
import fnmatch
from collections.abc import AsyncIterable, AsyncIterator, Iterable
from dataclasses import dataclass
from typing import Protocol

from s3ferry.core.etag import normalize, parse_etag

MTIME_TOLERANCE = 1.0  # seconds: S3 LastModified has second precision


@dataclass(frozen=True, slots=True)
class Item:
    """One side's view of a file or object, keyed by its /-separated path under the root."""

    key: str
    size: int
    mtime: float  # seconds since the epoch
    etag: str | None = None  # remote ETag, or None for a local file not hashed yet


class Action(str, enum.Enum):
    COPY = "copy"  # missing at the destination, or different
    SKIP = "skip"  # the same by the rule
    COMPARE = "compare"  # same size; the content must be hashed to decide (Content rule)
    DELETE = "delete"  # only at the destination, and --delete
    EXTRA = "extra"  # only at the destination, kept


@dataclass(frozen=True, slots=True)
class Step:
    action: Action
    key: str
    source: Item | None
    dest: Item | None
    reason: str


class Rule(Protocol):
    name: str

    def decide(self, source: Item, dest: Item) -> tuple[Action, str]: ...


class SizeOnly:
    """``--size-only``: the same size is the same file."""

    name = "size-only"

    def decide(self, source: Item, dest: Item) -> tuple[Action, str]:
        if source.size != dest.size:
            return Action.COPY, "size differs"
        return Action.SKIP, "same size"


class SizeAndMtime:
    """``--mtime``: aws-cli's rule: copy when the size differs or the source is newer."""

    name = "mtime"

    def decide(self, source: Item, dest: Item) -> tuple[Action, str]:
        if source.size != dest.size:
            return Action.COPY, "size differs"
        if source.mtime > dest.mtime + MTIME_TOLERANCE:
            return Action.COPY, "source is newer"
        return Action.SKIP, "same size, not newer"


class Content:
    """Default: copy when the size differs; otherwise compare the content by ETag."""

    name = "content"

    def decide(self, source: Item, dest: Item) -> tuple[Action, str]:
        if source.size != dest.size:
            return Action.COPY, "size differs"
        return Action.COMPARE, "same size: compare content"


class CopyAll:
    """A shard of put, get or cp of a tree (scale/): every source item is copied whatever
    the destination holds, as the one-process put/get/cp do; with delete off, nothing at the
    destination is removed. Not a sync rule a user picks: no option names it."""

    name = "all"

    def decide(self, source: Item, dest: Item) -> tuple[Action, str]:
        return Action.COPY, "copied whatever the destination holds"


RULES: dict[str, Rule] = {rule.name: rule for rule in (Content(), SizeOnly(), SizeAndMtime())}
COPY_ALL = CopyAll()


def decide(source: Item | None, dest: Item | None, rule: Rule, *, delete: bool) -> Step:
    """The one decision for one key. Exactly one of the sides may be missing."""
    if source is None and dest is None:
        raise ValueError("a step needs at least one side")
    if source is None:
        assert dest is not None
        return Step(Action.DELETE if delete else Action.EXTRA, dest.key, None, dest, "only at the destination")
    if dest is None:
        return Step(Action.COPY, source.key, source, None, "missing at the destination")
    action, reason = rule.decide(source, dest)
    return Step(action, source.key, source, dest, reason)


def resolve_compare(step: Step, same: bool | None, why: str | None = None) -> Step:
    """Finish a COMPARE step once the content comparison is in (None: no comparable hash).
    No comparable hash is never taken for "the same": the file is copied."""
    if same is None:
        return Step(Action.COPY, step.key, step.source, step.dest, why or "no comparable hash")
    if same:
        return Step(Action.SKIP, step.key, step.source, step.dest, why or "same content")
    return Step(Action.COPY, step.key, step.source, step.dest, why or "content differs")


def etags_agree(source: str | None, dest: str | None, recorded: str | None = None) -> tuple[bool | None, str]:
    """S3 -> S3: do two same-size objects hold the same bytes, judged by their ETags alone?

    ``recorded`` is the source ETag an earlier copy stored in the destination's metadata.
    Equal MD5 ETags (single or composite) are the same bytes; the recorded ETag equal to the
    source's means the destination was copied from exactly this version of the source, even
    when the copy could not keep the ETag. Two different single-PUT MD5s are different bytes.
    Any other difference may be a different part layout, not different bytes: it is not proof
    either way, so the object is copied again (never skipped on a guess)."""
    src, dst = normalize(source), normalize(dest)
    if recorded is not None and src and normalize(recorded) == src:
        return True, "copied from this source version (recorded ETag)"
    a, b = parse_etag(src), parse_etag(dst)
    if a is None or b is None:
        return None, "ETags are not MD5s and no recorded source ETag matches"
    if src == dst:
        return True, "same ETag"
    if not a.is_multipart and not b.is_multipart:
        return False, "content differs (MD5)"
    return None, "ETags differ, maybe only by part layout: treated as changed"


def _order(key: str) -> bytes:
    # ListObjectsV2 order: UTF-8 bytes, not Python's code-point order (they differ above U+FFFF
    # only with surrogates, but bytes is the contract).
    return key.encode("utf-8", "surrogateescape")


async def amerge_join(sources: AsyncIterable[Item],
                      dests: AsyncIterable[Item]) -> AsyncIterator[tuple[Item | None, Item | None]]:
    """Pair two key-sorted streams (a local walk, a paged listing) in bounded memory: one
    item of each side at a time, each key once, in ListObjectsV2's byte order."""
    left, right = sources.__aiter__(), dests.__aiter__()
    a, b = await _anext(left), await _anext(right)
    while a is not None or b is not None:
        if b is None or (a is not None and _order(a.key) < _order(b.key)):
            yield a, None
            a = await _anext(left)
        elif a is None or _order(b.key) < _order(a.key):
            yield None, b
            b = await _anext(right)
        else:
            yield a, b
            a, b = await _anext(left), await _anext(right)


async def _anext(iterator: AsyncIterator[Item]) -> Item | None:
    try:
        return await iterator.__anext__()
    except StopAsyncIteration:
        return None


@dataclass(frozen=True)
class KeyFilter:
    """``--exclude``/``--include`` globs and ``.s3ferryignore`` lines. A pattern with no "/"
    matches a name at any depth, as in .gitignore; an include overrides the excludes."""

    excludes: tuple[str, ...] = ()
    includes: tuple[str, ...] = ()
    # cp -r on shards: every object below the prefix, sync's trash and zero-byte folder
    # markers too, as the one-process cp -r copies them (ops/listing.py reads it).
    every_key: bool = False

    def allows(self, key: str) -> bool:
        if any(_matches(p, key) for p in self.includes):
            return True
        return not any(_matches(p, key) for p in self.excludes)

    @classmethod
    def parse_ignore_file(cls, text: str, *, excludes: Iterable[str] = (), includes: Iterable[str] = ()) -> KeyFilter:
        extra_ex, extra_in = list(excludes), list(includes)
        for line in text.splitlines():
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("!"):
                extra_in.append(line[1:])
            else:
                extra_ex.append(line)
        return cls(tuple(extra_ex), tuple(extra_in))


def _matches(pattern: str, key: str) -> bool:
    pattern = pattern.rstrip("/") if pattern.endswith("/") else pattern
    if "/" in pattern.strip("/"):
        anchored = pattern.lstrip("/")
        return fnmatch.fnmatchcase(key, anchored) or fnmatch.fnmatchcase(key, anchored + "/*")
    segments = key.split("/")
    # A bare name matches any segment: a file name, or a folder whose files it then covers.
    return any(fnmatch.fnmatchcase(segment, pattern.strip("/")) for segment in segments)
