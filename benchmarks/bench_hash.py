"""Hash rate of verify's part hasher (s3ferry.guess) against single-thread hashlib MD5.

    .venv/bin/python benchmarks/bench_hash.py [--size-mib 1024] [--dir /tmp]

The file is written once and read from the page cache (the hashing, not the disk, is measured).
"file MiB/s" is how fast a file of that size is verified; "MD5 MiB/s" is bytes hashed per
second over all candidates (C x file MiB/s), to compare with cores x the one-thread rate.
"""

from __future__ import annotations

import argparse
import hashlib
import os
import tempfile
import time
from pathlib import Path

from s3ferry.core.config import MiB
from s3ferry.local.files import hash_file as md5_file
from s3ferry.core.layout import candidate_part_sizes
from s3ferry.local.hashing import default_workers, hash_file_parts


def make_file(path: Path, size: int) -> None:
    block = os.urandom(8 * MiB)
    with open(path, "wb") as handle:
        left = size
        while left:
            n = min(left, len(block))
            handle.write(block[:n])
            left -= n


def timed(fn) -> float:  # type: ignore[no-untyped-def]
    best = float("inf")
    for _ in range(3):
        started = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--dir", default=tempfile.gettempdir())
    args = parser.parse_args()
    size = args.size_mib * MiB
    path = Path(args.dir) / "s3ferry-bench-hash.bin"
    make_file(path, size)
    try:
        md5_file(path)  # warm the page cache
        mib = size / MiB
        workers = default_workers()
        data = os.urandom(256 * MiB)
        one_core = 256 / timed(lambda: hashlib.md5(data).digest())
        print(f"cores: {workers}; file: {mib:.0f} MiB (page cache)")
        print(f"{'case':48} {'file MiB/s':>10} {'MD5 MiB/s':>10}")
        print(f"{'hashlib md5, one thread, in memory':48} {one_core:10.0f} {one_core:10.0f}")
        seconds = timed(lambda: md5_file(path))
        print(f"{'md5 of the file, one thread (single-PUT ETag)':48} {mib / seconds:10.0f} {mib / seconds:10.0f}")
        cases = [
            ("1 candidate (known layout, 8 MiB parts)", [8 * MiB]),
            ("2 candidates", [8 * MiB, 5 * MiB]),
        ]
        wide = candidate_part_sizes(size, 2).sizes[:10]  # N=2: a wide range of candidates
        cases.append((f"{len(wide)} candidates (guessing, N=2)", list(wide)))
        for name, sizes in cases:
            seconds = timed(lambda: hash_file_parts(path, size, sizes))
            print(f"{name:48} {mib / seconds:10.0f} {len(sizes) * mib / seconds:10.0f}")
        print(f"target: cores x one thread = {workers * one_core:.0f} MD5 MiB/s")
    finally:
        path.unlink()


if __name__ == "__main__":
    main()
