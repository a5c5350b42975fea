#!/usr/bin/env python3
"""Peak memory of `s3ferry sync` against the number of objects: does it stay flat?

    .venv/bin/python benchmarks/bench_sync_scale.py                      # 10,000 and 100,000, moto
    .venv/bin/python benchmarks/bench_sync_scale.py --counts 2000,10000 --server ceph

For each count N it writes a local tree of N tiny files (1,000 per folder), then runs, each in
a fresh `s3ferry` process whose peak RSS (ru_maxrss from wait4) and wall time are recorded:

  up       sync LOCAL s3://b/p/        N uploads (this is also how the bucket is filled)
  up-noop  sync LOCAL s3://b/p/        nothing to do: N pairs merge-joined, N cache hits
  down     sync s3://b/p/ OUT          N downloads into an empty folder
  s3-noop  sync s3://b/p/ s3://b/q/    after a first S3 -> S3 sync (not measured): N pairs, no copies

The server runs on 127.0.0.1 (moto by default: one Python process; Ceph RGW via
scripts/ceph_rgw.py with --server ceph). Everything is deleted at the end. Memory that does
not grow from 10,000 to 100,000 objects is the claim being checked.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
sys.path.insert(0, str(ROOT / "src"))

PER_FOLDER = 1000
CONCURRENCY = "32"


@contextmanager
def server(kind: str, scratch: Path):
    if kind == "moto":
        from s3ferry.tools.embedded import moto_server

        with moto_server() as local:
            yield local.endpoint_url, local.access_key, local.secret_key
        return
    import ceph_rgw

    directory = Path("/tmp") / f"s3ferry-bench-{os.getpid()}"
    info = ceph_rgw.start(str(directory), watch_pid=os.getpid())
    try:
        yield info["endpoint_url"], info["access_key"], info["secret_key"]
    finally:
        ceph_rgw.stop(str(directory))


def make_tree(root: Path, count: int) -> None:
    for index in range(count):
        folder = root / f"d{index // PER_FOLDER:04d}"
        if index % PER_FOLDER == 0:
            folder.mkdir(parents=True, exist_ok=True)
        (folder / f"f{index:07d}.txt").write_bytes(b"%d\n" % index * 4)


def measure(env: dict[str, str], *args: str) -> tuple[int, float, float]:
    """(exit code, wall seconds, peak RSS MiB) of one `s3ferry sync` process."""
    return measured(["sync", *args, "--quiet", "-c", CONCURRENCY], env)


def measured(argv: list[str], env: dict[str, str]) -> tuple[int, float, float]:
    """(exit code, wall seconds, peak RSS MiB) of one s3ferry process."""
    started = time.monotonic()
    process = subprocess.Popen([sys.executable, "-m", "s3ferry", *argv], env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(process.pid, 0)
    code = os.waitstatus_to_exitcode(status)
    if code:
        stderr = process.stderr.read().decode() if process.stderr else ""
        print(f"  (exit {code}: {stderr.strip()[:300]})", file=sys.stderr)
    return code, time.monotonic() - started, usage.ru_maxrss / 1024


def run_count(count: int, env: dict[str, str], scratch: Path, s3,  # type: ignore[no-untyped-def]
              scenarios: set[str]) -> list[tuple[str, int, float, float]]:
    bucket = f"scale-{count}"
    s3.create_bucket(Bucket=bucket)
    tree, out = scratch / f"tree-{count}", scratch / f"out-{count}"
    t0 = time.monotonic()
    make_tree(tree, count)
    print(f"  {count} local files written in {time.monotonic() - t0:.0f} s", flush=True)
    rows = []
    for name, args in (("up", (str(tree), f"s3://{bucket}/p/")),
                       ("up-noop", (str(tree), f"s3://{bucket}/p/")),
                       ("down", (f"s3://{bucket}/p/", str(out)))):
        if name not in scenarios and name != "up":  # "up" fills the bucket: always run
            continue
        code, wall, rss = measure(env, *args)
        rows.append((name, code, wall, rss))
        print(f"  {name:8s} exit {code}  {wall:7.1f} s  peak RSS {rss:6.1f} MiB", flush=True)
    if "s3-noop" in scenarios:
        measure(env, f"s3://{bucket}/p/", f"s3://{bucket}/q/")  # fill q/ server-side, not measured
        code, wall, rss = measure(env, f"s3://{bucket}/p/", f"s3://{bucket}/q/")
        rows.append(("s3-noop", code, wall, rss))
        print(f"  {'s3-noop':8s} exit {code}  {wall:7.1f} s  peak RSS {rss:6.1f} MiB", flush=True)
    shutil.rmtree(tree)
    shutil.rmtree(out, ignore_errors=True)
    return rows


Rows = list[tuple[str, int, float, float]]


def scale_main(description: str, scenarios: str, prefix: str, noun: str,
               run_count: Callable[..., Rows], cache: bool = True) -> int:
    """The runner both scale benchmarks share: a server, then ``run_count`` per count, then
    one table of peak RSS and wall time per scenario."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--counts", default="10000,100000")
    parser.add_argument("--server", choices=("moto", "ceph"), default="moto")
    parser.add_argument("--concurrency", default="32")
    parser.add_argument("--scenarios", default=scenarios,
                        help="which to measure (the first always runs: it fills the bucket)")
    args = parser.parse_args()
    global CONCURRENCY
    CONCURRENCY = args.concurrency
    import boto3
    from botocore.config import Config as BotoConfig

    scratch = Path(tempfile.mkdtemp(prefix=prefix))
    results: dict[int, Rows] = {}
    try:
        with server(args.server, scratch) as (url, key, secret):
            env = {**os.environ, "AWS_ACCESS_KEY_ID": key, "AWS_SECRET_ACCESS_KEY": secret,
                   "AWS_DEFAULT_REGION": "us-east-1", "S3FERRY_ENDPOINT_URL": url}
            if cache:
                env["XDG_CACHE_HOME"] = str(scratch / "cache")
            s3 = boto3.client("s3", endpoint_url=url, aws_access_key_id=key, aws_secret_access_key=secret,
                              region_name="us-east-1", config=BotoConfig(s3={"addressing_style": "path"}))
            for count in (int(c) for c in args.counts.split(",")):
                print(f"{count} {noun} on {args.server}:", flush=True)
                results[count] = run_count(count, env, scratch, s3, set(args.scenarios.split(",")))
    finally:
        shutil.rmtree(scratch, ignore_errors=True)
    names = [name for name, *_ in next(iter(results.values()))]
    print(f"\n| {noun} | " + " | ".join(f"{name}: peak RSS (MiB) / wall" for name in names) + " |")
    print("|---|" + "---|" * len(names))
    for count, rows in results.items():
        cells = " | ".join(f"{rss:.0f} / {wall:.0f} s" + ("" if code == 0 else f" (exit {code})")
                           for _, code, wall, rss in rows)
        print(f"| {count:,} | {cells} |")
    return 0 if all(code == 0 for rows in results.values() for _, code, *_ in rows) else 1


def main() -> int:
    # s3-noop first fills a second prefix server-side (slow)
    return scale_main(__doc__.splitlines()[0], "up,up-noop,down,s3-noop", "s3ferry-scale-", "objects", run_count)


if __name__ == "__main__":
    sys.exit(main())
