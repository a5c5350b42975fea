"""HTTP/1.1 fault-injection reverse proxy for tests (stdlib only).

Put it in front of a plain-http S3 endpoint (moto server, Ceph RGW, ...) and
point the client's ``endpoint_url`` at :attr:`FaultProxy.url` (use path-style
addressing).  Requests are forwarded byte-for-byte (the ``Host`` header is kept
unchanged so SigV4 signatures stay valid); the only header the proxy touches on
the way up is ``Expect: 100-continue``, which it answers itself and strips.

Fault modes (one or more rules, configurable at runtime from any thread):

``status``
    Answer with an S3-style XML error (default ``503 SlowDown``; ``500`` gives
    ``InternalError``) instead of forwarding.  The request body is consumed and
    the connection stays usable (keep-alive).
``reset_request``
    Read the request head and about half of the body, then reset the client
    connection (``SO_LINGER 0`` -> TCP RST).  Nothing reaches the upstream.
``reset_response``
    Forward the request (the upstream *does* process it), send the response
    head and about half of the body, then RST.  For a response without a body
    the connection is reset before anything is sent.
``truncate``
    Forward, send the head with the full ``Content-Length`` but only about half
    of the body, then close cleanly (FIN).  Only responses with a body qualify.
``stall``
    Read the whole request, then wait ``stall_seconds`` (``None`` = forever)
    before forwarding it.  If the client gives up (closes) during the stall the
    request is dropped and never reaches the upstream.  Other connections are
    unaffected.
``flip``
    For a ``GET`` answered with 200/206 and a non-empty body: XOR one byte of
    the body with 0xFF (same length, headers unchanged).
``stall_response``
    Forward the request (the upstream *does* process it), then hold the response
    ``stall_seconds`` before relaying it: a reply that is slow or lost after the
    store already acted (e.g. CreateMultipartUpload created an upload).
``short_body``
    For a ``GET`` answered with 200/206 and a body: send only its first half,
    with a ``Content-Length`` saying so (a well-formed but short reply, as a
    store or middlebox answering a range with fewer bytes).
``opaque_etag``
    Rewrite every ETag in the response (the ``ETag`` header and ``<ETag>``
    elements of an XML body) to another, deterministic, hex value (the ``-N``
    suffix kept) and add ``x-amz-server-side-encryption: aws:kms``: what AWS
    answers for an SSE-KMS object, whose ETags are not MD5s.
``other_checksum``
    Rewrite every ``x-amz-checksum-<algorithm>`` header of the response to another
    value of the same length (the store saying it kept other bytes than the client
    checksummed).  Only responses carrying such a header qualify.
``flip_request``
    For a request with a ``Content-Length`` body: XOR its middle byte with 0xFF
    on the way to the upstream (headers unchanged, so ``Content-MD5`` no longer
    matches; a store that checks it answers ``BadDigest``, one that does not
    keeps the damaged bytes).

Every rule can be restricted to HTTP methods (``methods={"GET"}``), to a
predicate on ``(method, target)`` (``match=``), can fire on every k-th
matching request (``every=k``) or with a seeded probability
(``probability=p, seed=s``), and can be capped (``limit=n`` injections, then
pass-through).  Without ``every``/``probability`` every matching request is
hit.

For the response-side modes (``reset_response``, ``truncate``, ``flip``),
``every``/``probability``/``limit`` count only responses the mode can apply to
(e.g. ``truncate`` skips HEAD/204; ``flip`` needs a GET 200/206 with a body).
Bodies are streamed (256 KiB pieces) except: ``stall`` buffers the request body,
and a response-side rule makes chunked/close-delimited responses buffered
(they are re-sent with a ``Content-Length``).  Client keep-alive is handled
by the proxy, separately from the upstream connection (moto closes after every
response; clients of the proxy still keep their connections).

Observed client behaviour (botocore 1.40/1.43 + urllib3, retries off):
``status`` -> ``ClientError`` (Code ``SlowDown``/``InternalError``; for HEAD
the code is just ``"503"`` since there is no body); ``reset_request`` and
``reset_response`` on a body-less response -> ``ConnectionClosedError``;
``reset_response``/``truncate`` on GetObject -> ``ResponseStreamingError`` when
reading ``Body``; ``truncate`` on a non-streaming operation ->
``ConnectionClosedError``; ``stall`` -> ``ReadTimeoutError``; ``flip`` on a
whole-object GET of an object stored with a checksum -> ``FlexibleChecksumError``
(default ``response_checksum_validation``), silently corrupt otherwise.
aiobotocore/aiohttp: aiohttp itself retries idempotent requests
(GET/HEAD/PUT/DELETE) once after a connection error before any response, even
with botocore retries off, so a single ``reset_request`` is invisible there;
use ``limit>=2`` (it then surfaces as ``EndpointConnectionError``).

Command line (for subprocess tests)::

    python tests/faultproxy.py --upstream 127.0.0.1:5000 --mode status --every 3

prints the proxy URL as the first stdout line and runs until SIGTERM/SIGINT.
"""

from __future__ import annotations

import argparse
import asyncio
import dataclasses
import random
import re
import signal
import socket
import struct
import sys
import threading
import time
import traceback
import uuid
from contextlib import aclosing
from typing import AsyncIterator, Callable, Iterable, NamedTuple, Optional

try:  # Linux: lets reset_response wait until the partial body was delivered.
    import fcntl
    import termios

    _TIOCOUTQ: Optional[int] = getattr(termios, "TIOCOUTQ", None)
except ImportError:  # pragma: no cover - non-POSIX
    fcntl = None  # type: ignore[assignment]
    _TIOCOUTQ = None

__all__ = ["FaultProxy", "FaultStats", "Record", "MODES"]

MODES = ("status", "reset_request", "reset_response", "truncate", "stall", "flip", "flip_request",
         "stall_response", "opaque_etag", "short_body", "other_checksum")
_REQUEST_MODES = frozenset({"status", "reset_request", "stall", "flip_request"})
_RESPONSE_MODES = frozenset({"reset_response", "truncate", "flip", "stall_response", "opaque_etag", "short_body",
                             "other_checksum"})

CHUNK = 256 * 1024  # streaming piece size
_STREAM_LIMIT = 1024 * 1024  # max request/response head size, reader buffer
_RST_FLUSH_TIMEOUT = 2.0

_ERROR_CODES = {
    400: ("RequestTimeout", "Your socket connection to the server was not read from or written to within the timeout period."),
    403: ("AccessDenied", "Access Denied"),
    404: ("NoSuchKey", "The specified key does not exist."),
    408: ("RequestTimeout", "Request timeout."),
    429: ("SlowDown", "Please reduce your request rate."),
    500: ("InternalError", "We encountered an internal error. Please try again."),
    502: ("BadGateway", "Bad gateway."),
    503: ("SlowDown", "Please reduce your request rate."),
    504: ("GatewayTimeout", "Gateway timeout."),
}
_REASONS = {
    400: "Bad Request", 403: "Forbidden", 404: "Not Found", 408: "Request Timeout",
    429: "Too Many Requests", 500: "Internal Server Error", 502: "Bad Gateway",
    503: "Service Unavailable", 504: "Gateway Timeout",
}


class Record(NamedTuple):
    """One request as seen by the proxy.

    ``path`` is the raw request-target (path plus query string).  ``status``
    is the status line the client received, or ``None`` if none was sent
    (reset before the response, stall abandoned, ...).  ``fault`` is the mode
    injected on this request or ``None``.
    """

    method: str
    path: str
    status: Optional[int]
    fault: Optional[str]


@dataclasses.dataclass
class FaultStats:
    """Snapshot of the proxy counters (a copy; safe to keep)."""

    requests: int = 0
    connections: int = 0  # client connections accepted
    injected: dict = dataclasses.field(default_factory=lambda: {m: 0 for m in MODES})
    log: list = dataclasses.field(default_factory=list)  # list[Record]
    errors: list = dataclasses.field(default_factory=list)  # unexpected proxy errors

    @property
    def total_injected(self) -> int:
        return sum(self.injected.values())

    def faults(self, mode: Optional[str] = None) -> list:
        """Records that got a fault (optionally only of ``mode``)."""
        return [r for r in self.log if r.fault is not None and (mode is None or r.fault == mode)]


class _Rule:
    def __init__(self, mode, every, probability, methods, match, limit, stall_seconds,
                 status, code, seed):
        if mode not in MODES:
            raise ValueError(f"unknown fault mode {mode!r}; expected one of {MODES}")
        if every is not None and every < 1:
            raise ValueError("every must be >= 1")
        if probability is not None and not 0.0 <= probability <= 1.0:
            raise ValueError("probability must be in [0, 1]")
        if every is not None and probability is not None:
            raise ValueError("give either every or probability, not both")
        self.mode = mode
        self.every = every
        self.probability = probability
        self.methods = None if methods is None else frozenset(m.upper() for m in methods)
        self.match = match
        self.limit = limit
        self.stall_seconds = stall_seconds
        self.status = status
        self.code = code
        self.rng = random.Random(seed)
        self.seen = 0
        self.injected = 0

    def applies(self, method: str, target: str) -> bool:
        if self.methods is not None and method not in self.methods:
            return False
        if self.match is not None and not self.match(method, target):
            return False
        return True

    def take(self) -> bool:
        """Count one eligible request; True if the fault fires. Caller holds the lock."""
        if self.limit is not None and self.injected >= self.limit:
            return False
        self.seen += 1
        if self.every is not None:
            hit = self.seen % self.every == 0
        elif self.probability is not None:
            hit = self.rng.random() < self.probability
        else:
            hit = True
        if hit:
            self.injected += 1
        return hit


class _ProtocolError(Exception):
    pass


class _Headers:
    """Ordered raw header list with case-insensitive lookup."""

    def __init__(self, items: list):
        self.items = items  # list[tuple[str, str]]

    @classmethod
    def parse(cls, lines: Iterable[bytes]) -> "_Headers":
        items = []
        for line in lines:
            if not line:
                continue
            name, sep, value = line.partition(b":")
            if not sep:
                raise _ProtocolError(f"bad header line {line!r}")
            items.append((name.decode("latin-1").strip(), value.decode("latin-1").strip()))
        return cls(items)

    def get(self, name: str, default: Optional[str] = None) -> Optional[str]:
        lname = name.lower()
        for k, v in self.items:
            if k.lower() == lname:
                return v
        return default

    def tokens(self, name: str) -> set:
        lname = name.lower()
        out = set()
        for k, v in self.items:
            if k.lower() == lname:
                out.update(t.strip().lower() for t in v.split(","))
        return out

    def without(self, *names: str) -> "_Headers":
        drop = {n.lower() for n in names}
        return _Headers([(k, v) for k, v in self.items if k.lower() not in drop])

    def encode(self) -> bytes:
        return b"".join(f"{k}: {v}\r\n".encode("latin-1") for k, v in self.items)


class _Request:
    def __init__(self, method, target, version, headers: _Headers):
        self.method = method
        self.target = target
        self.version = version
        self.headers = headers
        te = headers.tokens("transfer-encoding")
        self.chunked = "chunked" in te
        cl = headers.get("content-length")
        if self.chunked:
            self.length = None
        elif cl is not None:
            try:
                self.length = int(cl)
            except ValueError:
                raise _ProtocolError(f"bad content-length {cl!r}") from None
        else:
            self.length = 0
        self.has_body = self.chunked or bool(self.length)
        self.expect_continue = "100-continue" in headers.tokens("expect")
        conn = headers.tokens("connection")
        if version == "HTTP/1.0":
            self.keep_alive = "keep-alive" in conn
        else:
            self.keep_alive = "close" not in conn

    def head_for_upstream(self) -> bytes:
        hdrs = self.headers.without("expect")
        return f"{self.method} {self.target} {self.version}\r\n".encode("latin-1") + hdrs.encode() + b"\r\n"


class _Response:
    def __init__(self, version, status, reason, headers: _Headers, method: str):
        self.version = version
        self.status = status
        self.reason = reason
        self.headers = headers
        self.chunked = False
        self.length: Optional[int] = None
        self.until_eof = False
        if method == "HEAD" or status in (204, 304) or 100 <= status < 200:
            self.length = 0
        elif "chunked" in headers.tokens("transfer-encoding"):
            self.chunked = True
        elif headers.get("content-length") is not None:
            try:
                self.length = int(headers.get("content-length"))
            except ValueError:
                raise _ProtocolError("bad response content-length") from None
        else:
            self.until_eof = True
        conn = headers.tokens("connection")
        self.keep_alive = not self.until_eof and (
            "keep-alive" in conn if version == "HTTP/1.0" else "close" not in conn)

    def head(self, close_client: bool) -> bytes:
        # Connection/Keep-Alive are hop-by-hop: client keep-alive is decided by
        # the proxy, independently of the upstream connection.
        hdrs = self.headers.without("connection", "keep-alive")
        extra = b"Connection: close\r\n" if close_client else b""
        return (f"HTTP/1.1 {self.status} {self.reason}\r\n".encode("latin-1")
                + hdrs.encode() + extra + b"\r\n")


async def _read_head(reader: asyncio.StreamReader) -> Optional[list]:
    """Read a message head; returns its lines, or None on clean EOF before it."""
    try:
        data = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError as e:
        if not e.partial.strip():
            return None
        raise _ProtocolError("connection closed inside message head") from None
    except asyncio.LimitOverrunError:
        raise _ProtocolError("message head too large") from None
    lines = data.lstrip(b"\r\n").split(b"\r\n")
    while lines and not lines[-1]:
        lines.pop()
    if not lines:
        raise _ProtocolError("empty message head")
    return lines


async def _iter_length(reader: asyncio.StreamReader, n: int) -> AsyncIterator[bytes]:
    while n > 0:
        data = await reader.read(min(n, CHUNK))
        if not data:
            raise asyncio.IncompleteReadError(b"", n)
        n -= len(data)
        yield data


async def _iter_eof(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    while True:
        data = await reader.read(CHUNK)
        if not data:
            return
        yield data


async def _iter_chunked_raw(reader: asyncio.StreamReader) -> AsyncIterator[bytes]:
    """Yield a chunked body exactly as framed on the wire (for relaying)."""
    while True:
        line = await reader.readuntil(b"\r\n")
        yield line
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _ProtocolError(f"bad chunk size line {line!r}") from None
        if size == 0:
            while True:
                trailer = await reader.readuntil(b"\r\n")
                yield trailer
                if trailer == b"\r\n":
                    return
        async for data in _iter_length(reader, size + 2):
            yield data


async def _read_chunked_decoded(reader: asyncio.StreamReader) -> bytes:
    parts = []
    while True:
        line = await reader.readuntil(b"\r\n")
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise _ProtocolError(f"bad chunk size line {line!r}") from None
        if size == 0:
            while (await reader.readuntil(b"\r\n")) != b"\r\n":
                pass
            return b"".join(parts)
        parts.append(await reader.readexactly(size))
        if await reader.readexactly(2) != b"\r\n":
            raise _ProtocolError("missing CRLF after chunk")


def _request_body(reader: asyncio.StreamReader, req: _Request) -> AsyncIterator[bytes]:
    if req.chunked:
        return _iter_chunked_raw(reader)
    return _iter_length(reader, req.length or 0)


async def _flipped(pieces: AsyncIterator[bytes], at: int) -> AsyncIterator[bytes]:
    offset = 0
    async for piece in pieces:
        if offset <= at < offset + len(piece):
            damaged = bytearray(piece)
            damaged[at - offset] ^= 0xFF
            piece = bytes(damaged)
        offset += len(piece)
        yield piece


async def _replay(pieces: list) -> AsyncIterator[bytes]:
    for p in pieces:
        yield p


def _set_rst(writer: asyncio.StreamWriter) -> None:
    sock = writer.get_extra_info("socket")
    if sock is not None:
        try:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        except (OSError, ValueError):
            pass
    writer.transport.abort()


class _Upstream:
    def __init__(self, reader, writer):
        self.reader = reader
        self.writer = writer

    def usable(self) -> bool:
        return not (self.reader.at_eof() or self.reader.exception() is not None
                    or self.writer.transport.is_closing())

    def close(self) -> None:
        self.writer.transport.abort()


class FaultProxy:
    """Threaded asyncio fault-injection HTTP proxy. See module docstring."""

    def __init__(self, upstream_host: str, upstream_port: int, *, host: str = "127.0.0.1",
                 port: int = 0):
        self.upstream_host = upstream_host
        self.upstream_port = int(upstream_port)
        self.host = host
        self._want_port = port
        self.port: Optional[int] = None
        self._lock = threading.Lock()
        self._rules: list = []
        self._stats = FaultStats()
        self._loop: Optional[asyncio.AbstractEventLoop] = None
        self._thread: Optional[threading.Thread] = None
        self._server: Optional[asyncio.AbstractServer] = None
        self._tasks: set = set()
        self._transports: set = set()
        self._capture: Optional[Callable[[str, str], bool]] = None
        self._bodies: list = []

    # ------------------------------------------------------------------ control
    @property
    def url(self) -> str:
        if self.port is None:
            raise RuntimeError("proxy not started")
        return f"http://{self.host}:{self.port}"

    def start(self) -> "FaultProxy":
        if self._thread is not None:
            raise RuntimeError("already started")
        started = threading.Event()
        failure: list = []

        def run() -> None:
            loop = asyncio.new_event_loop()
            self._loop = loop
            try:
                self._server = loop.run_until_complete(asyncio.start_server(
                    self._handle, self.host, self._want_port, limit=_STREAM_LIMIT,
                    reuse_address=True))
                self.port = self._server.sockets[0].getsockname()[1]
            except BaseException as e:  # pragma: no cover - bind failure
                failure.append(e)
                started.set()
                loop.close()
                return
            started.set()
            try:
                loop.run_forever()
            finally:
                loop.run_until_complete(loop.shutdown_asyncgens())
                loop.close()

        self._thread = threading.Thread(target=run, name=f"faultproxy-{id(self):x}", daemon=True)
        self._thread.start()
        started.wait()
        if failure:
            self._thread.join()
            self._thread = None
            raise failure[0]
        return self

    def stop(self) -> None:
        """Close the listener and every client/upstream connection; join the thread."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        if thread.is_alive():
            fut = asyncio.run_coroutine_threadsafe(self._shutdown(), loop)
            try:
                fut.result(timeout=10)
            finally:
                loop.call_soon_threadsafe(loop.stop)
                thread.join(timeout=10)
        self._thread = None
        self._loop = None
        self._server = None

    async def _shutdown(self) -> None:
        if self._server is not None:
            self._server.close()
        for tr in list(self._transports):
            tr.abort()
        tasks = [t for t in self._tasks if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.gather(*tasks, return_exceptions=True)
        if self._server is not None:
            await self._server.wait_closed()

    def __enter__(self) -> "FaultProxy":
        if self._thread is None:
            self.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop()

    def set_fault(self, mode: Optional[str], *, every: Optional[int] = None,
                  probability: Optional[float] = None, methods: Optional[Iterable[str]] = None,
                  limit: Optional[int] = None, stall_seconds: Optional[float] = 30.0,
                  status: int = 503, code: Optional[str] = None,
                  match: Optional[Callable[[str, str], bool]] = None, seed: int = 0) -> None:
        """Replace all rules by a single one (``mode=None`` clears)."""
        with self._lock:
            self._rules = []
        if mode is not None:
            self.add_fault(mode, every=every, probability=probability, methods=methods,
                           limit=limit, stall_seconds=stall_seconds, status=status, code=code,
                           match=match, seed=seed)

    def add_fault(self, mode: str, *, every: Optional[int] = None,
                  probability: Optional[float] = None, methods: Optional[Iterable[str]] = None,
                  limit: Optional[int] = None, stall_seconds: Optional[float] = 30.0,
                  status: int = 503, code: Optional[str] = None,
                  match: Optional[Callable[[str, str], bool]] = None, seed: int = 0) -> None:
        """Add a rule next to the existing ones (first firing rule wins)."""
        rule = _Rule(mode, every, probability, methods, match, limit, stall_seconds, status,
                     code, seed)
        with self._lock:
            self._rules.append(rule)

    def capture(self, match: Callable[[str, str], bool]) -> None:
        """Keep the bodies of the requests ``match(method, target)`` selects (see :attr:`bodies`)."""
        with self._lock:
            self._capture = match

    @property
    def bodies(self) -> list:
        """(method, target, body bytes) of each captured request, in the order they ended."""
        with self._lock:
            return list(self._bodies)

    def clear(self) -> None:
        """Remove all fault rules (stats are kept)."""
        with self._lock:
            self._rules = []

    @property
    def stats(self) -> FaultStats:
        with self._lock:
            s = self._stats
            return FaultStats(requests=s.requests, connections=s.connections, injected=dict(s.injected), log=list(s.log),
                              errors=list(s.errors))

    def reset_stats(self) -> None:
        with self._lock:
            self._stats = FaultStats()

    def injected(self, mode: Optional[str] = None) -> int:
        with self._lock:
            if mode is None:
                return sum(self._stats.injected.values())
            return self._stats.injected[mode]

    # ------------------------------------------------------------- bookkeeping
    def _take(self, modes: frozenset, method: str, target: str,
              eligible: Callable[[str], bool] = lambda mode: True) -> Optional[_Rule]:
        with self._lock:
            for rule in self._rules:
                if rule.mode in modes and rule.applies(method, target) and eligible(rule.mode):
                    if rule.take():
                        self._stats.injected[rule.mode] += 1
                        return rule
            return None

    def _has_candidate(self, modes: frozenset, method: str, target: str) -> bool:
        with self._lock:
            return any(r.mode in modes and r.applies(method, target)
                       and (r.limit is None or r.injected < r.limit) for r in self._rules)

    def _record(self, req: _Request, status: Optional[int], fault: Optional[str]) -> None:
        with self._lock:
            self._stats.log.append(Record(req.method, req.target, status, fault))

    def _error(self, msg: str) -> None:
        with self._lock:
            self._stats.errors.append(msg)

    # ----------------------------------------------------------------- serving
    async def _handle(self, creader: asyncio.StreamReader, cwriter: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        self._tasks.add(task)
        self._transports.add(cwriter.transport)
        up_box: list = [None]  # current _Upstream
        with self._lock:
            self._stats.connections += 1
        clean = False
        try:
            while True:
                lines = await _read_head(creader)
                if lines is None:
                    clean = True
                    break
                req = self._parse_request(lines)
                with self._lock:
                    self._stats.requests += 1
                keep = await self._serve_one(req, creader, cwriter, up_box)
                if not keep:
                    clean = True
                    break
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.LimitOverrunError,
                _ProtocolError, OSError):
            pass
        except asyncio.CancelledError:
            pass
        except Exception:  # pragma: no cover - debugging aid
            self._error(traceback.format_exc())
        finally:
            up = up_box[0]
            if up is not None:
                up.close()
                self._transports.discard(up.writer.transport)
            if clean and not cwriter.transport.is_closing():
                cwriter.close()
            else:
                cwriter.transport.abort()
            self._transports.discard(cwriter.transport)
            self._tasks.discard(task)

    @staticmethod
    def _parse_request(lines: list) -> _Request:
        parts = lines[0].decode("latin-1").split()
        if len(parts) != 3 or not parts[2].startswith("HTTP/"):
            raise _ProtocolError(f"bad request line {lines[0]!r}")
        return _Request(parts[0].upper(), parts[1], parts[2], _Headers.parse(lines[1:]))

    async def _serve_one(self, req: _Request, creader, cwriter, up_box) -> bool:
        """Handle one request; returns whether the client connection stays open."""
        rule = self._take(_REQUEST_MODES, req.method, req.target)
        if req.expect_continue and req.has_body:
            cwriter.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            await cwriter.drain()

        mode = rule.mode if rule else None
        if mode == "status":
            async for _ in _request_body(creader, req):
                pass
            self._record(req, rule.status, "status")
            await self._send_error(cwriter, req, rule.status, rule.code)
            return req.keep_alive

        if mode == "reset_request":
            if req.chunked:
                await creader.read(CHUNK)
            elif req.length:
                await creader.readexactly(req.length // 2)
            self._record(req, None, "reset_request")
            _set_rst(cwriter)
            return False

        body = _request_body(creader, req)
        with self._lock:
            capture = self._capture is not None and self._capture(req.method, req.target)
        if capture:
            body = self._captured(req, body)
        if self._has_candidate(frozenset({"opaque_etag"}), req.method, req.target):
            body = await self._opaque_request(req, body)
        if mode == "flip_request" and req.length and not req.chunked:
            body = _flipped(body, req.length // 2)
        if mode == "stall":
            pieces = [p async for p in body]
            if not await self._stall(rule.stall_seconds, creader, cwriter):
                self._record(req, None, "stall")
                return False
            body = _replay(pieces)
        return await self._forward(req, body, cwriter, up_box, stalled=mode == "stall")

    async def _captured(self, req: _Request, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        pieces = []
        async for piece in body:
            pieces.append(piece)
            yield piece
        with self._lock:
            self._bodies.append((req.method, req.target, b"".join(pieces)))

    async def _opaque_request(self, req: _Request, body: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
        """Turn the rewritten ETags a client sends back into the store's own."""
        conditional = ("if-match", "if-none-match", "x-amz-copy-source-if-match")
        req.headers = _Headers([(k, _opaque(v, back=True) if k.lower() in conditional else v)
                                for k, v in req.headers.items])
        if req.method != "POST" or "uploadId=" not in req.target or req.chunked or not req.length:
            return body
        data = _opaque_xml(b"".join([p async for p in body]), back=True)
        req.headers = req.headers.without("content-length", "content-md5")
        req.headers.items.append(("Content-Length", str(len(data))))
        req.length = len(data)
        return _replay([data])

    async def _stall(self, seconds: Optional[float], creader, cwriter) -> bool:
        """Sleep; returns False if the client went away meanwhile."""
        loop = asyncio.get_running_loop()
        deadline = None if seconds is None else loop.time() + seconds
        while True:
            if (creader.at_eof() or creader.exception() is not None
                    or cwriter.transport.is_closing()):
                return False
            now = loop.time()
            if deadline is not None and now >= deadline:
                return True
            await asyncio.sleep(0.05 if deadline is None else min(0.05, deadline - now))

    async def _send_error(self, cwriter, req: _Request, status: int, code: Optional[str]) -> None:
        dcode, msg = _ERROR_CODES.get(status, ("InternalError", "Injected fault."))
        code = code or dcode
        rid = uuid.uuid4().hex[:16].upper()
        body = ('<?xml version="1.0" encoding="UTF-8"?>\n'
                f"<Error><Code>{code}</Code><Message>{msg}</Message>"
                f"<Resource>{_xml_escape(req.target)}</Resource>"
                f"<RequestId>{rid}</RequestId></Error>").encode()
        head = (f"HTTP/1.1 {status} {_REASONS.get(status, 'Error')}\r\n"
                "Content-Type: application/xml\r\n"
                f"Content-Length: {len(body)}\r\n"
                f"x-amz-request-id: {rid}\r\n"
                f"Date: {time.strftime('%a, %d %b %Y %H:%M:%S GMT', time.gmtime())}\r\n"
                "Server: faultproxy\r\n")
        if not req.keep_alive:
            head += "Connection: close\r\n"
        cwriter.write(head.encode("latin-1") + b"\r\n" + (b"" if req.method == "HEAD" else body))
        await cwriter.drain()

    async def _get_upstream(self, up_box) -> _Upstream:
        up = up_box[0]
        if up is not None and up.usable():
            return up
        if up is not None:
            up.close()
            self._transports.discard(up.writer.transport)
            up_box[0] = None
        r, w = await asyncio.open_connection(self.upstream_host, self.upstream_port,
                                             limit=_STREAM_LIMIT)
        up = _Upstream(r, w)
        self._transports.add(w.transport)
        up_box[0] = up
        return up

    def _drop_upstream(self, up_box) -> None:
        up = up_box[0]
        if up is not None:
            up.close()
            self._transports.discard(up.writer.transport)
            up_box[0] = None

    async def _forward(self, req: _Request, body: AsyncIterator[bytes], cwriter, up_box,
                       stalled: bool) -> bool:
        try:
            up = await self._get_upstream(up_box)
        except OSError:
            async for _ in body:
                pass
            self._record(req, 502, None)
            await self._send_error(cwriter, req, 502, "BadGateway")
            return req.keep_alive

        up.writer.write(req.head_for_upstream())
        async for piece in body:
            up.writer.write(piece)
            await up.writer.drain()
        await up.writer.drain()

        # Response head (skip interim 1xx responses).
        while True:
            lines = await _read_head(up.reader)
            if lines is None:
                raise ConnectionResetError("upstream closed before response")
            parts = lines[0].decode("latin-1").split(" ", 2)
            if len(parts) < 2 or not parts[0].startswith("HTTP/"):
                raise _ProtocolError(f"bad status line {lines[0]!r}")
            status = int(parts[1])
            resp = _Response(parts[0], status, parts[2] if len(parts) > 2 else "",
                             _Headers.parse(lines[1:]), req.method)
            if not 100 <= status < 200 or status == 101:
                break

        keep_client = req.keep_alive and not resp.until_eof
        reader = up.reader

        buffered: Optional[bytes] = None
        if (not resp.length and (resp.chunked or resp.until_eof)
                and self._has_candidate(_RESPONSE_MODES, req.method, req.target)):
            # Response-side faults need to know the body length: buffer it.
            if resp.chunked:
                buffered = await _read_chunked_decoded(reader)
            else:
                buffered = b"".join([p async for p in _iter_eof(reader)])
                self._drop_upstream(up_box)
            resp.headers = resp.headers.without("transfer-encoding", "content-length")
            resp.headers.items.append(("Content-Length", str(len(buffered))))
            resp.chunked = resp.until_eof = False
            resp.length = len(buffered)
            keep_client = req.keep_alive

        def eligible(mode: str) -> bool:
            if mode in ("reset_response", "stall_response", "opaque_etag"):
                return True
            if mode == "other_checksum":
                return any(_is_checksum(k) for k, _ in resp.headers.items)
            if mode == "truncate":
                return bool(resp.length)
            if mode in ("flip", "short_body"):
                return req.method == "GET" and resp.status in (200, 206) and bool(resp.length)
            return False

        rule = self._take(_RESPONSE_MODES, req.method, req.target, eligible)
        mode = rule.mode if rule else None
        fault = mode or ("stall" if stalled else None)

        def body_iter() -> AsyncIterator[bytes]:
            if buffered is not None:
                return _replay([buffered])
            if resp.chunked:
                return _iter_chunked_raw(reader)
            if resp.until_eof:
                return _iter_eof(reader)
            return _iter_length(reader, resp.length or 0)

        if mode == "stall_response":
            await asyncio.sleep(3600 if rule.stall_seconds is None else rule.stall_seconds)
        if mode == "opaque_etag":
            resp.headers = _Headers([(k, _opaque(v) if k.lower() == "etag" else v) for k, v in resp.headers.items]
                                    + [("x-amz-server-side-encryption", "aws:kms")])
            if "xml" in (resp.headers.get("content-type") or "") and resp.length:
                if buffered is None:
                    buffered = b"".join([p async for p in _iter_length(reader, resp.length)])
                buffered = _opaque_xml(buffered)
                resp.headers = resp.headers.without("content-length")
                resp.headers.items.append(("Content-Length", str(len(buffered))))
                resp.length = len(buffered)

        if mode == "other_checksum":
            resp.headers = _Headers([(k, _other_checksum(v) if _is_checksum(k) else v) for k, v in resp.headers.items])

        if mode == "short_body":
            whole = buffered if buffered is not None else b"".join([p async for p in _iter_length(reader, resp.length)])
            buffered = whole[:len(whole) // 2]
            resp.headers = resp.headers.without("content-length")
            resp.headers.items.append(("Content-Length", str(len(buffered))))
            resp.length = len(buffered)

        if mode in ("reset_response", "truncate"):
            n = resp.length or 0
            half = n // 2
            if mode == "reset_response" and n == 0:
                self._record(req, None, mode)
                self._drop_upstream(up_box)
                _set_rst(cwriter)
                return False
            self._record(req, resp.status, mode)
            cwriter.write(resp.head(close_client=mode == "truncate"))
            sent = 0
            if half:
                async with aclosing(body_iter()) as pieces:
                    async for piece in pieces:
                        take = min(len(piece), half - sent)
                        cwriter.write(piece[:take])
                        sent += take
                        await cwriter.drain()
                        if sent >= half:
                            break
            self._drop_upstream(up_box)
            if mode == "truncate":
                await cwriter.drain()
                cwriter.close()
                return False
            await self._flush_then_rst(cwriter)
            return False

        flip_at = -1
        if mode == "flip":
            flip_at = rule.rng.randrange(resp.length)
        self._record(req, resp.status, fault)
        cwriter.write(resp.head(close_client=not keep_client))
        offset = 0
        async for piece in body_iter():
            if offset <= flip_at < offset + len(piece):
                b = bytearray(piece)
                b[flip_at - offset] ^= 0xFF
                piece = bytes(b)
            offset += len(piece)
            cwriter.write(piece)
            await cwriter.drain()
        if not resp.keep_alive:
            self._drop_upstream(up_box)
        await cwriter.drain()
        return keep_client

    async def _flush_then_rst(self, cwriter: asyncio.StreamWriter) -> None:
        """Make sure what was written reached the peer, then reset the connection.

        With SO_LINGER 0 the kernel discards unsent data, so wait (bounded) for
        both asyncio's buffer and the kernel send queue to drain first.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + _RST_FLUSH_TIMEOUT
        tr = cwriter.transport
        while tr.get_write_buffer_size() and loop.time() < deadline and not tr.is_closing():
            await asyncio.sleep(0.002)
        sock = cwriter.get_extra_info("socket")
        if sock is not None and fcntl is not None and _TIOCOUTQ is not None:
            while loop.time() < deadline and not tr.is_closing():
                try:
                    buf = fcntl.ioctl(sock.fileno(), _TIOCOUTQ, b"\0\0\0\0")
                except OSError:
                    break
                if struct.unpack("i", buf)[0] == 0:
                    break
                await asyncio.sleep(0.002)
        _set_rst(cwriter)


_HEX = "0123456789abcdef"


def _is_checksum(header: str) -> bool:
    name = header.lower()
    return name.startswith("x-amz-checksum-") and name not in (
        "x-amz-checksum-type", "x-amz-checksum-algorithm", "x-amz-checksum-mode")


def _other_checksum(value: str) -> str:
    """Another base64 value of the same length (the first character changed)."""
    return ("B" if value[:1] == "A" else "A") + value[1:]


def _opaque(etag: str, back: bool = False) -> str:
    """Another ETag, the same for the same input (so HEAD, listings and replies agree), and
    reversible: what the client sends back (Complete's part list, If-Match) is turned back."""
    etag = etag.replace("&quot;", '"').replace("&#34;", '"')
    quoted = etag.startswith('"')
    digest, dash, parts = etag.strip('"').partition("-")
    shift = -7 if back else 7
    new = "".join(_HEX[(_HEX.index(c) + shift) % 16] if c in _HEX else c for c in digest.lower()) + dash + parts
    return f'"{new}"' if quoted else new


def _opaque_xml(body: bytes, back: bool = False) -> bytes:
    return re.sub(rb"<ETag>(.*?)</ETag>", lambda m: b"<ETag>" + _opaque(m.group(1).decode(), back).replace(
        '"', "&quot;").encode() + b"</ETag>", body)


def _xml_escape(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


# --------------------------------------------------------------------------- CLI
def _parse_hostport(s: str) -> tuple:
    host, sep, port = s.rpartition(":")
    if not sep:
        raise argparse.ArgumentTypeError("expected HOST:PORT")
    return host or "127.0.0.1", int(port)


def main(argv: Optional[list] = None) -> int:
    p = argparse.ArgumentParser(description="HTTP fault-injection proxy (prints its URL).")
    p.add_argument("--upstream", required=True, type=_parse_hostport, help="HOST:PORT")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--mode", choices=MODES)
    p.add_argument("--every", type=int)
    p.add_argument("--probability", type=float)
    p.add_argument("--methods", help="comma separated, e.g. GET,PUT")
    p.add_argument("--path-contains", help="only requests whose target contains this")
    p.add_argument("--limit", type=int)
    p.add_argument("--stall-seconds", type=float, default=30.0,
                   help="negative = stall forever")
    p.add_argument("--status", type=int, default=503)
    p.add_argument("--code")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args(argv)

    proxy = FaultProxy(*args.upstream, host=args.host, port=args.port)
    if args.mode:
        needle = args.path_contains
        proxy.set_fault(
            args.mode, every=args.every, probability=args.probability,
            methods=args.methods.split(",") if args.methods else None, limit=args.limit,
            stall_seconds=None if args.stall_seconds < 0 else args.stall_seconds,
            status=args.status, code=args.code, seed=args.seed,
            match=(lambda m, t: needle in t) if needle else None)
    done = threading.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        signal.signal(sig, lambda *_: done.set())
    proxy.start()
    print(proxy.url, flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        proxy.stop()
        s = proxy.stats
        print(f"faultproxy: requests={s.requests} injected={s.injected}", file=sys.stderr,
              flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
