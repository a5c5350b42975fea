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
import os
import shutil
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

import anyio
from anyio import to_thread

from s3ferry.api.session import open_context as _context  # the API's own store set-up and error mapping
from s3ferry.core.config import (
    BENCH_CLEANUP_TIMEOUT,
    BENCH_EMBEDDED_BUCKET,
    BENCH_EMBEDDED_SIZE,
    BENCH_PREFIX,
    BENCH_SIZE,
    Config,
)
from s3ferry.core.errors import ConfigError, EndpointError, NotFoundError, S3FerryError
from s3ferry.core.locations import S3Location, parse_s3_url
from s3ferry.core.objects import batches_async
from s3ferry.core.results import Summary
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import check_bucket
from s3ferry.ops.trees import get_path, put_path
from s3ferry.ops.uploads import abort, list_incomplete
from s3ferry.tools.bench_plan import (
    LARGE,
    OPS,
    SMALL,
    BenchOptions,
    Plan,
    Run,
    Say,
    Setting,
    plan_sweep,
    schedule,
    size_text,
)
from s3ferry.tools.bench_report import BenchReport, Tally
from s3ferry.tools.data import write_random
from s3ferry.tools.embedded import moto_server

log = logging.getLogger("s3ferry")



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
    base = "" if loc is None else loc.as_prefix().key
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
            await ctx.store.create_bucket(bucket)


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
    deleted = 0
    async for batch in batches_async(item["Key"] async for item in ctx.store.list_objects(where)):
        deleted += await _delete_batch(ctx, where, batch)
    return deleted


async def _delete_batch(ctx: Context, where: S3Location, keys: list[str]) -> int:
    errors = await ctx.store.delete_many(where.bucket, keys)
    if errors:
        first = errors[0]
        raise S3FerryError(f"could not delete s3://{where.bucket}/{first.get('Key')}: "
                           f"{first.get('Code')} {first.get('Message', '')}".strip())
    return len(keys)


async def _left_under(ctx: Context, where: S3Location) -> int:
    objects = [item async for item in ctx.store.list_objects(where)]
    return len(objects) + len([u async for u in list_incomplete(ctx, where)])


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
