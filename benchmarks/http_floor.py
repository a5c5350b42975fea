#!/usr/bin/env python3
"""The HTTP floor: client CPU per 64 KiB PUT / GET / HEAD for four request paths, one process.

    PYTHONPATH=src .venv/bin/python benchmarks/http_floor.py [--requests 1000] [--rounds 3]
        [--concurrency 16] [--endpoint-url URL] [--no-botocore] [--profile OP:ENGINE ...]

Without --endpoint-url it starts a throw-away Ceph RGW (scripts/ceph_rgw.py) and stops it at
the end; with one, credentials come from AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY.

Engines, all on uvloop with the CLI's process tuning (cli/tuning.py), same concurrency:
  lean     s3ferry's LeanStore as open_store() gives it today: store.put (Content-MD5),
           store.read_range (whole object into an md5 sink), store.head
  aiohttp  bare aiohttp: a keep-alive TCPConnector, core.sigv4 signing per request, the same
           session options and timeouts as aiobotocore's pool, the body read with readchunk
  raw      the prototype below: an asyncio.Protocol HTTP/1.1 client (keep-alive pool,
           writelines, status + headers + Content-Length body parsed with bytes.find), same
           signing, a read timeout and one retry on a reused connection that died unanswered
  botocore aiobotocore's put_object / get_object / head_object, for reference

Every GET's bytes are md5-checked against the body put (all engines pay that md5: it is
reported apart, with the signing and reply-parsing costs measured on their own).
CPU = getrusage(RUSAGE_SELF) user+sys around each batch of N requests (the RGW runs in its
own processes); rounds interleave the engines, rotating their order; the figure is the median.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import os
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import uvloop
from yarl import URL

from s3ferry.cli import tuning
from s3ferry.core import s3wire
from s3ferry.core.config import Config
from s3ferry.core.locations import S3Location
from s3ferry.core.parts import Part
from s3ferry.core.sigv4 import UNSIGNED_PAYLOAD, Clock, Credentials, Signer, quote_key
from s3ferry.store.s3 import open_store

SIZE = 64 * 1024
BODY = os.urandom(SIZE)
BODY_MD5 = hashlib.md5(BODY).digest()
CONTENT_MD5 = base64.b64encode(BODY_MD5).decode()
BUCKET = "httpfloor"


def cpu() -> tuple[float, float]:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


# ---- (c) the prototype: a minimal HTTP/1.1 client on asyncio.Protocol --------------------------

class HttpError(Exception):
    pass


class _Conn(asyncio.Protocol):
    """One keep-alive connection; one request at a time; the whole body buffered as pieces."""

    def __init__(self) -> None:
        self.transport: asyncio.Transport | None = None
        self.closed = False
        self.used = False  # answered a request before: may be a stale keep-alive connection
        self._future: asyncio.Future | None = None
        self._drain: asyncio.Future | None = None
        self._buf = b""
        self._head_only = False
        self._status = 0
        self._headers: dict[str, str] = {}
        self._pieces: list[bytes] = []
        self._remaining = -1  # -1: still reading the head
        self._got_bytes = False

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        error = exc or ConnectionResetError("connection closed")
        if self._future is not None and not self._future.done():
            self._future.set_exception(error)
        if self._drain is not None and not self._drain.done():
            self._drain.set_exception(error)

    def pause_writing(self) -> None:
        self._drain = asyncio.get_running_loop().create_future()

    def resume_writing(self) -> None:
        if self._drain is not None and not self._drain.done():
            self._drain.set_result(None)
        self._drain = None

    def begin(self, future: asyncio.Future, head_only: bool) -> None:
        self._future, self._head_only = future, head_only
        self._buf, self._remaining, self._got_bytes = b"", -1, False

    def _fail(self, error: Exception) -> None:
        if self._future is not None and not self._future.done():
            self._future.set_exception(error)
        self.closed = True
        assert self.transport is not None
        self.transport.abort()

    def data_received(self, data: bytes) -> None:
        self._got_bytes = True
        if self._future is None:  # nothing asked: the server must not talk
            return self._fail(HttpError("unsolicited data"))
        if self._remaining < 0:
            buf = self._buf + data if self._buf else data
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                if len(buf) > 65536:
                    return self._fail(HttpError("response head too large"))
                self._buf = buf
                return
            lines = buf[:end].split(b"\r\n")
            status_line = lines[0]
            if not status_line.startswith(b"HTTP/1.") or len(status_line) < 12:
                return self._fail(HttpError(f"bad status line {status_line[:40]!r}"))
            self._status = status = int(status_line[9:12])
            if 100 <= status < 200:  # an interim reply (100-continue): skip its head
                self._buf = b""
                return self.data_received(buf[end + 4:]) if len(buf) > end + 4 else None
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(b":")
                headers[name.decode("latin-1").lower()] = value.strip().decode("latin-1")
            self._headers = headers
            if "transfer-encoding" in headers:
                return self._fail(HttpError("chunked responses: not in the prototype"))
            if self._head_only or status in (204, 304):
                length = 0
            elif "content-length" in headers:
                length = int(headers["content-length"])
            else:
                return self._fail(HttpError("no Content-Length: not in the prototype"))
            self._buf, self._pieces, self._remaining = b"", [], length
            data = buf[end + 4:]
        if data:
            if len(data) > self._remaining:
                return self._fail(HttpError("more bytes than Content-Length"))
            self._pieces.append(data)
            self._remaining -= len(data)
        if self._remaining == 0:
            future, self._future = self._future, None
            self._remaining = -1
            future.set_result((self._status, self._headers, self._pieces))


class RawClient:
    """Keep-alive pool for one host:port (plain TCP)."""

    def __init__(self, endpoint: str, timeout: float = 60.0, limit: int = 64) -> None:
        parts = urlsplit(endpoint)
        self.host, self.port = parts.hostname, parts.port or 80
        self.timeout = timeout
        self.limit = limit
        self._idle: list[_Conn] = []

    async def _connect(self) -> _Conn:
        loop = asyncio.get_running_loop()
        _transport, conn = await asyncio.wait_for(loop.create_connection(_Conn, self.host, self.port), 10.0)
        return conn

    async def request(self, method: str, path: str, headers: dict[str, str], body: Any = None
                      ) -> tuple[int, dict[str, str], list[bytes]]:
        """Headers must hold host; Content-Length is added for a body. One retry on a reused
        connection that closed before answering (a stale keep-alive: the request never ran)."""
        if body is not None:
            headers["content-length"] = str(len(body))
        head = (f"{method} {path} HTTP/1.1\r\n" + "".join(f"{k}: {v}\r\n" for k, v in headers.items())
                + "\r\n").encode("latin-1")
        loop = asyncio.get_running_loop()
        for _attempt in range(2):
            conn = None
            while self._idle:
                conn = self._idle.pop()
                if not conn.closed:
                    break
                conn = None
            if conn is None:
                conn = await self._connect()
            reused = conn.used
            future = loop.create_future()
            conn.begin(future, method == "HEAD")
            transport = conn.transport
            assert transport is not None
            if body is not None:
                transport.writelines((head, body))
            else:
                transport.write(head)
            timer = loop.call_later(self.timeout, conn._fail, TimeoutError("read timeout"))
            try:
                if conn._drain is not None:
                    await conn._drain
                status, reply_headers, pieces = await future
            except BaseException as exc:  # cancelled, timed out, reset: the connection is unusable
                if not conn.closed:
                    conn.closed = True
                    transport.abort()
                if (isinstance(exc, OSError) and not isinstance(exc, TimeoutError) and reused
                        and not conn._got_bytes):
                    continue  # stale keep-alive connection: send again on a fresh one
                raise
            finally:
                timer.cancel()
            conn.used = True
            if reply_headers.get("connection", "").lower() == "close" or conn.closed:
                transport.close()
            elif len(self._idle) < self.limit:
                self._idle.append(conn)
            else:
                transport.close()
            return status, reply_headers, pieces
        raise ConnectionResetError("connection closed twice before an answer")

    def close(self) -> None:
        for conn in self._idle:
            if conn.transport is not None:
                conn.transport.close()
        self._idle.clear()


# ---- the engines --------------------------------------------------------------------------------

class Signed:
    """Per-request signing as the lean path does it (core.sigv4, cached key, stamp per second)."""

    def __init__(self, endpoint: str, creds: Credentials) -> None:
        parts = urlsplit(endpoint)
        self.base = endpoint.rstrip("/")
        self.host = parts.netloc
        self.signer = Signer("us-east-1")
        self.clock = Clock()
        self.creds = creds

    def sign(self, method: str, key: str, headers: dict[str, str]) -> str:
        path = f"/{BUCKET}/{quote_key(key)}"
        headers["host"] = self.host
        headers["accept-encoding"] = "identity"
        self.signer.sign(self.creds, method, path, "", headers, self.clock.stamp(), UNSIGNED_PAYLOAD)
        return path


def check_md5(digest: bytes, count: int) -> None:
    if digest != BODY_MD5 or count != SIZE:
        raise AssertionError(f"GET returned {count} bytes, md5 {digest.hex()}")


async def check_stream(stream: Any) -> None:
    """Read an aiohttp body stream to its end, hashing it; check it against BODY."""
    h, n = hashlib.md5(), 0
    while True:
        chunk, _ = await stream.readchunk()
        if chunk:
            h.update(chunk)
            n += len(chunk)
        elif stream.at_eof():
            break
    check_md5(h.digest(), n)


async def lean_engine(config: Config, stack: Any) -> dict[str, Any]:
    store = await stack.enter_async_context(open_store(config))
    whole = Part(1, 0, SIZE)

    async def put(key: str) -> None:
        await store.put(S3Location(BUCKET, key), BODY, ContentMD5=CONTENT_MD5)

    async def get(key: str) -> None:
        h = hashlib.md5()
        n = 0

        async def sink(_offset: int, pieces: list[bytes]) -> None:
            nonlocal n
            for p in pieces:
                h.update(p)
                n += len(p)

        await store.read_range(S3Location(BUCKET, key), whole, sink, whole=True)
        check_md5(h.digest(), n)

    async def head(key: str) -> None:
        reply = await store.head(S3Location(BUCKET, key))
        assert reply["ContentLength"] == SIZE

    return {"put": put, "get": get, "head": head}


async def aiohttp_engine(signed: Signed, config: Config, stack: Any) -> dict[str, Any]:
    connector = aiohttp.TCPConnector(limit=config.pool_size, keepalive_timeout=12)
    session = await stack.enter_async_context(aiohttp.ClientSession(
        connector=connector, skip_auto_headers={"CONTENT-TYPE"}, auto_decompress=False,
        timeout=aiohttp.ClientTimeout(sock_connect=config.connect_timeout, sock_read=config.read_timeout)))

    def url(path: str) -> URL:
        return URL(f"{signed.base}{path}", encoded=True)

    async def put(key: str) -> None:
        headers = {"content-md5": CONTENT_MD5}
        path = signed.sign("PUT", key, headers)
        async with session.request("PUT", url(path), headers=headers, data=BODY) as r:
            assert r.status == 200, r.status
            assert r.headers.get("ETag")

    async def get(key: str) -> None:
        headers: dict[str, str] = {}
        path = signed.sign("GET", key, headers)
        async with session.request("GET", url(path), headers=headers) as r:
            assert r.status == 200, r.status
            await check_stream(r.content)

    async def head(key: str) -> None:
        headers: dict[str, str] = {}
        path = signed.sign("HEAD", key, headers)
        async with session.request("HEAD", url(path), headers=headers) as r:
            assert r.status == 200, r.status
            assert int(r.headers["Content-Length"]) == SIZE

    return {"put": put, "get": get, "head": head}


async def raw_engine(signed: Signed, config: Config, stack: Any) -> dict[str, Any]:
    client = RawClient(signed.base, timeout=config.read_timeout, limit=config.pool_size)
    stack.callback(client.close)

    async def put(key: str) -> None:
        headers = {"content-md5": CONTENT_MD5}
        path = signed.sign("PUT", key, headers)
        status, reply, _ = await client.request("PUT", path, headers, BODY)
        assert status == 200, status
        assert reply.get("etag")

    async def get(key: str) -> None:
        headers: dict[str, str] = {}
        path = signed.sign("GET", key, headers)
        status, _reply, pieces = await client.request("GET", path, headers)
        assert status == 200, status
        h, n = hashlib.md5(), 0
        for p in pieces:
            h.update(p)
            n += len(p)
        check_md5(h.digest(), n)

    async def head(key: str) -> None:
        headers: dict[str, str] = {}
        path = signed.sign("HEAD", key, headers)
        status, reply, _ = await client.request("HEAD", path, headers)
        assert status == 200, status
        assert int(reply["content-length"]) == SIZE

    return {"put": put, "get": get, "head": head}


async def botocore_engine(endpoint: str, config: Config, stack: Any) -> dict[str, Any]:
    from aiobotocore.config import AioConfig
    from aiobotocore.session import AioSession

    aio = AioConfig(max_pool_connections=config.pool_size, retries={"total_max_attempts": 1},
                    s3={"addressing_style": "path", "payload_signing_enabled": False},
                    request_checksum_calculation="when_required", response_checksum_validation="when_required",
                    parameter_validation=False)
    client = await stack.enter_async_context(
        AioSession().create_client("s3", region_name="us-east-1", endpoint_url=endpoint, config=aio))

    async def put(key: str) -> None:
        await client.put_object(Bucket=BUCKET, Key=key, Body=BODY, ContentMD5=CONTENT_MD5)

    async def get(key: str) -> None:
        response = await client.get_object(Bucket=BUCKET, Key=key)
        async with response["Body"] as body:
            await check_stream(getattr(body, "raw_stream", body).content)

    async def head(key: str) -> None:
        reply = await client.head_object(Bucket=BUCKET, Key=key)
        assert reply["ContentLength"] == SIZE

    return {"put": put, "get": get, "head": head}


# ---- measurement --------------------------------------------------------------------------------

async def batch(fn: Any, keys: list[str], concurrency: int) -> tuple[float, float, float]:
    """(user µs, sys µs, requests/s) for keys, ``concurrency`` requests in flight."""
    it = iter(keys)

    async def worker() -> None:
        for key in it:
            await fn(key)

    u0, s0 = cpu()
    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    u1, s1 = cpu()
    n = len(keys)
    return (u1 - u0) / n * 1e6, (s1 - s0) / n * 1e6, n / wall


def micro(signed: Signed, n: int = 5000) -> dict[str, float]:
    """CPU µs of the pieces every engine shares or lean adds: one signature, one md5 of 64
    KiB, one s3wire.parse_reply of a GET reply's headers."""
    out = {}
    t = time.process_time()
    for i in range(n):
        signed.sign("GET", f"k/{i % 1000:05d}", {})
    out["sign"] = (time.process_time() - t) / n * 1e6
    t = time.process_time()
    for _ in range(n // 5):
        hashlib.md5(BODY).digest()
    out["md5 64KiB"] = (time.process_time() - t) / (n // 5) * 1e6
    reply = {"content-length": str(SIZE), "accept-ranges": "bytes", "last-modified": "Tue, 01 Dec 2026 20:40:00 GMT",
             "x-rgw-object-type": "Normal", "etag": '"0123456789abcdef0123456789abcdef"',
             "x-amz-request-id": "tx000001", "content-type": "binary/octet-stream", "date": "Tue, 01 Dec 2026 20:40:00 GMT"}
    t = time.process_time()
    for _ in range(n):
        s3wire.parse_reply(reply, 200)
    out["parse_reply"] = (time.process_time() - t) / n * 1e6
    return out


async def run(args: argparse.Namespace, endpoint: str) -> None:
    from contextlib import AsyncExitStack

    import boto3

    boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1").create_bucket(Bucket=BUCKET)
    creds = Credentials(os.environ["AWS_ACCESS_KEY_ID"], os.environ["AWS_SECRET_ACCESS_KEY"])
    config = Config(endpoint_url=endpoint, max_concurrency=args.concurrency, addressing_style="path")
    signed = Signed(endpoint, creds)
    keys = [f"k/{i:05d}" for i in range(args.requests)]
    async with AsyncExitStack() as stack:
        engines = {"lean": await lean_engine(config, stack),
                   "aiohttp": await aiohttp_engine(signed, config, stack),
                   "raw": await raw_engine(signed, config, stack)}
        if args.botocore:
            engines["botocore"] = await botocore_engine(endpoint, config, stack)
        names = list(engines)
        warm = keys[: max(64, args.concurrency * 4)]
        await batch(engines["raw"]["put"], keys, args.concurrency)  # every object exists
        for name in names:  # pools open, lazy imports done, one request of each kind verified
            for op in ("put", "get", "head"):
                await batch(engines[name][op], warm, args.concurrency)
        results: dict[tuple[str, str], list[tuple[float, float, float]]] = {}
        micros: list[dict[str, float]] = []
        for rnd in range(args.rounds):
            order = names[rnd % len(names):] + names[: rnd % len(names)]
            for op in ("put", "get", "head"):
                for name in order:
                    results.setdefault((op, name), []).append(await batch(engines[name][op], keys, args.concurrency))
            micros.append(micro(signed))
            print(f"round {rnd + 1}/{args.rounds} done, load {os.getloadavg()[0]:.1f}", file=sys.stderr, flush=True)
        for spec in args.profile:  # one more batch under cProfile, after the measured rounds
            here = str(Path(__file__).resolve().parent)  # benchmarks/profile.py would shadow stdlib's
            sys.path[:] = [p for p in sys.path if str(Path(p or ".").resolve()) != here]
            sys.modules.pop("profile", None)
            import cProfile
            import pstats

            op, name = spec.split(":")
            profile = cProfile.Profile(time.process_time)  # CPU, not wall: the machine is shared
            profile.enable()
            await batch(engines[name][op], keys, args.concurrency)
            profile.disable()
            print(f"\n== cProfile {op} {name}", file=sys.stderr)
            pstats.Stats(profile, stream=sys.stderr).sort_stats(args.sort).print_stats(args.top)

    print(f"\n{args.requests} x 64 KiB per batch, {args.concurrency} in flight, {args.rounds} interleaved rounds, "
          f"median CPU (user+sys of this process) per request; load avg {os.getloadavg()[0]:.1f}\n")
    print("| op | engine | CPU µs/req | user | sys | range (total) | req/s | vs lean |")
    print("|---|---|---|---|---|---|---|---|")
    for op in ("put", "get", "head"):
        base = statistics.median(u + s for u, s, _ in results[(op, "lean")])
        for name in names:
            rows = results[(op, name)]
            totals = [u + s for u, s, _ in rows]
            med = statistics.median(totals)
            print(f"| {op} | {name} | {med:.0f} | {statistics.median(u for u, _, _ in rows):.0f} | "
                  f"{statistics.median(s for _, s, _ in rows):.0f} | {min(totals):.0f}-{max(totals):.0f} | "
                  f"{statistics.median(r for _, _, r in rows):.0f} | {med - base:+.0f} |")
    print("\nshared pieces, CPU µs each (median of rounds): " + ", ".join(
        f"{k} {statistics.median(m[k] for m in micros):.1f}" for k in micros[0]))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--endpoint-url")
    ap.add_argument("--no-botocore", dest="botocore", action="store_false")
    ap.add_argument("--profile", action="append", default=[], metavar="OP:ENGINE",
                    help="after the rounds, one more batch of OP (put/get/head) on ENGINE under cProfile")
    ap.add_argument("--sort", default="tottime", help="cProfile sort key for --profile")
    ap.add_argument("--top", type=int, default=30)
    args = ap.parse_args()
    tuning.bound_allocator()
    tuning.coalesce_without_copy()
    if args.endpoint_url:
        tuning.calm_gc()
        uvloop.run(run(args, args.endpoint_url))
        return
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "scripts"))
    import ceph_rgw

    directory = tempfile.mkdtemp(prefix="httpfloor-ceph-")
    try:
        info = ceph_rgw.start(directory, watch_pid=os.getpid())
        os.environ.update(AWS_ACCESS_KEY_ID=info["access_key"], AWS_SECRET_ACCESS_KEY=info["secret_key"],
                          AWS_DEFAULT_REGION="us-east-1")
        for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
            os.environ.pop(name, None)
        tuning.calm_gc()
        uvloop.run(run(args, info["endpoint_url"]))
    finally:
        ceph_rgw.stop(directory)
        os.rmdir(directory)


if __name__ == "__main__":
    main()
