"""HTTP-level helpers of the lean request path (store/lean.py): a bucket's target, the open
response of one request and its release, errors, logs, headers."""

from __future__ import annotations

import asyncio
import hashlib
import socket
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    ReadTimeoutError,
)

from s3ferry.core import http1wire, s3wire
from s3ferry.core.sigv4 import Signer
from s3ferry.store import debug, http1
from s3ferry.store.errors import loaded

ERROR_BODY_LIMIT = 64 * 1024  # an error document is small; never read a huge body for one
_OPERATION = {"HEAD": "HeadObject", "GET": "GetObject"}
_UPLOAD_OPERATION = {"POST": "CompleteMultipartUpload", "DELETE": "AbortMultipartUpload"}
NOT_SERVED: Any = object()  # this request needs botocore


@dataclass(frozen=True, slots=True)
class Target:
    """What every request to one bucket shares, resolved once by botocore's endpoint rules."""

    name: str
    base: str  # scheme://host[:port][/bucket], no trailing slash
    path: str  # the path prefix of base ('' or '/bucket')
    host: str  # the Host header, as signed
    signer: Signer
    session: Any  # aiohttp.ClientSession; None where raw serves without aiohttp (store/environ.py)
    proxy: str | None
    proxy_headers: dict[str, str]
    raw: http1.Pool | None = None  # store/http1.py's pool instead of aiohttp's (plain http, no proxy)
    address: tuple[str, int] = ("", 0)


async def resolve_target(name: str, base: str, signer: Signer, http: Any, raw: http1.Pool | None) -> Target:
    """The bucket at ``base`` on aiobotocore's pool ``http`` (its proxies, its session), on
    ``raw`` instead where that serves (plain http, no proxy). ``http`` None: a light start,
    where raw serves every bucket (store/environ.py checked there is no proxy)."""
    parts = urlsplit(base)
    address = (parts.hostname or "", parts.port or 80)
    if http is None:
        assert raw is not None and parts.scheme == "http", "without aiohttp only raw can serve"
        return Target(name, base, parts.path, host(parts), signer, None, None, {}, raw, address)
    proxy = http._proxy_config.proxy_url_for(base)
    session = await http._get_session(proxy)
    return Target(name, base, parts.path, host(parts), signer, session, proxy,
                  http._proxy_config.proxy_headers_for(base), raw if proxy is None and parts.scheme == "http" else None,
                  address)


def botocore_error(exc: Exception, url: str) -> Exception | None:
    """aiohttp's errors as aiobotocore maps them, so the one retry policy and the error tree
    see the same exceptions on both engines; None for any other error. store/http1.py's
    errors map to the same: a short body or reset as aiohttp's payload/disconnect errors."""
    if isinstance(exc, http1wire.HttpError):
        return _raw_error(exc, url)
    aiohttp = loaded("aiohttp")
    if aiohttp is None:  # none of its errors can have been raised
        return _other_error(exc, url)
    if isinstance(exc, (aiohttp.ServerDisconnectedError, aiohttp.ClientPayloadError)):
        return ConnectionClosedError(error=exc, endpoint_url=url)
    if isinstance(exc, aiohttp.ServerTimeoutError):
        if str(exc).lower().startswith("connect"):
            return ConnectTimeoutError(endpoint_url=url, error=exc)
        return ReadTimeoutError(endpoint_url=url, error=exc)
    if isinstance(exc, aiohttp.ClientConnectionError):
        return EndpointConnectionError(endpoint_url=url, error=exc)
    return _other_error(exc, url)


def _other_error(exc: Exception, url: str) -> Exception | None:
    if isinstance(exc, socket.gaierror):
        return EndpointConnectionError(endpoint_url=url, error=exc)
    if isinstance(exc, asyncio.TimeoutError):
        return ReadTimeoutError(endpoint_url=url, error=exc)
    return None


def mapped(exc: Exception, url: str) -> Exception:
    """What to raise for ``exc``: botocore's exception for a transport error, else ``exc``."""
    error = botocore_error(exc, url)
    if error is None:
        return exc
    error.__cause__ = exc
    return error


def _raw_error(exc: http1wire.HttpError, url: str) -> Exception:
    if isinstance(exc, http1wire.ConnectFailed):
        # retry.unreachable() rides out an outage (a server restart) for the retry budget for
        # this one, as for aiohttp's connector error.
        return EndpointConnectionError(endpoint_url=url, error=exc)
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
    from yarl import URL  # aiohttp's, loaded with it

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
    except Exception as exc:  # noqa: BLE001 - raised again, as botocore's where mapped
        raise mapped(exc, url)


class OpenGet:
    """One GetObject for ``async with``: (reply, stream), or NOT_SERVED. The body is read inside
    the block, where a failure maps to botocore's exceptions as the request's own do; leaving
    it gives the response back (its connection pooled, or closed if the body was not all read).
    A class rather than @asynccontextmanager: no generator per request."""

    __slots__ = ("_args", "_open", "_opened", "_parse")

    def __init__(self, open_: Callable[..., Awaitable[Any]], args: tuple[Any, ...], parse: bool = True) -> None:
        self._open, self._args = open_, args  # LeanEngine._open and its arguments
        self._opened: Any = NOT_SERVED
        self._parse = parse  # False: the reply is None (a caller that reads only the body)

    async def __aenter__(self) -> Any:
        self._opened = await self._open(*self._args)
        if self._opened is NOT_SERVED:
            return NOT_SERVED
        _, response, _ = self._opened
        if not self._parse:
            return None, response.content
        try:
            return s3wire.parse_reply(response_headers(response), response.status), response.content
        except BaseException:
            await self.__aexit__(None, None, None)
            raise

    async def __aexit__(self, kind: object, exc: BaseException | None, tb: object) -> None:
        if self._opened is NOT_SERVED:
            return
        bucket, response, url = self._opened
        self._opened = NOT_SERVED
        await release(bucket, response, url)
        if isinstance(exc, Exception):
            error = botocore_error(exc, url)
            if error is not None:
                raise error from exc


def log_reply(what: str | None, started: float, reply: dict[str, Any]) -> None:
    if what is None:
        return
    metadata = reply.get("ResponseMetadata", {})
    code = reply.get("Error", {}).get("Code")
    debug.log.debug("%s -> %s%s in %.1f ms (%s)", what, metadata.get("HTTPStatusCode"), f" {code}" if code else "",
                    (time.monotonic() - started) * 1000, debug.ids(metadata))


def operation(method: str, query: dict[str, str] | None, key: str | None = "") -> str:
    """botocore's name for the request (key None: the bucket itself)."""
    if key is None and method == "HEAD":
        return "HeadBucket"
    if query:
        if "list-type" in query:
            return "ListObjectsV2"
        if "uploads" in query:  # store/lean_multipart.py's
            return "ListMultipartUploads" if method == "GET" else "CreateMultipartUpload"
        if "uploadId" in query:
            return _UPLOAD_OPERATION.get(method, "UploadPart")
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


async def client_error(response: Any, method: str, query: dict[str, str] | None, key: str | None = "") -> ClientError:
    body = b"" if method == "HEAD" else await response.content.read(ERROR_BODY_LIMIT)
    return ClientError(s3wire.parse_error(response.status, response_headers(response), body),
                       operation(method, query, key))
