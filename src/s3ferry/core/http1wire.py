"""HTTP/1.1 on the wire for store/http1.py (pure): the request head, the reply head, chunked
bodies, and the errors the client raises (store/lean_http.py maps them to botocore's)."""

from __future__ import annotations

from typing import Any

MAX_HEAD = 64 * 1024  # a reply head larger than this is not S3's
USER_AGENT = "s3ferry"


class HttpError(Exception):
    """What went wrong on the wire (lean_http maps each to botocore's exception)."""


class ConnectFailed(HttpError):
    """Refused, unreachable, a name that does not resolve."""


class ConnectTimeout(HttpError):
    pass


class ReadTimeout(HttpError):
    """No byte moved either way for the read timeout."""


class Disconnected(HttpError):
    """Closed or reset mid-exchange, or a body shorter than announced."""


class BadReply(HttpError):
    """Bytes that are not an HTTP/1.x reply."""


_WS = " \t\n\r\x0b\x0c"  # what bytes.strip() strips (str.strip() would strip more)


def parse_head(head: bytes) -> tuple[int, dict[str, str], bool]:
    """Status, headers (lower-case names; a repeated one keeps its last value, as aiohttp's
    dict would) and whether the connection may be kept, from a head without its blank line.
    Names are latin-1, values UTF-8 (invalid bytes replaced). Parsed as one latin-1 string
    (bytes as they are): one decode per head instead of two per line."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if version not in ("HTTP/1.1", "HTTP/1.0") or len(code) != 3 or not (code.isascii() and code.isdigit()) \
            or rest[3:4] not in ("", " "):
        raise BadReply(f"not an HTTP/1.x status line: {lines[0][:80].encode('latin-1')!r}")
    headers = {}
    for line in lines[1:]:
        name, sep, value = line.partition(":")
        if not sep or not name or name != name.strip(_WS):
            raise BadReply(f"bad header line: {line[:80].encode('latin-1')!r}")
        value = value.strip(_WS)
        if not value.isascii():
            value = value.encode("latin-1").decode("utf-8", "replace")
        headers[name.lower()] = value
    connection = headers.get("connection", "").lower()
    keep = "close" not in connection if version == "HTTP/1.1" else "keep-alive" in connection
    return int(code), headers, keep


class Chunked:
    """Incremental decoder of a chunked body: feed bytes, take the decoded pieces."""

    def __init__(self) -> None:
        self.buf = bytearray()
        self.left = -1  # >0: chunk bytes to come; -1: a size line; -2: the CRLF after data; -3: trailers
        self.done = False

    def feed(self, data: bytes) -> list[bytes]:
        self.buf += data
        out: list[bytes] = []
        while not self.done and self._step(out):
            pass
        return out

    def _step(self, out: list[bytes]) -> bool:
        buf = self.buf
        if self.left > 0:
            if not buf:
                return False
            piece = bytes(buf[:self.left])
            del buf[:len(piece)]
            out.append(piece)
            self.left -= len(piece)
            if self.left == 0:
                self.left = -2
            return True
        if self.left == -2:
            if len(buf) < 2:
                return False
            if buf[:2] != b"\r\n":
                raise BadReply("chunk not followed by CRLF")
            del buf[:2]
            self.left = -1
            return True
        end = buf.find(b"\r\n")
        if end < 0:
            if len(buf) > 4096:
                raise BadReply("chunk size line too long")
            return False
        line = bytes(buf[:end])
        del buf[:end + 2]
        if self.left == -3:
            self.done = line == b""  # trailer lines are skipped; a blank line ends the body
            return True
        size = line.split(b";", 1)[0].strip()
        if not size or len(size) > 15 or size.strip(b"0123456789abcdefABCDEF"):
            raise BadReply(f"bad chunk size line: {line[:40]!r}")
        self.left = int(size, 16) or -3
        return True


def request_head(method: str, target: str, headers: dict[str, str], body: Any) -> bytes:
    lines = [f"{method} {target} HTTP/1.1\r\nuser-agent: {USER_AGENT}\r\n"]
    for name, value in headers.items():
        if "\n" in value or "\r" in value:
            raise ValueError(f"header {name} holds a line break")
        lines.append(f"{name}: {value}\r\n")
    if body is not None or method == "PUT":
        lines.append(f"content-length: {memoryview(body).nbytes if body is not None else 0}\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("utf-8")
