"""The lean request path: HeadObject, GetObject, PutObject and UploadPart signed and sent here,
on the aiobotocore client's own aiohttp pool, instead of through botocore's request machinery.

Why: botocore spends ~1 ms of CPU per small request (serialise, endpoint rules, ~20 event
hooks, sign, parse ~40 header members); s3ferry's small-file transfers are that cost. Here
per-bucket invariants (base URL, host, signing scope, the pooled session) are resolved once
by botocore itself, each request is a header dict, a SigV4 signature with a cached key
(core.sigv4) and one aiohttp call, and replies and errors come back in botocore's shapes
(core.s3wire, ``botocore.exceptions.ClientError``) so the error tree and the retry policy
apply unchanged. What this path cannot serve (S3 Express, SigV4a, parameters botocore must
compute) returns NOT_SERVED and goes through botocore.
"""

from __future__ import annotations

import logging
import time
from typing import Any

from botocore.exceptions import NoCredentialsError

from s3ferry.core import s3wire
from s3ferry.core.sigv4 import EMPTY_SHA256, UNSIGNED_PAYLOAD, Clock, Credentials, Signer, canonical_query, quote_key
from s3ferry.store import debug
from s3ferry.store.client import LazyClient
from s3ferry.store.direct import Direct
from s3ferry.store.http1 import Pool
from s3ferry.store.lean_http import (
    NOT_SERVED,
    OpenGet,
    Target,
    client_error,
    exchange,
    log_reply,
    mapped,
    operation,
    release,
    resolve_target,
    response_headers,
    sendable,
    sha256,
    split,
)

log = logging.getLogger("s3ferry")
_UNRESOLVED: Any = object()  # a bucket not looked at yet
# Replies that botocore's S3 region redirector turns into a retry at the bucket's real region
# (a wrong or missing --region on AWS). The lean path hands such a bucket to botocore for good.
REDIRECT_STATUS = frozenset({301, 307})
REDIRECT_CODES = frozenset({"PermanentRedirect", "AuthorizationHeaderMalformed", "IllegalLocationConstraintException"})


class _Redirected(Exception):
    """The bucket lives elsewhere: botocore's redirector knows how to follow."""


class LeanEngine:
    """Sends the hot requests for one aiobotocore client (its credentials, endpoint rules,
    connection pool and TLS/proxy settings), or, given ``direct``, for the same session
    without building the client while direct's endpoint resolution serves the bucket."""

    def __init__(self, client: Any, sign_payload: bool = False, direct: Direct | None = None,
                 raw: Pool | None = None) -> None:
        self._client = client
        self._direct = direct
        self._raw = raw  # store/http1.py's pool for plain-http buckets without a proxy, else aiohttp
        self._sign_payload = sign_payload
        self._buckets: dict[str, Target | None] = {}
        self._clock = Clock()
        self._frozen: Credentials | None = None

    # ---- setup, once per bucket ---------------------------------------------------------

    async def _bucket(self, bucket: str) -> Target | None:
        if bucket not in self._buckets:
            try:
                self._buckets[bucket] = await self._resolve(bucket)
            except Exception as exc:  # noqa: BLE001 - e.g. a bucket name the rules reject, or an
                # aiobotocore without the internals used here: botocore then serves (or refuses) it
                log.debug("lean path not used for bucket %r: %s", bucket, exc)
                self._buckets[bucket] = None
        return self._buckets[bucket]

    async def _resolve(self, bucket: str) -> Target | None:
        direct = self._direct
        where = direct.endpoint(bucket) if direct is not None else None
        if direct is not None and where is not None:
            base, region, service, http = where.base, direct.region, "s3", direct.http
        else:
            client = await self._real_client()
            model = client.meta.service_model.operation_model("HeadObject")
            url, extra_headers, props = await client._resolve_endpoint_ruleset(
                model, {"Bucket": bucket, "Key": "k"}, {})
            scheme = (props.get("authSchemes") or [{"name": "sigv4"}])[0]
            if extra_headers or scheme.get("name") != "sigv4" or "s3express" in str(props).lower():
                return None  # SigV4a, S3 Express sessions, ...: botocore's business
            base, http = url.rstrip("/"), client._endpoint.http_session
            region = scheme.get("signingRegion") or client.meta.region_name
            service = scheme.get("signingName") or "s3"
        return await resolve_target(bucket, base, Signer(region, service), http, self._raw)

    async def _real_client(self) -> Any:
        return await self._client.created() if isinstance(self._client, LazyClient) else self._client

    async def _credentials(self) -> Credentials:
        """Fresh credentials from the client's own provider chain (refreshing ones refresh)."""
        if self._direct is not None:
            source = await self._direct.credentials()
        else:
            source = (await self._real_client())._request_signer._credentials
        if source is None:
            raise NoCredentialsError()
        frozen = await source.get_frozen_credentials()
        if self._frozen is None or (frozen.access_key, frozen.secret_key, frozen.token) != (
                self._frozen.access_key, self._frozen.secret_key, self._frozen.token):
            self._frozen = Credentials(frozen.access_key, frozen.secret_key, frozen.token)
        return self._frozen

    # ---- one request ---------------------------------------------------------------------
    # A plain coroutine that returns the open response, released by its caller, rather than
    # nested context managers: a small request's CPU is mostly per-call overhead (profile.md
    # "request (session 5)").

    async def _request(self, method: str, bucket: Target, key: str | None, query: dict[str, str],
                       headers: dict[str, str], body: Any = None) -> tuple[Any, str]:
        """(response, url) of one request, its reply head read and its status < 300; the caller
        reads the body and then must ``release`` it. Errors are botocore's (a status >= 300 as
        ClientError with the S3 code, its body read and the response released)."""
        # key None: the bucket itself ("/bucket" path style, "/" virtual host style), as botocore sends
        tail = f"/{quote_key(key)}" if key is not None else ("" if bucket.path else "/")
        path = f"{bucket.path}{tail}"
        query_text = canonical_query(query) if query else ""
        headers["host"] = bucket.host
        headers["accept-encoding"] = "identity"  # aiohttp would ask for gzip (botocore #1255)
        payload = UNSIGNED_PAYLOAD
        if self._sign_payload:
            payload = sha256(body) if body is not None else EMPTY_SHA256
        bucket.signer.sign(await self._credentials(), method, path, query_text, headers, self._clock.stamp(),
                           payload)
        suffix = f"?{query_text}" if query_text else ""
        target, url = f"{path}{suffix}", f"{bucket.base}{tail}{suffix}"
        # --debug: the same line per request as store/debug.py writes for botocore's requests
        what = debug.describe(operation(method, query, key), {"Bucket": bucket.name, "Key": key or query.get(
            "prefix", ""), **({"PartNumber": query["partNumber"]} if "partNumber" in query else {})}) \
            if debug.log.isEnabledFor(logging.DEBUG) else None
        started = time.monotonic()
        try:
            response = await exchange(bucket, method, url, target, headers, body)
        except Exception as exc:  # noqa: BLE001 - raised again, as botocore's where mapped
            if what:
                debug.log.debug("%s -> %s: %s in %.1f ms", what, type(exc).__name__, exc,
                                (time.monotonic() - started) * 1000)
            raise mapped(exc, url)
        if response.status >= 300:
            try:
                error = await client_error(response, method, query, key)
            except Exception as exc:  # noqa: BLE001 - raised again, as botocore's where mapped
                raise mapped(exc, url)
            finally:
                await release(bucket, response, url)
            log_reply(what, started, error.response)
            if response.status in REDIRECT_STATUS or error.response["Error"].get("Code") in REDIRECT_CODES:
                raise _Redirected() from error
            raise error
        if what:
            log_reply(what, started, s3wire.reply_metadata(response.headers, response.status))
        return response, url

    async def _open(self, method: str, bucket: str, key: str | None, params: dict[str, Any],
                    body: Any = None, query: dict[str, str] | None = None,
                    headers: dict[str, str] | None = None) -> Any:
        """(bucket, response, url) as _request gives them, or NOT_SERVED: parameters only botocore
        can send, a bucket the endpoint rules give another auth scheme, or one in another region.
        ``headers``: already mapped (store/lean_multipart.py), instead of those of ``params``."""
        params_query, mapped_headers = split(params)
        headers = mapped_headers if headers is None else headers
        if query:
            params_query.update(query)
        target = self._buckets.get(bucket, _UNRESOLVED)
        if target is _UNRESOLVED:
            target = await self._bucket(bucket)
        if headers is None or target is None:
            return NOT_SERVED
        try:
            response, url = await self._request(method, target, key, params_query, headers, body)
        except _Redirected:
            self._buckets[bucket] = None
            return NOT_SERVED
        return target, response, url

    async def exchange_whole(self, method: str, bucket: str, key: str | None, *, body: Any = None,
                             query: dict[str, str] | None = None, headers: dict[str, str] | None = None) -> Any:
        """(reply headers, status, body) of a request whose small reply is read whole (a listing,
        the multipart control requests), or NOT_SERVED."""
        opened = await self._open(method, bucket, key, {}, body, query=query, headers=headers)
        if opened is NOT_SERVED:
            return NOT_SERVED
        target, response, url = opened
        try:
            content = await response.read()
        except Exception as exc:  # noqa: BLE001 - raised again, as botocore's where mapped
            raise mapped(exc, url)
        finally:
            await release(target, response, url)
        return response_headers(response), response.status, content

    # ---- operations: each returns NOT_SERVED when botocore must do it --------------------

    async def head(self, bucket: str, key: str | None, params: dict[str, Any]) -> Any:
        """HeadObject, or HeadBucket when ``key`` is None (which spares a small transfer the
        botocore client, ~0.13 CPU-s to build, that it would need for nothing else)."""
        opened = await self._open("HEAD", bucket, key, params)
        if opened is NOT_SERVED:
            return NOT_SERVED
        target, response, url = opened
        try:
            if key is None:
                return s3wire.parse_bucket_reply(response_headers(response), response.status)
            return s3wire.parse_reply(response_headers(response), response.status)
        finally:
            await release(target, response, url)

    def get(self, bucket: str, key: str, params: dict[str, Any], parse: bool = True) -> OpenGet:
        """``async with``: (reply, stream) of a GetObject, or NOT_SERVED. ``parse`` False: the
        reply is None, for a caller that wants only the body (no reply dict built per GET)."""
        return OpenGet(self._open, ("GET", bucket, key, params), parse)

    async def put(self, bucket: str, key: str, body: Any, params: dict[str, Any]) -> Any:
        """PutObject, or UploadPart when params hold PartNumber and UploadId."""
        if not sendable(body):
            return NOT_SERVED
        opened = await self._open("PUT", bucket, key, params, body)
        if opened is NOT_SERVED:
            return NOT_SERVED
        target, response, url = opened
        try:
            reply = s3wire.parse_reply(response_headers(response), response.status)
        finally:
            await release(target, response, url)
        reply.pop("ContentLength", None)  # the reply's own length, not a member of Put/UploadPart
        reply.pop("ContentType", None)
        return reply

    async def list_page(self, bucket: str, params: dict[str, Any]) -> Any:
        """One ListObjectsV2 page (params without Bucket), or NOT_SERVED."""
        query = s3wire.list_query(params)
        if query is None:
            return NOT_SERVED
        sent = await self.exchange_whole("GET", bucket, None, query=query)
        return sent if sent is NOT_SERVED else s3wire.parse_list_page(sent[2])
