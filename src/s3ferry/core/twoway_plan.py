"""Two-way team sync, the pure parts around the per-path decision: joining the three sorted
streams (baseline, local walk, remote listing) in bounded memory, and the safety rails
(bisync's): refuse when one side lists empty but the baseline does not, and refuse deletions
above a share of the tree."""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator
from dataclasses import dataclass
from typing import Generic, Protocol, TypeVar

from .errors import S3FerryError

# Deletions above this share of the tree (either side) are refused unless raised: bisync's
# --max-delete default.
DEFAULT_MAX_DELETE_SHARE = 50.0


class Keyed(Protocol):
    @property
    def path(self) -> str: ...


B = TypeVar("B", bound=Keyed)
L = TypeVar("L", bound=Keyed)
R = TypeVar("R", bound=Keyed)


def order(path: str) -> bytes:
    """Keys sort as their UTF-8 bytes, as ListObjectsV2 returns them and the walk yields them."""
    return path.encode("utf-8", "surrogateescape")


async def join3(base: AsyncIterable[B], local: AsyncIterable[L],
                remote: AsyncIterable[R]) -> AsyncIterator[tuple[B | None, L | None, R | None]]:
    """Merge three streams sorted by ``order(path)``: one tuple per path, in order. Holds one
    item of each stream at a time."""
    its = (base.__aiter__(), local.__aiter__(), remote.__aiter__())
    heads = [await _next(it) for it in its]
    while any(h is not None for h in heads):
        least = min(order(h.path) for h in heads if h is not None)
        row = [h if h is not None and order(h.path) == least else None for h in heads]
        for index, item in enumerate(row):
            if item is not None:
                heads[index] = await _next(its[index])
        yield row[0], row[1], row[2]  # type: ignore[misc]


async def _next(it: AsyncIterator[Keyed]) -> Keyed | None:
    try:
        return await it.__anext__()
    except StopAsyncIteration:
        return None


@dataclass
class Tally(Generic[B]):
    """Counts met while the streams are joined, for the rails checked before any delete."""

    base: int = 0
    local: int = 0
    remote: int = 0
    delete_local: int = 0
    delete_remote: int = 0

    def see(self, base: object, local: object, remote: object) -> None:
        self.base += base is not None
        self.local += local is not None
        self.remote += remote is not None


class RailError(S3FerryError):
    """A safety rail refused the sync's deletions (nothing was deleted)."""


def check_listings(tally: Tally[Keyed]) -> None:
    """bisync's rule: a side that lists empty while the baseline is not is far likelier a
    wrong path, an unmounted disk or a failed listing than a team that deleted everything."""
    if tally.base and not tally.local:
        raise RailError(f"the local folder is empty but {tally.base} files were synced before; "
                        "refusing to delete them all remotely (wrong folder? run s3ferry reset to start over)")
    if tally.base and not tally.remote:
        raise RailError(f"the remote prefix is empty but {tally.base} files were synced before; "
                        "refusing to delete them all locally (wrong prefix? run s3ferry reset to start over)")


def check_deletes(tally: Tally[Keyed], max_share: float) -> None:
    """Refuse when the deletions on either side exceed ``max_share`` percent of that side's tree."""
    for count, side, size in ((tally.delete_local, "local", max(tally.local, tally.base)),
                              (tally.delete_remote, "remote", max(tally.remote, tally.base))):
        if count and size and 100.0 * count / size > max_share:
            raise RailError(f"refusing to delete {count} of {size} {side} files ({100.0 * count / size:.0f}%, "
                            f"more than --max-delete {max_share:g}%); check, then re-run with a higher --max-delete")
