"""The pure half of `s3ferry bench`: options, the sweep plan, statistics, the best setting
and the table rows. No I/O; unit-tested without a server (bench.py runs the plan)."""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from s3ferry.core.config import (
    BENCH_CONCURRENCY,
    BENCH_FILE_SIZE,
    BENCH_PART_SIZES,
    MAX_PART_SIZE,
    MIN_PART_SIZE,
    GiB,
    KiB,
    MiB,
    parse_size,
)
from s3ferry.core.errors import ConfigError
from s3ferry.core.parts import choose_part_size, part_count, use_multipart

LARGE = "large"
SMALL = "small"
OPS = ("put", "get")
Say = Callable[[str], None]


# ---- pure: options and plan ---------------------------------------------------------------

def size_text(n: int) -> str:
    """8388608 -> '8MiB': exact binary units, in the form --part-size accepts."""
    for unit, scale in (("GiB", GiB), ("MiB", MiB), ("KiB", KiB)):
        if n >= scale and n % scale == 0:
            return f"{n // scale}{unit}"
    return f"{n}B"


# The CLI's defaults, as text in the form its options take.
DEFAULT_PART_SIZES = ",".join(size_text(p) for p in BENCH_PART_SIZES)
DEFAULT_LEVELS = ",".join(str(c) for c in BENCH_CONCURRENCY)
DEFAULT_FILE_SIZE = size_text(BENCH_FILE_SIZE)


@dataclass(frozen=True, slots=True, order=True)
class Setting:
    part_size: int
    concurrency: int

    @property
    def flags(self) -> str:
        return f"--part-size {size_text(self.part_size)} -c {self.concurrency}"


@dataclass(frozen=True)
class BenchOptions:
    size: int | None = None  # None: BENCH_SIZE, or BENCH_EMBEDDED_SIZE on the embedded server
    part_sizes: tuple[int, ...] = BENCH_PART_SIZES
    concurrency_levels: tuple[int, ...] = BENCH_CONCURRENCY
    rounds: int = 1
    files: int = 0  # small-files workload: off unless asked for
    file_size: int = BENCH_FILE_SIZE

    def __post_init__(self) -> None:
        if self.size is not None and self.size < 1:
            raise ConfigError(f"--size must be at least 1 byte, got {self.size}")
        if not self.part_sizes or not self.concurrency_levels:
            raise ConfigError("give at least one part size and one concurrency level")
        for part_size in self.part_sizes:
            if not MIN_PART_SIZE <= part_size <= MAX_PART_SIZE:
                raise ConfigError(f"part size must be between 5MiB and 5GiB, got {size_text(part_size)}")
        for level in self.concurrency_levels:
            if not 1 <= level <= 1024:
                raise ConfigError(f"concurrency must be between 1 and 1024, got {level}")
        if not 1 <= self.rounds <= 100:
            raise ConfigError(f"--rounds must be between 1 and 100, got {self.rounds}")
        if self.files < 0 or self.file_size < 0:
            raise ConfigError("--files and --file-size cannot be negative")


def parse_options(size: str | None, part_sizes: str, concurrency_levels: str, rounds: int,
                  files: int, file_size: str) -> BenchOptions:
    return BenchOptions(size=parse_size(size) if size else None, part_sizes=_sizes(part_sizes),
                        concurrency_levels=_levels(concurrency_levels), rounds=rounds, files=files,
                        file_size=parse_size(file_size))


def _sizes(text: str) -> tuple[int, ...]:
    return tuple(parse_size(item) for item in text.split(",") if item.strip())


def _levels(text: str) -> tuple[int, ...]:
    try:
        return tuple(int(item) for item in text.split(",") if item.strip())
    except ValueError:
        raise ConfigError(f"not a list of concurrency levels: {text!r} (try 4,8,16)") from None


@dataclass(frozen=True)
class Plan:
    size: int
    rounds: int
    files: int
    file_size: int
    large: tuple[Setting, ...]
    small: tuple[Setting, ...]
    # (workload, not measured, the measured setting that behaves the same)
    skipped: tuple[tuple[str, Setting, Setting], ...] = ()

    def settings(self, workload: str) -> tuple[Setting, ...]:
        return self.large if workload == LARGE else self.small

    def label(self, workload: str) -> str:
        if workload == LARGE:
            return f"1 x {size_text(self.size)}"
        return f"{self.files} x {size_text(self.file_size)}"


def _layout(size: int, part_size: int) -> tuple[int | None, int]:
    """(part size actually used or None for a single PUT, parts) of a ``size``-byte upload."""
    if not use_multipart(size, part_size):
        return None, 1
    used = choose_part_size(size, part_size)
    return used, part_count(size, used)


def plan_sweep(options: BenchOptions, size: int) -> Plan:
    """The settings worth measuring. A file of N parts never has more than N requests in
    flight, on put or on get (ranges follow the parts), so a concurrency above the part count
    repeats a lower one: it is skipped and says which measured setting it equals."""
    levels = sorted(set(options.concurrency_levels))
    large: list[Setting] = []
    skipped: list[tuple[str, Setting, Setting]] = []
    seen: dict[tuple[int | None, int], Setting] = {}
    for part_size in sorted(set(options.part_sizes)):
        used, parts = _layout(size, part_size)
        for level in levels:
            setting, key = Setting(part_size, level), (used, min(level, parts))
            if key in seen:
                skipped.append((LARGE, setting, seen[key]))
            else:
                seen[key] = setting
                large.append(setting)
    small: list[Setting] = []
    if options.files:
        part_size = min(options.part_sizes)  # small files rarely reach it: concurrency is what matters
        by_files: dict[int, Setting] = {}
        for level in levels:
            setting, key = Setting(part_size, level), min(level, options.files)
            if key in by_files:
                skipped.append((SMALL, setting, by_files[key]))
            else:
                by_files[key] = setting
                small.append(setting)
    return Plan(size, options.rounds, options.files, options.file_size, tuple(large), tuple(small),
                tuple(skipped))


def schedule(plan: Plan) -> Iterator[tuple[int, str, Setting]]:
    """Rounds outermost, so drift on a shared machine spreads over every setting alike."""
    for round_ in range(1, plan.rounds + 1):
        for workload in (LARGE, SMALL):
            for setting in plan.settings(workload):
                yield round_, workload, setting


# ---- pure: statistics, best setting, table -------------------------------------------------

@dataclass(frozen=True, slots=True)
class Run:
    workload: str
    op: str
    setting: Setting
    round: int
    bytes: int
    files: int
    seconds: float

    @property
    def mib_per_second(self) -> float:
        return self.bytes / MiB / self.seconds if self.seconds > 0 else 0.0

    @property
    def files_per_second(self) -> float:
        return self.files / self.seconds if self.seconds > 0 else 0.0


@dataclass(frozen=True, slots=True)
class Stat:
    median: float  # MiB/s
    low: float
    high: float
    files_median: float  # files/s

    @staticmethod
    def of(runs: Sequence[Run]) -> Stat | None:
        if not runs:
            return None
        rates = [r.mib_per_second for r in runs]
        return Stat(statistics.median(rates), min(rates), max(rates),
                    statistics.median(r.files_per_second for r in runs))


@dataclass(frozen=True, slots=True)
class Row:
    workload: str
    setting: Setting
    put: Stat | None
    get: Stat | None

    def score(self, op: str) -> float | None:
        """MiB/s of ``op``; for "both" the geometric mean of put and get, so neither can hide
        a poor other half."""
        if op == "both":
            if self.put is None or self.get is None:
                return None
            return math.sqrt(self.put.median * self.get.median)
        stat = self.put if op == "put" else self.get
        return None if stat is None else stat.median


def aggregate(plan: Plan, runs: Sequence[Run]) -> list[Row]:
    """One row per planned setting, in plan order; medians over the rounds."""
    rows = []
    for workload in (LARGE, SMALL):
        for setting in plan.settings(workload):
            mine = [r for r in runs if r.workload == workload and r.setting == setting]
            rows.append(Row(workload, setting, Stat.of([r for r in mine if r.op == "put"]),
                            Stat.of([r for r in mine if r.op == "get"])))
    return rows


BEST_OPS = ("put", "get", "both")


def best_settings(rows: Sequence[Row]) -> dict[str, dict[str, Row]]:
    """Per workload, the fastest row for put, for get and for both. Ties go to the setting
    that holds less memory in flight (part size x concurrency)."""
    best: dict[str, dict[str, Row]] = {}
    for workload in (LARGE, SMALL):
        for op in BEST_OPS:
            scored = [(row.score(op), row) for row in rows if row.workload == workload]
            candidates = [(score, row) for score, row in scored if score is not None]
            if candidates:
                _, row = max(candidates, key=lambda c: (c[0], -c[1].setting.part_size * c[1].setting.concurrency))
                best.setdefault(workload, {})[op] = row
    return best


COLUMNS = ("workload", "part size", "concurrency", "put MiB/s", "get MiB/s", "put files/s", "get files/s", "best")


def _rate(stat: Stat | None, rounds: int) -> str:
    if stat is None:
        return "-"
    text = f"{stat.median:.1f}"
    return f"{text} ({stat.low:.0f}-{stat.high:.0f})" if rounds > 1 else text


def _files_rate(stat: Stat | None) -> str:
    return "-" if stat is None else f"{stat.files_median:.0f}"


def table_rows(plan: Plan, rows: Sequence[Row], best: dict[str, dict[str, Row]]) -> list[list[str]]:
    """The table's cells, as strings; the figures show range (min-max) with several rounds."""
    cells = []
    for row in rows:
        used, _ = _layout(plan.size if row.workload == LARGE else plan.file_size, row.setting.part_size)
        marks = [_op_text(op) for op in BEST_OPS if best.get(row.workload, {}).get(op) is row]
        small = row.workload == SMALL
        cells.append([
            plan.label(row.workload),
            "single PUT" if used is None else size_text(used),
            str(row.setting.concurrency),
            _rate(row.put, plan.rounds),
            _rate(row.get, plan.rounds),
            _files_rate(row.put) if small else "",
            _files_rate(row.get) if small else "",
            ", ".join(marks),
        ])
    return cells


def _op_text(op: str) -> str:
    return "put+get" if op == "both" else op


def best_lines(plan: Plan, best: dict[str, dict[str, Row]]) -> list[str]:
    lines = []
    for workload, ops in best.items():
        for op in BEST_OPS:
            row = ops.get(op)
            if row is not None:
                score = row.score(op) or 0.0
                lines.append(f"best {_op_text(op)} for {plan.label(workload)}: {row.setting.flags} ({score:.1f} MiB/s)")
    return lines
