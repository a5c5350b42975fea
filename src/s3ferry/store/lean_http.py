"""HTTP-level helpers of the lean request path (store/lean.py): errors, logs, headers."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from types import SimpleNamespace
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)
from yarl import URL

from s3ferry.core import http1wire, s3wire
from s3ferry.store import debug, http1

ERROR_BODY_LIMIT = 64 * 1024  # an error document is small; never read a huge body for one
_OPERATION = {"HEAD": "HeadObject", "GET": "GetObject"}


def botocore_error(exc: Exception, url: str) -> Exception | None:
    """aiohttp's errors as aiobotocore maps them, so the one retry policy and the error tree
    see the same exceptions on both engines; None for any other error. store/http1.py's
    errors map to the same: a short body or reset as aiohttp's payload/disconnect errors."""
    if isinstance(exc, http1wire.HttpError):
        return _raw_error(exc, url)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return ConnectionClosedError(error=exc, endpoint_url=url)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        if str(exc).lower().startswith("connect"):
            return ConnectTimeoutError(endpoint_url=url, error=exc)
        return ReadTimeoutError(endpoint_url=url, error=exc)
    if isinstance(exc, (aiohttp.ClientConnectionError, socket.gaierror)):
        return EndpointConnectionError(endpoint_url=url, error=exc)
    if isinstance(exc, asyncio.TimeoutError):
        return ReadTimeoutError(endpoint_url=url, error=exc)
    return None


def _raw_error(exc: http1wire.HttpError, url: str) -> Exception:
    if isinstance(exc, http1wire.ConnectFailed):
        # As aiohttp's connector error: retry.unreachable() rides out an outage (a server
        # restart) for the retry budget only for that one.
        cause = exc.__cause__ if isinstance(exc.__cause__, OSError) else OSError(str(exc))
        key = SimpleNamespace(host=urlsplit(url).hostname, port=urlsplit(url).port, ssl=False)
        return EndpointConnectionError(endpoint_url=url, error=aiohttp.ClientConnectorError(key, cause))
    if isinstance(exc, http1wire.ConnectTimeout):
        return ConnectTimeoutError(endpoint_url=url, error=exc)
    if isinstance(exc, http1wire.ReadTimeout):
        return ReadTimeoutError(endpoint_url=url, error=exc)
    return ConnectionClosedError(error=exc, endpoint_url=url)  # Disconnected, BadReply


async def exchange(bucket: Any, method: str, url: str, target: str, headers: dict[str, str], body: Any) -> Any:
    """The request on the bucket's HTTP client, store/http1.py's pool or aiohttp's session: the
    response with its head read, to be given back with ``release``."""
    if bucket.raw is not None:
        return await bucket.raw.send(*bucket.address, method, target, headers, body)
    return await bucket.session.request(method, URL(url, encoded=True), headers=headers, data=body,
                                        proxy=bucket.proxy, proxy_headers=bucket.proxy_headers or None)


async def release(bucket: Any, response: Any, url: str) -> None:
    """A response of ``exchange`` given back (its connection pooled, or closed when its body
    was not read to the end), as leaving aiohttp's ``async with`` would."""
    if bucket.raw is not None:
        bucket.raw.release(response)
        return
    try:
        response.release()
        await response.wait_for_close()
    except Exception as exc:
        mapped = botocore_error(exc, url)
        if mapped is None:
            raise
        raise mapped from exc


def log_reply(what: str | None, started: float, reply: dict[str, Any]) -> None:
    if what is None:
        return
    metadata = reply.get("ResponseMetadata", {})
    code = reply.get("Error", {}).get("Code")
    debug.log.debug("%s -> %s%s in %.1f ms (%s)", what, metadata.get("HTTPStatusCode"), f" {code}" if code else "",
                    (time.monotonic() - started) * 1000, debug.ids(metadata))


def operation(method: str, query: dict[str, str] | None) -> str:
    if query and "list-type" in query:
        return "ListObjectsV2"
    if query and "uploadId" in query:
        return "UploadPart"
    return _OPERATION.get(method, "PutObject")


def split(params: dict[str, Any]) -> tuple[dict[str, str], dict[str, str] | None]:
    query = {}
    rest = {}
    for name, value in params.items():
        if name in s3wire.QUERY_PARAMS:
            query[s3wire.QUERY_PARAMS[name]] = str(value)
        else:
            rest[name] = value
    return query, s3wire.request_headers(rest)


def sendable(body: Any) -> bool:
    """Bytes-like bodies go out as they are (a memoryview costs no copy in aiohttp)."""
    return isinstance(body, (bytes, bytearray, memoryview))


def sha256(body: Any) -> str:
    return hashlib.sha256(body).hexdigest()


def host(parts: Any) -> str:
    host = parts.hostname or ""
    if ":" in host:
        host = f"[{host}]"
    default = {"http": 80, "https": 443}.get(parts.scheme)
    return f"{host}:{parts.port}" if parts.port is not None and parts.port != default else host


def response_headers(response: Any) -> dict[str, str]:
    if isinstance(response, http1.Response):
        return response.headers
    return {k.decode("latin-1").lower(): v.decode("utf-8", "replace") for k, v in response.raw_headers}


async def client_error(response: Any, method: str, query: dict[str, str] | None) -> ClientError:
    body = b"" if method == "HEAD" else await response.content.read(ERROR_BODY_LIMIT)
    return ClientError(s3wire.parse_error(response.status, response_headers(response), body), operation(method, query))
