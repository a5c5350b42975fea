"""CPU-s per GiB of core/md5lanes per kernel, k items side by side, against hashlib; interleaved.

    PYTHONPATH=src python benchmarks/md5_lanes.py [--mib 64] [--rounds 3]

Each figure: k Md5s, each fed `chunk`-byte buffers (distinct memory per item, as parts in flight
are) through update_many until about --mib MiB went through; CPU time (time.process_time) per GiB
hashed. Configurations run interleaved round by round and each prints the median of the rounds,
so a noisy neighbour hits all kernels alike. "single" is Md5.update on one item (the scalar C path
against OpenSSL's assembly).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import statistics
import time

from s3ferry.core import md5lanes

KS = (1, 2, 4, 8, 16, 32)
CHUNKS = (1 << 20, 64 << 10)


def _cpu_per_gib(api, k: int, chunk: int, total: int) -> float:
    buffers = [os.urandom(chunk) for _ in range(k)]
    md5s = [api.Md5() for _ in range(k)]
    items = list(zip(md5s, buffers))
    calls = max(1, total // (k * chunk))
    start = time.process_time()
    for _ in range(calls):
        api.update_many(items)
    spent = time.process_time() - start
    return spent / (calls * k * chunk / (1 << 30))


def _single_per_gib(api, chunk: int, total: int) -> float:
    buffer = os.urandom(chunk)
    md5 = api.Md5()
    start = time.process_time()
    for _ in range(max(1, total // chunk)):
        md5.update(buffer)
    return (time.process_time() - start) / (max(1, total // chunk) * chunk / (1 << 30))


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mib", type=int, default=64, help="MiB hashed per figure and round")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    total = args.mib << 20
    kernels = md5lanes.available_kernels()
    apis = {name: md5lanes.kernel_api(name) for name in kernels}
    figures: dict[tuple, list[float]] = {}
    for _ in range(args.rounds):
        for chunk in CHUNKS:
            for name, api in apis.items():
                figures.setdefault(("single", chunk, name), []).append(_single_per_gib(api, chunk, total))
            for k in KS:
                for name, api in apis.items():
                    figures.setdefault((k, chunk, name), []).append(_cpu_per_gib(api, k, chunk, total))
    print(f"CPU-s per GiB, median of {args.rounds} interleaved rounds, {args.mib} MiB per figure; "
          f"default kernel here: {md5lanes.KERNEL} ({md5lanes.LANES} lanes); hashlib: {hashlib.md5().name}/OpenSSL")
    header = "chunk    k       " + "".join(f"{name:>10}" for name in kernels) + "   best vs hashlib"
    print(header)
    for chunk in CHUNKS:
        for k in ("single", *KS):
            row = {name: statistics.median(figures[(k, chunk, name)]) for name in kernels}
            best = min(row[name] for name in kernels if name != "hashlib") if len(kernels) > 1 else row["hashlib"]
            cells = "".join(f"{row[name]:10.3f}" for name in kernels)
            print(f"{chunk >> 10:5d}KiB {k!s:>7} {cells}   {row['hashlib'] / best:5.2f}x")


if __name__ == "__main__":
    main()
