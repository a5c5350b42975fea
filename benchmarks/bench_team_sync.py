#!/usr/bin/env python3
"""Peak memory of `s3ferry team-sync` against the number of files: does it stay flat?

    .venv/bin/python benchmarks/bench_team_sync.py                      # 10,000 and 100,000, moto
    .venv/bin/python benchmarks/bench_team_sync.py --counts 10000 --server ceph

For each count N it writes a local tree of N tiny files (bench_sync_scale's tree: 1,000 per
folder), then runs, each in a fresh `s3ferry` process whose peak RSS (ru_maxrss from wait4) and
wall time are recorded:

  first    alice's first team-sync        N uploads, N baseline rows, a shared record of N lines
  noop     alice again                    N paths joined (baseline, walk, listing), nothing to do
  member   bob's first team-sync          N downloads into an empty folder
  touch    alice after touching 1%        N/100 files hashed, found unchanged, nothing sent

Memory that does not grow from 10,000 to 100,000 files is the claim being checked. The shared
record (one JSON line per path) is the one thing read and written whole: its size is printed.
"""

from __future__ import annotations

import os
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bench_sync_scale
from bench_sync_scale import make_tree, measured, scale_main


def measure(env: dict[str, str], folder: Path, url: str, user: str) -> tuple[int, float, float]:
    """(exit code, wall seconds, peak RSS MiB) of one team-sync process."""
    return measured(["team-sync", str(folder), url, "--user", user, "--yes", "--quiet", "-c",
                     bench_sync_scale.CONCURRENCY],
                    {**env, "XDG_CACHE_HOME": str(folder.parent / f"cache-{user}")})


def touch_some(tree: Path, every: int) -> int:
    touched = 0
    for index, path in enumerate(sorted(tree.rglob("f*.txt"))):
        if index % every == 0:
            os.utime(path)  # a new mtime and ctime, the same bytes: hashed, then found unchanged
            touched += 1
    return touched


def run_count(count: int, env: dict[str, str], scratch: Path, s3,  # type: ignore[no-untyped-def]
              scenarios: set[str]) -> list[tuple[str, int, float, float]]:
    bucket = f"team-{count}"
    s3.create_bucket(Bucket=bucket)
    url = f"s3://{bucket}/shared/"
    alice, bob = scratch / f"alice-{count}", scratch / f"bob-{count}"
    t0 = time.monotonic()
    make_tree(alice, count)
    print(f"  {count} local files written in {time.monotonic() - t0:.0f} s", flush=True)
    rows = []
    for name, folder, user in (("first", alice, "alice"), ("noop", alice, "alice"), ("member", bob, "bob"),
                               ("touch", alice, "alice")):
        if name not in scenarios and name != "first":  # "first" fills the prefix: always run
            continue
        if name == "touch":
            touch_some(alice, 100)
        code, wall, rss = measure(env, folder, url, user)
        rows.append((name, code, wall, rss))
        print(f"  {name:7s} exit {code}  {wall:7.1f} s  peak RSS {rss:6.1f} MiB", flush=True)
    record = s3.head_object(Bucket=bucket, Key="shared/.s3ferry-team/record.jsonl")["ContentLength"]
    print(f"  shared record: {record / 2**20:.1f} MiB", flush=True)
    shutil.rmtree(alice)
    shutil.rmtree(bob, ignore_errors=True)
    return rows


def main() -> int:
    return scale_main(__doc__.splitlines()[0], "first,noop,member,touch", "s3ferry-team-", "files", run_count,
                      cache=False)


if __name__ == "__main__":
    sys.exit(main())
