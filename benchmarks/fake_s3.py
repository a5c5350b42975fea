"""Client CPU per request without Ceph's noise: a keep-alive HTTP/1.1 server that answers
HEAD/GET/PUT with fixed RGW-like replies (a 64 KiB body, the head and the body written
separately as the RGW does), and request_cpu.py's measure against it.

    python benchmarks/fake_s3.py serve --port 7594 [--seconds 3600] &
    AWS_ACCESS_KEY_ID=x AWS_SECRET_ACCESS_KEY=y PYTHONPATH=src python benchmarks/fake_s3.py \\
        bench --endpoint-url http://127.0.0.1:7594 [--requests 3000] [--ops head,put,get]

The server costs a few µs per request of its own (another process): the client's getrusage
is what bench prints. Compare builds by running bench with each build's src first on
PYTHONPATH, interleaved.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import hashlib
import sys
from contextlib import AsyncExitStack
from pathlib import Path

HERE = str(Path(__file__).resolve().parent)
sys.path[:] = [p for p in sys.path if p != HERE]  # benchmarks/profile.py would shadow the stdlib's
import uvloop

BODY = bytes(range(256)) * 256
ETAG = hashlib.md5(BODY).hexdigest().encode()
COMMON = (b"Accept-Ranges: bytes\r\nLast-Modified: Wed, 02 Dec 2026 01:20:00 GMT\r\nx-rgw-object-type: Normal\r\n"
          b'ETag: "' + ETAG + b'"\r\nx-amz-request-id: tx000001234-00656a-1234-default\r\n'
          b"Content-Type: binary/octet-stream\r\nDate: Wed, 02 Dec 2026 01:20:00 GMT\r\nConnection: Keep-Alive\r\n")
OBJECT = b"HTTP/1.1 200 OK\r\nContent-Length: 65536\r\n" + COMMON + b"\r\n"
PUT = (b'HTTP/1.1 200 OK\r\nContent-Length: 0\r\nETag: "' + ETAG + b'"\r\nx-amz-request-id: tx1\r\n'
       b"Date: Wed, 02 Dec 2026 01:20:00 GMT\r\nConnection: Keep-Alive\r\n\r\n")


class Server(asyncio.Protocol):
    def connection_made(self, transport) -> None:  # type: ignore[no-untyped-def]
        self.transport, self.buf, self.need, self.method = transport, b"", -1, b""

    def data_received(self, data: bytes) -> None:
        self.buf += data
        while True:
            if self.need < 0:
                end = self.buf.find(b"\r\n\r\n")
                if end < 0:
                    return
                head, self.buf = self.buf[:end].lower(), self.buf[end + 4:]
                at = head.find(b"content-length:")
                self.need = int(head[at + 15:].split(b"\r\n")[0]) if at >= 0 else 0
                self.method = head[:4]
            if len(self.buf) < self.need:
                return
            self.buf, self.need = self.buf[self.need:], -1
            if self.method.startswith(b"put"):
                self.transport.write(PUT)
            else:
                self.transport.write(OBJECT)
                if self.method.startswith(b"get"):
                    self.transport.write(BODY)


async def serve(port: int, seconds: float) -> None:
    server = await asyncio.get_running_loop().create_server(Server, "127.0.0.1", port)
    async with server:
        await asyncio.sleep(seconds)


async def bench(endpoint: str, requests: int, ops: list[str]) -> None:
    sys.path.insert(0, HERE)
    import http_floor  # the lean engine's put/get/head, as request_cpu.py runs them

    from s3ferry.core.config import Config

    http_floor.BODY, http_floor.BODY_MD5 = BODY, hashlib.md5(BODY).digest()
    http_floor.CONTENT_MD5 = base64.b64encode(http_floor.BODY_MD5).decode()
    keys = [f"k/{i:05d}" for i in range(requests)]
    async with AsyncExitStack() as stack:
        engine = await http_floor.lean_engine(Config(endpoint_url=endpoint, max_concurrency=16,
                                                     addressing_style="path"), stack)
        for op in ops:  # warm-up: the pool's connections, caches
            await http_floor.batch(engine[op], keys[:500], 16)
        for op in ops:
            user, system, rate = await http_floor.batch(engine[op], keys, 16)
            print(f"{op} {user + system:.1f} us CPU/request (user {user:.0f}, sys {system:.0f}), {rate:.0f} req/s")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=("serve", "bench"))
    ap.add_argument("--port", type=int, default=7594)
    ap.add_argument("--seconds", type=float, default=3600)
    ap.add_argument("--endpoint-url", default="http://127.0.0.1:7594")
    ap.add_argument("--requests", type=int, default=3000)
    ap.add_argument("--ops", default="head,put,get")
    args = ap.parse_args()
    if args.what == "serve":
        uvloop.run(serve(args.port, args.seconds))
        return
    from s3ferry.cli import tuning  # the CLI's start-up tuning, as request_cpu.py

    tuning.bound_allocator()
    tuning.coalesce_without_copy()
    tuning.calm_gc()
    uvloop.run(bench(args.endpoint_url, args.requests, args.ops.split(",")))


if __name__ == "__main__":
    main()
