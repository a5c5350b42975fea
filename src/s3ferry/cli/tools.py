"""bench and demo: the tools around the engine."""

from __future__ import annotations

import functools
import sys
from typing import Annotated, Optional

import typer

from s3ferry.cli.options import Addressing, Checksum, Endpoint, Profile, Quiet, Region
from s3ferry.cli.running import fail, guard, run_simple
from s3ferry.core.config import Config
from s3ferry.core.errors import S3FerryError
from s3ferry.tools import bench_plan


def bench(
    where: Annotated[Optional[str], typer.Argument(
        help="s3://BUCKET or s3://BUCKET/PREFIX to write under; needed with --endpoint-url.")] = None,
    endpoint_url: Endpoint = None, profile: Profile = None, region: Region = None,
    addressing_style: Addressing = "auto", checksum: Checksum = "off",
    size: Annotated[Optional[str], typer.Option(help="Generated file size (default 256MiB; 64MiB embedded).")] = None,
    part_sizes: Annotated[str, typer.Option(help="Part sizes to try, comma-separated.")] = bench_plan.DEFAULT_PART_SIZES,
    concurrency_levels: Annotated[str, typer.Option(help="Concurrency levels to try.")] = bench_plan.DEFAULT_LEVELS,
    rounds: Annotated[int, typer.Option(help="Rounds; figures are medians over them.")] = 1,
    files: Annotated[int, typer.Option(help="Also put/get this many small files (0: off).")] = 0,
    file_size: Annotated[str, typer.Option(help="Size of each small file.")] = bench_plan.DEFAULT_FILE_SIZE,
    embedded: Annotated[bool, typer.Option("--embedded", help="Use the embedded local server (moto).")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print the results as one JSON object.")] = False,
    quiet: Quiet = False,
) -> None:
    """Measure put/get throughput over part sizes x concurrency, verified; removes all it wrote."""
    from s3ferry.tools import bench as bench_
    from s3ferry.tools.bench_report import print_report
    options = guard(lambda: bench_plan.parse_options(size, part_sizes, concurrency_levels, rounds, files, file_size))
    config = guard(lambda: Config(endpoint_url=endpoint_url, profile=profile, region=region,
                                   addressing_style=addressing_style, checksum=checksum))  # type: ignore[arg-type]
    say = None if quiet else (lambda text: print(text, file=sys.stderr, flush=True))
    report = run_simple(functools.partial(bench_.run_bench, where, config, options, embedded=embedded, say=say),
                        interrupted="interrupted: benchmark objects, uploads and temporary files removed")
    print_report(report, as_json=json)


def demo(
    large_mib: Annotated[int, typer.Option(help="Size of the large file, MiB.")] = 128,
    small_files: Annotated[int, typer.Option(help="Number of small files.")] = 500,
    small_kib: Annotated[int, typer.Option(help="Size of each small file, KiB.")] = 64,
) -> None:
    """Round-trip a large file and a folder of small files through an embedded local S3 server."""
    from s3ferry.tools.demo import run_demo  # needs the `server` extra (moto)

    try:
        code = run_demo(large_mib, small_files, small_kib)
    except S3FerryError as exc:
        raise fail(exc) from None
    raise typer.Exit(code)
