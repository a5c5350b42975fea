"""`s3ferry bench`: put and get throughput against an endpoint (or the embedded moto server),
swept over part size and concurrency, through the library's own put/get code with
verification on, so the figures are what users get.

The sweep plan, the statistics, the choice of the best setting and the table rows are pure
(unit-tested without a server). The I/O half writes only under one unique prefix
(``s3ferry-bench/<uuid>/``) and one temporary folder, and removes both in a clean-up that
a Ctrl-C cannot cut short (the CLI then exits 130; a second Ctrl-C does cut it short).
"""

from __future__ import annotations

import logging
import math
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
from anyio import to_thread

from .api import _context  # the API's own client set-up and error mapping
from .config import (
    BENCH_CLEANUP_TIMEOUT,
    BENCH_CONCURRENCY,
    BENCH_EMBEDDED_BUCKET,
    BENCH_EMBEDDED_SIZE,
    BENCH_FILE_SIZE,
    BENCH_PART_SIZES,
    BENCH_PREFIX,
    BENCH_SIZE,
    MAX_PART_SIZE,
    MIN_PART_SIZE,
    Config,
    GiB,
    KiB,
    MiB,
    parse_size,
)
from .context import Context
from .embedded import moto_server
from .errors import ConfigError, EndpointError, NotFoundError, S3FerryError
from .locations import S3Location, parse_s3_url
from .planning import choose_part_size, part_count, use_multipart
from .results import Summary
from .retry import with_retry
from .transfer import check_bucket, get_path, put_path
from .uploads import abort, list_incomplete

log = logging.getLogger("s3ferry")

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


# ---- I/O: data, transfers, clean-up --------------------------------------------------------

@dataclass
class Tally:
    """What the bench put on the store and took off it again."""

    created: int = 0
    deleted: int = 0
    aborted: int = 0
    left: int | None = None  # None: clean-up did not get to check

    @property
    def clean(self) -> bool:
        return self.left == 0


@dataclass
class BenchReport:
    target: str
    location: S3Location
    plan: Plan
    runs: list[Run] = field(default_factory=list)
    unverified: int = 0
    tally: Tally = field(default_factory=Tally)

    @property
    def rows(self) -> list[Row]:
        return aggregate(self.plan, self.runs)


def write_random(path: Path, size: int) -> None:
    """Incompressible bytes, so no store or link can flatter the figures by compressing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        left = size
        while left:
            block = min(left, 8 * MiB)
            handle.write(os.urandom(block))
            left -= block


def _make_data(root: Path, plan: Plan) -> tuple[Path, Path]:
    large = root / "data" / "large.bin"
    write_random(large, plan.size)
    small = root / "data" / "small"
    small.mkdir(parents=True)
    for index in range(plan.files):
        write_random(small / f"f{index:06d}.bin", plan.file_size)
    return large, small


def _silent(text: str) -> None:
    pass


def _resolve(where: str | None, config: Config, embedded: bool) -> tuple[S3Location | None, bool]:
    loc = parse_s3_url(where) if where else None
    if embedded and config.endpoint_url:
        raise ConfigError("--embedded and --endpoint-url exclude each other")
    if loc is None and config.endpoint_url is None:
        return None, True
    if loc is None and not embedded:
        raise ConfigError("bench against an endpoint needs a bucket: s3ferry bench s3://BUCKET[/PREFIX]")
    return loc, embedded


def _run_prefix(loc: S3Location | None) -> str:
    base = "" if loc is None else loc.key if loc.is_prefix else loc.key + "/"
    return f"{base}{BENCH_PREFIX}{uuid.uuid4().hex[:12]}/"


@contextmanager
def _environment(values: dict[str, str]) -> Iterator[None]:
    """Point botocore's credential chain at the embedded server, and put things back after."""
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


@contextmanager
def _embedded(config: Config) -> Iterator[Config]:
    with ExitStack() as stack:
        try:
            server = stack.enter_context(moto_server())
        except EndpointError as exc:
            raise EndpointError(f"{exc} (or benchmark your own store: --endpoint-url URL s3://BUCKET)") from None
        stack.enter_context(_environment(server.env()))
        yield config.replace(endpoint_url=server.endpoint_url, addressing_style="path",
                             profile=None, region=server.region)


async def run_bench(where: str | None, config: Config, options: BenchOptions, *,
                    embedded: bool = False, say: Say | None = None) -> BenchReport:
    """Run the sweep and return the measurements; everything written is removed again.

    Against ``config.endpoint_url`` (or the default endpoint) ``where`` names the bucket and
    an optional prefix; with neither, or with ``embedded``, a local moto server is started."""
    say = say or _silent
    loc, embedded = _resolve(where, config, embedded)
    size = options.size or (BENCH_EMBEDDED_SIZE if embedded else BENCH_SIZE)
    plan = plan_sweep(options, size)
    with ExitStack() as stack:
        if embedded:
            say("starting the embedded S3 server (moto) on 127.0.0.1 ...")
            config = stack.enter_context(_embedded(config))
            loc = loc or S3Location(BENCH_EMBEDDED_BUCKET, "")
        assert loc is not None
        root = S3Location(loc.bucket, _run_prefix(loc))
        target = f"embedded moto server {config.endpoint_url}" if embedded else config.endpoint_url or "default endpoint"
        report = BenchReport(target, root, plan)
        await _prepare_bucket(config, root.bucket, create=embedded)  # before minutes of data generation
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="s3ferry-bench-")))
        say(f"generating {plan.label(LARGE)}" + (f" and {plan.label(SMALL)}" if plan.files else "") + f" in {tmp}")
        data = await to_thread.run_sync(_make_data, tmp, plan)
        await _guarded(config, root, report, lambda: _sweep(config, root, report, data, tmp / "out", say), say)
    return report


async def _guarded(config: Config, root: S3Location, report: BenchReport,
                   body: Callable[[], Awaitable[None]], say: Say) -> None:
    """Run the sweep; whatever happens (failure, Ctrl-C), clean up before leaving."""
    try:
        await body()
    except BaseException:
        await _cleanup(config, root, report.tally, say)
        raise
    await _cleanup(config, root, report.tally, say)
    if not report.tally.clean:
        raise S3FerryError(f"benchmark objects may be left under {root}: delete them, "
                           f"and run: s3ferry uploads abort {root}")


async def _sweep(config: Config, root: S3Location, report: BenchReport, data: tuple[Path, Path], out: Path,
                 say: Say) -> None:
    plan = report.plan
    say(f"benchmarking {report.target}, under {root} ({len(plan.large) + len(plan.small)} settings, "
        f"{plan.rounds} round(s))")
    for round_, workload, setting in schedule(plan):
        runs = await _measure(config, round_, workload, setting, root, data, out, report)
        report.runs.extend(runs)
        rates = ", ".join(f"{r.op} {r.mib_per_second:.1f} MiB/s" for r in runs)
        say(f"round {round_}/{plan.rounds} {plan.label(workload)} {setting.flags}: {rates}")


async def _prepare_bucket(config: Config, bucket: str, *, create: bool) -> None:
    async with _context(config, None) as ctx:
        try:
            await check_bucket(ctx, bucket)
        except NotFoundError:
            if not create:
                raise
            await ctx.client.create_bucket(Bucket=bucket)


async def _measure(config: Config, round_: int, workload: str, setting: Setting, root: S3Location,
                   data: tuple[Path, Path], out: Path, report: BenchReport) -> list[Run]:
    """One put and one get at one setting, each timed from the first request to the last
    (client set-up excluded), then the object(s) and the downloaded copy are removed."""
    config = config.replace(part_size=setting.part_size, multipart_threshold=setting.part_size,
                            max_concurrency=setting.concurrency, verify=True)
    folder = root.child(f"r{round_}/{workload}-{size_text(setting.part_size)}-c{setting.concurrency}/")
    large, small = data
    source, remote, local = ((large, folder.child(large.name), out / large.name) if workload == LARGE
                             else (small, folder, out / "small"))
    runs = []
    async with _context(config, None) as ctx:
        try:
            for op in OPS:
                started = time.monotonic()
                summary = await (put_path(ctx, source, remote) if op == "put" else get_path(ctx, remote, local))
                seconds = time.monotonic() - started
                if op == "put":
                    report.tally.created += summary.files
                _check(summary)
                report.unverified += summary.unverified
                runs.append(Run(workload, op, setting, round_, summary.bytes, summary.files, seconds))
        finally:
            with anyio.CancelScope(shield=True):
                await to_thread.run_sync(_remove_local, local)
        report.tally.deleted += await _delete_prefix(ctx, folder)
    return runs


def _check(summary: Summary) -> None:
    if summary.ok:
        return
    error = S3FerryError(summary.errors[0] if summary.errors else f"{summary.op} failed")
    error.exit_code = summary.exit_code
    raise error


def _remove_local(path: Path) -> None:
    if path.is_dir():
        shutil.rmtree(path, ignore_errors=True)
    else:
        path.unlink(missing_ok=True)


async def _delete_prefix(ctx: Context, where: S3Location) -> int:
    """Delete every object under ``where``, a listing page (at most 1,000 keys) per request."""
    deleted, token = 0, {}
    while True:
        page = await with_retry(ctx.config, lambda: ctx.client.list_objects_v2(
            Bucket=where.bucket, Prefix=where.key, **token))
        keys = [{"Key": item["Key"]} for item in page.get("Contents", [])]
        if keys:
            response = await with_retry(ctx.config, lambda: ctx.client.delete_objects(
                Bucket=where.bucket, Delete={"Objects": keys, "Quiet": True}))
            errors = response.get("Errors", [])
            if errors:
                first = errors[0]
                raise S3FerryError(f"could not delete s3://{where.bucket}/{first.get('Key')}: "
                                   f"{first.get('Code')} {first.get('Message', '')}".strip())
            deleted += len(keys)
        if not page.get("IsTruncated"):
            return deleted
        token = {"ContinuationToken": page["NextContinuationToken"]}


async def _left_under(ctx: Context, where: S3Location) -> int:
    page = await with_retry(ctx.config, lambda: ctx.client.list_objects_v2(
        Bucket=where.bucket, Prefix=where.key, MaxKeys=1000))
    return len(page.get("Contents", [])) + len([u async for u in list_incomplete(ctx, where)])


async def _cleanup(config: Config, root: S3Location, tally: Tally, say: Say) -> None:
    """Abort our multipart uploads and delete our objects. Shielded: a Ctrl-C that cancelled
    the sweep must not cancel this too; bounded, so a dead endpoint cannot hang the exit."""
    with anyio.CancelScope(shield=True), anyio.move_on_after(BENCH_CLEANUP_TIMEOUT):
        try:
            async with _context(config.replace(max_concurrency=4), None) as ctx:
                uploads = [u async for u in list_incomplete(ctx, root)]
                for upload in uploads:
                    await abort(ctx, upload)
                    tally.aborted += 1
                tally.deleted += await _delete_prefix(ctx, root)
                tally.left = await _left_under(ctx, root)
        except Exception as exc:  # noqa: BLE001 - the sweep's own error (if any) stays the one raised
            log.error("clean-up of %s failed (%s): delete that prefix and run: s3ferry uploads abort %s",
                      root, exc, root)
            return
    if tally.left:
        log.error("clean-up left %d object(s) or upload(s) under %s", tally.left, root)
    else:
        say(f"removed everything under {root}")


# ---- output --------------------------------------------------------------------------------

def _stat_dict(stat: Stat | None) -> dict[str, float] | None:
    if stat is None:
        return None
    return {"mib_per_second": round(stat.median, 2), "min": round(stat.low, 2), "max": round(stat.high, 2),
            "files_per_second": round(stat.files_median, 2)}


def _setting_dict(setting: Setting) -> dict[str, int]:
    return {"part_size": setting.part_size, "concurrency": setting.concurrency}


def report_dict(report: BenchReport) -> dict[str, Any]:
    rows = report.rows
    best = best_settings(rows)
    plan = report.plan
    return {
        "target": report.target, "location": str(report.location),
        "size": plan.size, "files": plan.files, "file_size": plan.file_size, "rounds": plan.rounds,
        "results": [{"workload": row.workload, **_setting_dict(row.setting),
                     "put": _stat_dict(row.put), "get": _stat_dict(row.get)} for row in rows],
        "best": {workload: {op: {**_setting_dict(row.setting), "mib_per_second": round(row.score(op) or 0.0, 2)}
                            for op, row in ops.items()} for workload, ops in best.items()},
        "skipped": [{"workload": workload, **_setting_dict(skip), "same_as": _setting_dict(same)}
                    for workload, skip, same in plan.skipped],
        "runs": [{"workload": r.workload, "op": r.op, **_setting_dict(r.setting), "round": r.round,
                  "bytes": r.bytes, "files": r.files, "seconds": round(r.seconds, 4)} for r in report.runs],
        "unverified": report.unverified,
        "cleanup": {"created": report.tally.created, "deleted": report.tally.deleted,
                    "aborted": report.tally.aborted, "left": report.tally.left},
    }


def print_report(report: BenchReport, *, as_json: bool) -> None:
    import json

    from rich.console import Console
    from rich.table import Table

    if as_json:
        print(json.dumps(report_dict(report)), flush=True)
        return
    rows = report.rows
    best = best_settings(rows)
    plan = report.plan
    console = Console(width=None if Console().is_terminal else 120)
    table = Table(title=f"s3ferry bench: {report.target}, {plan.rounds} round(s), every transfer verified")
    small = bool(plan.small)
    for column in COLUMNS:
        if small or "files/s" not in column:
            table.add_column(column, justify="left" if column in ("workload", "best") else "right")
    for cells in table_rows(plan, rows, best):
        table.add_row(*(cells if small else cells[:5] + cells[7:]))
    console.print(table)
    if plan.skipped:
        console.print(f"skipped {len(plan.skipped)} setting(s) with more concurrency than parts "
                      "(they behave as a measured one; see --json)")
    for line in best_lines(plan, best):
        console.print(line, highlight=False)
    if report.unverified:
        console.print(f"[yellow]{report.unverified} transfer(s) could not be verified (no MD5 ETag)[/yellow]")
