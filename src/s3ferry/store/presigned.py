"""Requests through presigned URLs: no credentials, no botocore, plain HTTP (aiohttp). The
URL carries the signature; this edge sends the request under the one retry policy and turns
an S3 error reply into the same ClientError botocore raises, so retry (store/retry.py) and
error mapping (store/errors.py) apply unchanged. A URL is never printed whole: its query
string is a credential until it expires (core/presign.url_label). aiohttp is imported when a
presigned session opens, not with this module: a run that sends no presigned request has no
use for it (~0.2 CPU-s of start-up)."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError

from s3ferry.core.config import DOWNLOAD_CHUNK, Config
from s3ferry.core.errors import EndpointError
from s3ferry.core.etag import content_md5
from s3ferry.core.parts import Part
from s3ferry.core.presign import parse_s3_reply, url_label
from s3ferry.store.ranges import Sink, feed_range
from s3ferry.store.retry import with_retry

if TYPE_CHECKING:
    import aiohttp

Headers = Mapping[str, str]  # case-insensitive (CIMultiDict)


def _headers(reply: aiohttp.ClientResponse) -> Headers:
    from multidict import CIMultiDict  # aiohttp's, loaded with it

    return CIMultiDict(reply.headers)


class PresignedStore:
    def __init__(self, session: aiohttp.ClientSession, config: Config):
        self.session = session
        self.config = config

    async def retry(self, call: Callable[[], Awaitable[Any]]) -> Any:
        return await with_retry(self.config, call)

    async def put(self, url: str, body: Any, md5: bytes, headers: Headers | None = None) -> Headers:
        """PUT the body (a whole object or one part) with its Content-MD5; the reply's headers."""
        async def send() -> Headers:
            sent = {"Content-MD5": content_md5(md5), **(headers or {})}
            # No Content-Type unless asked: a URL signed with one needs exactly that one.
            skip = () if "Content-Type" in sent else ("Content-Type",)
            async with self._request("PUT", url, data=body, headers=sent, skip_auto_headers=skip) as reply:
                await _check(reply, url)
                return _headers(reply)
        return await self.retry(send)

    async def post(self, url: str, body: bytes) -> bytes:
        async def send() -> bytes:
            async with self._request("POST", url, data=body) as reply:
                await _check(reply, url)
                return await reply.read()
        return await self.retry(send)

    async def delete(self, url: str) -> None:
        async def send() -> None:
            async with self._request("DELETE", url) as reply:
                await _check(reply, url)
        await self.retry(send)

    async def head(self, url: str) -> Headers:
        async def send() -> Headers:
            async with self._request("HEAD", url) as reply:
                await _check(reply, url)
                return _headers(reply)
        return await self.retry(send)

    async def probe(self, url: str) -> Headers:
        """The headers of a one-byte GET: size (Content-Range), ETag, metadata. A zero-byte
        object cannot serve a range (416), so then a plain GET."""
        async def send() -> Headers:
            async with self._request("GET", url, headers={"Range": "bytes=0-0"}) as reply:
                if reply.status == 416:
                    async with self._request("GET", url) as whole:
                        await _check(whole, url)
                        return _headers(whole)
                await _check(reply, url)
                return _headers(reply)
        return await self.retry(send)

    async def read_range(self, url: str, part: Part, sink: Sink, *, if_match: str | None = None) -> None:
        """One ranged GET of ``part`` handed to ``sink`` in batches; the caller retries."""
        headers = {"Range": part.http_range}
        if if_match:
            headers["If-Match"] = if_match
        async with self._request("GET", url, headers=headers) as reply:
            await _check(reply, url)
            await feed_range(reply.content, part, sink, DOWNLOAD_CHUNK)

    @asynccontextmanager
    async def _request(self, method: str, url: str, **kwargs: Any) -> AsyncIterator[aiohttp.ClientResponse]:
        import aiohttp
        from yarl import URL

        try:
            # encoded=True: the URL is sent exactly as signed (re-quoting would break the signature).
            async with self.session.request(method, URL(url, encoded=True), **kwargs) as reply:
                yield reply
        except aiohttp.ClientConnectorError as exc:
            raise EndpointError(f"cannot reach {url_label(url)} ({exc.os_error})") from None


async def _check(reply: aiohttp.ClientResponse, url: str) -> None:
    """An S3 error reply becomes botocore's ClientError: code, message, status."""
    if reply.status < 300:
        return
    body = await reply.read()
    fields = parse_s3_reply(body)
    code = fields.get("Code") or str(reply.status)
    message = fields.get("Message") or reply.reason or ""
    raise ClientError({"Error": {"Code": code, "Message": f"{message} ({url_label(url)})"},
                       "ResponseMetadata": {"HTTPStatusCode": reply.status}}, "PresignedRequest")


@asynccontextmanager
async def open_presigned(config: Config) -> AsyncIterator[PresignedStore]:
    import aiohttp

    timeout = aiohttp.ClientTimeout(sock_connect=config.connect_timeout, sock_read=config.read_timeout)
    connector = aiohttp.TCPConnector(limit=config.pool_size)
    async with aiohttp.ClientSession(timeout=timeout, connector=connector, auto_decompress=False) as session:
        yield PresignedStore(session, config)
