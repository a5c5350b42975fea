"""Client CPU per 64 KiB request: aiobotocore vs the lean path (store/lean.py), against moto.

    PYTHONPATH=src .venv/bin/python benchmarks/lean_cpu.py [--requests 1000] [--rounds 3] [--endpoint-url URL]

Both engines run in one process on one client, interleaved round by round, so they see the
same machine load; the figure is time.process_time() (user + sys of this process only: moto
runs in its own process) per request, median over rounds.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import time
from collections.abc import Awaitable, Callable

import uvloop
from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession

from s3ferry.store.lean import LeanEngine

try:
    from s3ferry.tools.embedded import moto_server
except ImportError:  # before the layers restructure
    from s3ferry.embedded import moto_server

BODY = os.urandom(64 * 1024)
CONCURRENCY = 16
BUCKET = "lean-bench"


async def _drain(stream) -> int:
    size = 0
    while True:
        chunk, _ = await stream.readchunk()
        if not chunk and stream.at_eof():
            return size
        size += len(chunk)


def client_config() -> AioConfig:
    """The aiobotocore client both benchmarks compare with (and the lean engines ride on)."""
    return AioConfig(max_pool_connections=CONCURRENCY + 4, retries={"total_max_attempts": 1},
                     s3={"addressing_style": "path", "payload_signing_enabled": False},
                     request_checksum_calculation="when_required", response_checksum_validation="when_required",
                     parameter_validation=False)


async def ensure_bucket(client, bucket: str) -> None:  # type: ignore[no-untyped-def]
    try:
        await client.create_bucket(Bucket=bucket)
    except client.exceptions.ClientError as exc:  # a running server: from an earlier run
        if exc.response["Error"]["Code"] not in ("BucketAlreadyOwnedByYou", "BucketAlreadyExists"):
            raise


async def cpu_per_request(fn: Callable[[str], Awaitable[None]], keys: list[str]) -> float:
    """ms of this process's CPU per call of ``fn``, once per key, CONCURRENCY in flight."""
    limit = asyncio.Semaphore(CONCURRENCY)

    async def one(key: str) -> None:
        async with limit:
            await fn(key)

    start = time.process_time()
    await asyncio.gather(*(one(k) for k in keys))
    return (time.process_time() - start) / len(keys) * 1000


Run = Callable[[str, int, int], Awaitable[None]]


async def run(endpoint: str, requests: int, rounds: int) -> None:
    config = client_config()
    session = AioSession()
    async with session.create_client("s3", region_name="us-east-1", endpoint_url=endpoint, config=config) as client:
        await ensure_bucket(client, BUCKET)
        lean = LeanEngine(client)
        keys = [f"k/{i:05d}" for i in range(requests)]
        view = memoryview(BODY)

        async def boto_put(key: str) -> None:
            await client.put_object(Bucket=BUCKET, Key=key, Body=view, ContentType="application/x")

        async def lean_put(key: str) -> None:
            await lean.put(BUCKET, key, view, {"ContentType": "application/x"})

        async def boto_get(key: str) -> None:
            response = await client.get_object(Bucket=BUCKET, Key=key)
            async with response["Body"] as body:
                assert await _drain(getattr(body, "raw_stream", body).content) == len(BODY)

        async def lean_get(key: str) -> None:
            async with lean.get(BUCKET, key, {}) as (_reply, stream):
                assert await _drain(stream) == len(BODY)

        async def boto_head(key: str) -> None:
            await client.head_object(Bucket=BUCKET, Key=key)

        async def lean_head(key: str) -> None:
            await lean.head(BUCKET, key, {})

        async def measure(fn) -> float:
            return await cpu_per_request(fn, keys)

        await measure(lean_put)  # objects exist, pools are warm, imports done
        await measure(boto_get)
        results: dict[str, list[float]] = {}
        for _ in range(rounds):
            for name, fn in (("put botocore", boto_put), ("put lean", lean_put), ("get botocore", boto_get),
                             ("get lean", lean_get), ("head botocore", boto_head), ("head lean", lean_head)):
                results.setdefault(name, []).append(await measure(fn))
        for name, values in results.items():
            print(f"{name:14s} {statistics.median(values):.3f} ms CPU/request "
                  f"[{min(values):.3f}-{max(values):.3f}] over {rounds} x {requests}")


def main(run: Run = run) -> None:
    """The command line both request benchmarks share (rawhttp_cpu.py passes its own run)."""
    parser = argparse.ArgumentParser()
    parser.add_argument("--requests", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--endpoint-url", help="a running server that keeps connections alive (e.g. Ceph RGW; "
                        "credentials from AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY); default: a moto of its own, "
                        "which closes every connection")
    args = parser.parse_args()
    if args.endpoint_url:
        uvloop.run(run(args.endpoint_url, args.requests, args.rounds))
        return
    with moto_server() as server:
        os.environ.update(server.env())
        uvloop.run(run(server.endpoint_url, args.requests, args.rounds))


if __name__ == "__main__":
    main()
