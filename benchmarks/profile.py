#!/usr/bin/env python3
"""Client CPU of the s3ferry CLI on the four transfer workloads, and optionally a py-spy profile.

    python benchmarks/profile.py --endpoint-url URL [--rounds 3] [--workloads put_big,...]
                                 [--spy DIR] [--s3ferry [LABEL=]EXE ...]

Credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY (benchmarks/profile.sh
starts a Ceph RGW and sets them). CPU = user+sys of the client process tree, from
getrusage(RUSAGE_CHILDREN) around each run: much steadier than wall time on a shared
machine. Several --s3ferry builds (e.g. before=/tmp/base/s3ferry after=.venv/bin/s3ferry) run
interleaved, round by round, so they share the machine's load alike. With --spy DIR each workload also runs once under `py-spy record --native` and
writes DIR/WORKLOAD.speedscope.json plus DIR/WORKLOAD.top.txt (self-time per frame).
Stdlib + boto3 (for the bucket) only.
"""
from __future__ import annotations

import argparse
import collections
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from compiled import as_installed  # benchmarks/ is the script's folder, on sys.path

BIG = 1024 * 1024 * 1024
SMALL, SMALL_SIZE = 2000, 64 * 1024
SYNC, SYNC_SIZE = 10000, 4096  # as benchmarks/run.py's no-op sync


def make_data(root: Path) -> None:
    big = root / "big.bin"
    if not big.exists():
        with open(big, "wb") as f:
            for _ in range(BIG // (8 << 20)):
                f.write(os.urandom(8 << 20))
    small = root / "small"
    if not small.exists():
        small.mkdir()
        for i in range(SMALL):
            (small / f"f{i:05d}.bin").write_bytes(os.urandom(SMALL_SIZE))
    tree = root / "synctree"
    if not tree.exists():
        tree.mkdir()
        for i in range(SYNC):
            sub = tree / f"d{i // 1000:02d}"
            sub.mkdir(exist_ok=True)
            (sub / f"f{i:05d}.bin").write_bytes(os.urandom(SYNC_SIZE))


def commands(exe: str, bucket: str, root: Path) -> dict[str, list[str]]:
    out = root / "out"
    return {
        "put_big": [exe, "put", str(root / "big.bin"), f"s3://{bucket}/big.bin", "--quiet"],
        "get_big": [exe, "get", f"s3://{bucket}/big.bin", str(out / "big.bin"), "--quiet"],
        "put_small": [exe, "put", str(root / "small"), f"s3://{bucket}/small/", "--quiet"],
        "get_small": [exe, "get", f"s3://{bucket}/small/", str(out / "small") + "/", "--quiet"],
        "sync_noop": [exe, "sync", str(root / "synctree"), f"s3://{bucket}/synctree/", "--quiet"],
        "help": [exe, "--help"],
    }


def measured(cmd: list[str]) -> dict[str, float]:
    """One run in a fresh child of a fresh python, so RUSAGE_CHILDREN is this run's tree only."""
    probe = ("import json,resource,subprocess,sys,time;t=time.monotonic();"
             "rc=subprocess.call(sys.argv[1:],stdout=subprocess.DEVNULL);w=time.monotonic()-t;"
             "r=resource.getrusage(resource.RUSAGE_CHILDREN);"
             "print(json.dumps(dict(rc=rc,wall=w,cpu=r.ru_utime+r.ru_stime,user=r.ru_utime,"
             "sys=r.ru_stime,rss=r.ru_maxrss/1024)))")
    return json.loads(subprocess.check_output([sys.executable, "-c", probe, *cmd]))


def prepare(builds: dict[str, str], names: list[str], bucket: str, root: Path) -> None:
    """The no-op sync needs its objects stored and the hash cache warm: one unmeasured sync
    per build (each may keep its own cache)."""
    if "sync_noop" in names:
        for exe in builds.values():
            subprocess.run(commands(exe, bucket, root)["sync_noop"], check=True, stdout=subprocess.DEVNULL)


def reset(name: str, root: Path) -> None:
    """A new, empty out/ whose old contents are set aside, not deleted, until the end: on ext4
    without a journal a file created within 60-360 s of a deletion scans the group's recently
    deleted inodes, so a get after deleting 2,000 files paid for them (run.py, set_aside).
    Dirty pages of the previous run go to disk before the next is measured."""
    out, aside = root / "out", root / "aside"
    if out.exists():
        aside.mkdir(exist_ok=True)
        out.rename(aside / str(len(os.listdir(aside))))
    out.mkdir()
    os.sync()


def spy(name: str, cmd: list[str], where: Path) -> None:
    where.mkdir(parents=True, exist_ok=True)
    raw = where / f"{name}.txt"
    subprocess.run(["py-spy", "record", "--native", "--subprocesses", "--rate", "250", "--format", "raw",
                    "-o", str(raw), "--", *cmd], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    subprocess.run(["py-spy", "record", "--native", "--subprocesses", "--rate", "250", "--format", "speedscope",
                    "-o", str(where / f"{name}.speedscope.json"), "--", *cmd],
                   check=False, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    (where / f"{name}.top.txt").write_text(top_frames(raw))


def top_frames(raw: Path, n: int = 30) -> str:
    """Self and inclusive sample counts per frame from py-spy's collapsed-stack output."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        frames = stack.split(";")
        k = int(count)
        total += k
        own[frames[-1]] += k
        for f in set(frames):
            incl[f] += k
    lines = [f"total samples {total}", "", "self%  frame"]
    lines += [f"{100 * c / total:5.1f}  {f}" for f, c in own.most_common(n)]
    lines += ["", "incl%  frame"]
    lines += [f"{100 * c / total:5.1f}  {f}" for f, c in incl.most_common(n)]
    return "\n".join(lines) + "\n"


def summarize(label: str, name: str, runs: list[dict[str, float]]) -> str:
    cpu = statistics.median(r["cpu"] for r in runs)
    wall = statistics.median(r["wall"] for r in runs)
    rss = max(r["rss"] for r in runs)
    per = {"put_big": f"{cpu:.2f} CPU-s/GiB, {1024 / wall:.0f} MiB/s",
           "get_big": f"{cpu:.2f} CPU-s/GiB, {1024 / wall:.0f} MiB/s",
           "put_small": f"{1000 * cpu / SMALL:.2f} ms CPU/object, {SMALL / wall:.0f} objects/s",
           "get_small": f"{1000 * cpu / SMALL:.2f} ms CPU/object, {SMALL / wall:.0f} objects/s",
           "sync_noop": f"{1000 * cpu / SYNC:.2f} ms CPU/file, {SYNC / wall:.0f} files/s",
           "help": f"{cpu:.2f} CPU-s, {wall:.2f} s wall"}[name]
    spread = ", ".join(f"{r['cpu']:.2f}" for r in runs)
    return f"{label:8s} {name:10s} cpu {cpu:6.2f} s [{spread}] wall {wall:6.2f} s rss {rss:4.0f} MiB  ({per})"


def main() -> int:
    as_installed()  # bytecode, as an installed copy has (benchmarks/compiled.py)
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint-url", required=True)
    ap.add_argument("--bucket", default="perf")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--workloads", default="put_big,get_big,put_small,get_small,help")
    ap.add_argument("--s3ferry", nargs="+", default=[str(Path(__file__).resolve().parent.parent / ".venv/bin/s3ferry")])
    ap.add_argument("--data", default=os.path.join(tempfile.gettempdir(), "s3ferry-profile-data"))
    ap.add_argument("--spy", help="directory for py-spy profiles (one extra run per workload)")
    args = ap.parse_args()
    os.environ["S3FERRY_ENDPOINT_URL"] = args.endpoint_url
    import boto3

    s3 = boto3.client("s3", endpoint_url=args.endpoint_url, region_name="us-east-1")
    try:
        s3.create_bucket(Bucket=args.bucket)
    except s3.exceptions.BucketAlreadyOwnedByYou:
        pass
    root = Path(args.data)
    root.mkdir(parents=True, exist_ok=True)
    make_data(root)
    builds = dict(b.split("=", 1) if "=" in b else (b, b) for b in args.s3ferry)
    names = args.workloads.split(",")
    results: dict[tuple[str, str], list[dict[str, float]]] = {(b, n): [] for b in builds for n in names}
    prepare(builds, names, args.bucket, root)
    for _ in range(args.rounds):
        for name in names:
            for label, exe in builds.items():
                reset(name, root)
                run = measured(commands(exe, args.bucket, root)[name])
                if run["rc"] != 0:
                    print(f"{label} {name}: exit {run['rc']}", file=sys.stderr)
                results[label, name].append(run)
    shutil.rmtree(root / "aside", ignore_errors=True)
    for name in names:
        for label in builds:
            print(summarize(label, name, results[label, name]))
    if args.spy:
        for label, exe in builds.items():
            for name in names:
                reset(name, root)
                spy(f"{Path(label).name}-{name}", commands(exe, args.bucket, root)[name], Path(args.spy))
                print(f"profile: {args.spy}/{Path(label).name}-{name}.top.txt")
        shutil.rmtree(root / "aside", ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
