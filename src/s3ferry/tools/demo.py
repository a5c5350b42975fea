"""The README's first command: put and get a large file and a folder of small files through
an embedded local S3 server, verify everything, and print throughput."""

from __future__ import annotations

import filecmp
import os
import tempfile
import time
from pathlib import Path

import anyio
from rich.console import Console
from rich.table import Table

from s3ferry import api
from s3ferry.core.config import Config, MiB
from s3ferry.core.results import Summary
from s3ferry.store.s3 import open_store
from s3ferry.tools.data import write_random
from s3ferry.tools.embedded import moto_server

BUCKET = "s3ferry-demo"


def make_data(root: Path, large_size: int, small_count: int, small_size: int) -> tuple[Path, Path]:
    large = root / "large.bin"
    write_random(large, large_size)
    small = root / "small"
    for index in range(small_count):
        folder = small / f"dir{index % 10:02d}"
        write_random(folder / f"file{index:05d}.bin", small_size)
    return large, small


def same_tree(a: Path, b: Path) -> bool:
    left = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    right = sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    return left == right and all(filecmp.cmp(a / p, b / p, shallow=False) for p in left)


async def _steps(config: Config, large: Path, small: Path, out: Path) -> list[tuple[str, Summary, bool]]:
    async with open_store(config) as store:
        await store.create_bucket(BUCKET)
    rows = []
    rows.append(("put large file", await api.put(large, f"s3://{BUCKET}/large.bin", config=config), True))
    summary = await api.get(f"s3://{BUCKET}/large.bin", out / "large.bin", config=config)
    rows.append(("get large file", summary, filecmp.cmp(large, out / "large.bin", shallow=False)))
    rows.append(("put small files", await api.put(small, f"s3://{BUCKET}/small/", config=config), True))
    summary = await api.get(f"s3://{BUCKET}/small/", out / "small", config=config)
    rows.append(("get small files", summary, same_tree(small, out / "small")))
    return rows


def run_demo(large_mib: int = 128, small_count: int = 500, small_kib: int = 64) -> int:
    console = Console()
    with tempfile.TemporaryDirectory(prefix="s3ferry-demo-") as tmp:
        root = Path(tmp)
        console.print(f"generating {large_mib} MiB file and {small_count} x {small_kib} KiB files in {root}")
        large, small = make_data(root, large_mib * MiB, small_count, small_kib * 1024)
        console.print("starting embedded S3 server (moto) on 127.0.0.1 ...")
        with moto_server() as server:
            os.environ.update(server.env())
            config = Config(endpoint_url=server.endpoint_url, addressing_style="path")
            started = time.monotonic()
            rows = anyio.run(_steps, config, large, small, root / "out", backend="asyncio")
            elapsed = time.monotonic() - started
    table = Table(title=f"s3ferry demo against {server.endpoint_url} ({elapsed:.1f} s)")
    for column in ("step", "files", "MiB", "seconds", "MiB/s", "files/s", "verified", "bytes identical"):
        table.add_column(column, justify="right" if column not in ("step",) else "left")
    ok = True
    for name, summary, identical in rows:
        verified = summary.ok and summary.unverified == 0
        ok = ok and verified and identical
        table.add_row(name, str(summary.files), f"{summary.bytes / MiB:.1f}", f"{summary.seconds:.2f}",
                      f"{summary.mib_per_second:.1f}", f"{summary.files / max(summary.seconds, 1e-9):.0f}",
                      "yes" if verified else f"NO ({summary.failed} failed, {summary.unverified} unverifiable)",
                      "yes" if identical else "NO")
    console.print(table)
    console.print("moto is a test server: its uploads and ranged reads are slow. See benchmarks/ for Ceph numbers.")
    console.print("[green]all transfers verified[/green]" if ok else "[red]demo FAILED[/red]")
    return 0 if ok else 1
