"""Hashing jobs run side by side in MD5 lanes (core/md5lanes.py), on a worker thread.

A part's or a range's MD5 is a stream of its own, and a transfer has several in flight: MD5 is
serial within a stream, but a SIMD kernel hashes up to ``md5lanes.LANES`` streams in the time
of about one. A *lane job* is a generator: it does its I/O around each ``yield`` (reads the
piece it yields, or writes the piece it yielded once it is resumed) and yields the bytes to
hash into its Md5, a cache-sized piece at a time (a buffer, or a list of them); what it
returns is its result. ``drive`` steps many jobs together, one piece of each per step, so each
piece is hashed (and then written) while it is still in the CPU's cache.
"""

from __future__ import annotations

from collections.abc import Generator, Iterable
from typing import Any, TypeVar

from s3ferry.core import md5lanes
from s3ferry.core.md5lanes import Md5

T = TypeVar("T")
LaneJob = Generator[Any, None, T]  # yields a buffer or a list of buffers; returns its result


class Outcome:
    """What one job ended with: its result, or the error it raised."""

    __slots__ = ("error", "result")

    def __init__(self) -> None:
        self.result: Any = None
        self.error: BaseException | None = None


def drive(jobs: Iterable[tuple[Md5, LaneJob[Any]]], width: int | None = None) -> list[Outcome]:
    """Run every job to its end, side by side, at most ``width`` at a time (the next starts as
    one ends); each job's error is its own (the others go on). The outcomes are in job order."""
    pending = iter(jobs)
    outcomes: list[Outcome] = []
    live: list[tuple[Outcome, Md5, LaneJob[Any]]] = []
    while True:
        while width is None or len(live) < width:
            if (job := next(pending, None)) is None:
                break
            outcomes.append(Outcome())
            live.append((outcomes[-1], *job))
        if not live:
            return outcomes
        live = _step(live)


def _step(live: list[tuple[Outcome, Md5, LaneJob[Any]]]) -> list[tuple[Outcome, Md5, LaneJob[Any]]]:
    """One piece of each live job, hashed side by side; the jobs that go on."""
    items: list[tuple[Md5, Any]] = []
    stepped = []
    for entry in live:
        outcome, md5, job = entry
        try:
            piece = next(job)
        except StopIteration as stop:
            outcome.result = stop.value
            continue
        except BaseException as exc:  # noqa: BLE001 - the job's own, raised by its caller
            outcome.error = exc
            continue
        if type(piece) is list:
            items.extend((md5, p) for p in piece)
        else:
            items.append((md5, piece))
        stepped.append(entry)
    try:
        md5lanes.update_many(items)
    except BaseException as exc:  # noqa: BLE001 - a bad piece: every job in the step fails
        for outcome, _, job in stepped:
            outcome.error = exc
            job.close()  # its finally clauses close what it opened
        return []
    return stepped


def drive_one(md5: Md5, job: LaneJob[T]) -> T:
    """One job alone (no other job to pair it with): its result, or its error raised."""
    outcome = drive([(md5, job)])[0]
    if outcome.error is not None:
        raise outcome.error
    return outcome.result  # type: ignore[no-any-return]


def hash_job(data: Any) -> LaneJob[None]:
    """A lane job that only hashes ``data`` (bytes already in memory)."""
    yield data
