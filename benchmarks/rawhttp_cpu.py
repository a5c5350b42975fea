"""Client CPU of the lean path on aiohttp vs on store/http1.py (S3FERRY_HTTP=raw), against moto.

    PYTHONPATH=src .venv/bin/python benchmarks/rawhttp_cpu.py [--requests 1000] [--rounds 3] [--endpoint-url URL]

One process, one event loop (uvloop, as the CLI), one moto; the three request paths
(aiobotocore, lean on aiohttp, lean on http1) interleaved round by round, so they see the
same machine load. Figures are time.process_time() (this process only: moto runs in its own)
per 64 KiB request, and per GiB for whole GETs of a 32 MiB object; median over rounds.
"""

from __future__ import annotations

import os
import statistics
import time

from aiobotocore.session import AioSession
from lean_cpu import CONCURRENCY, _drain, client_config, cpu_per_request, ensure_bucket, main

from s3ferry.store.http1 import Pool
from s3ferry.store.lean import LeanEngine

BODY = os.urandom(64 * 1024)
BIG = os.urandom(32 * 1024 * 1024)
BUCKET = "raw-bench"


async def run(endpoint: str, requests: int, rounds: int) -> None:
    config = client_config()
    session = AioSession()
    async with session.create_client("s3", region_name="us-east-1", endpoint_url=endpoint, config=config) as client:
        await ensure_bucket(client, BUCKET)
        pool = Pool(CONCURRENCY + 4, 10.0, 60.0)
        engines = {"aiohttp": LeanEngine(client), "raw": LeanEngine(client, raw=pool)}
        keys = [f"k/{i:05d}" for i in range(requests)]
        view = memoryview(BODY)
        await client.put_object(Bucket=BUCKET, Key="big", Body=BIG)

        def ops(lean):
            async def put(key: str) -> None:
                await lean.put(BUCKET, key, view, {"ContentType": "application/x"})

            async def get(key: str) -> None:
                async with lean.get(BUCKET, key, {}) as (_reply, stream):
                    assert await _drain(stream) == len(BODY)

            async def head(key: str) -> None:
                await lean.head(BUCKET, key, {})

            return {"put": put, "get": get, "head": head}

        async def measure(fn) -> float:
            return await cpu_per_request(fn, keys)

        async def big(lean) -> float:
            start = time.process_time()
            for _ in range(4):
                async with lean.get(BUCKET, "big", {}) as (_reply, stream):
                    assert await _drain(stream) == len(BIG)
            return (time.process_time() - start) / (4 * len(BIG) / 2**30)

        for lean in engines.values():  # objects exist, pools are warm, imports done
            await measure(ops(lean)["put"])
        results: dict[str, list[float]] = {}
        for _ in range(rounds):
            for op in ("put", "get", "head"):
                for name, lean in engines.items():
                    results.setdefault(f"{op} {name}", []).append(await measure(ops(lean)[op]))
            for name, lean in engines.items():
                results.setdefault(f"big-get {name}", []).append(await big(lean))
        pool.close()
        for name, values in results.items():
            unit = "CPU-s/GiB" if name.startswith("big") else f"ms CPU/request over {requests}"
            print(f"{name:16s} {statistics.median(values):.3f} [{min(values):.3f}-{max(values):.3f}] {unit}, "
                  f"{rounds} rounds")


if __name__ == "__main__":
    main(run)
