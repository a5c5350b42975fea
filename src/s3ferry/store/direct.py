"""What the lean path needs, without an S3 client: credentials, bucket endpoints, a pool.

Building an aiobotocore S3 client loads and parses the S3 service model and its endpoint
rules: ~80 ms of CPU, a fifth of a one-file put. The lean path needs none of it for an
explicit endpoint: credentials come from the same botocore session's provider chain
(profiles, SSO, refreshing credentials as before), the bucket's URL from core.endpoints
(checked against botocore's rules), and the connection pool is aiobotocore's own
AIOHTTPSession built with the arguments the client would give it. The client is still
built, lazily, for the first request that needs it (store/client.py LazyClient).

Where the environment alone settles credentials and region on the raw HTTP client
(store/environ.py), there is no botocore session and no aiohttp pool at all: the run
imports neither (~0.4 CPU-s).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from s3ferry.core.config import Config
from s3ferry.core.endpoints import BucketEndpoint, custom_endpoint
from s3ferry.store.client import region_of
from s3ferry.store.environ import REDIRECTING, REDIRECTING_S3, LightStart, truthy
from s3ferry.store.http1 import Pool


class Direct:
    """Endpoint, credentials and pool for the lean path on an explicit endpoint URL.
    ``session`` and ``http`` are None on a light start (store/environ.py)."""

    def __init__(self, config: Config, session: Any, http: Any, raw: Pool | None = None,
                 light: LightStart | None = None):
        self.config = config
        self.session = session  # botocore's (aiobotocore's) session
        self.http = http  # aiobotocore's AIOHTTPSession
        self.raw = raw  # s3ferry's own HTTP/1.1 pool (Config.http "raw", plain http), else None
        self._light = light
        # The client's region_name: the one to sign with.
        self.region = light.region if light is not None else region_of(config, session)

    def endpoint(self, bucket: str) -> BucketEndpoint | None:
        assert self.config.endpoint_url is not None
        return custom_endpoint(self.config.endpoint_url, self.config.addressing_style, bucket)

    async def credentials(self) -> Any:
        """The session's credentials (the provider chain, resolved once; refreshing ones
        refresh on get_frozen_credentials), shared with the client when it is built."""
        if self._light is not None:
            return self._light.credentials
        return await self.session.get_credentials()


def usable(config: Config, session: Any) -> bool:
    """Whether the client's endpoint rules would send requests to ``config.endpoint_url``
    the way core.endpoints does."""
    if config.endpoint_url is None:
        return False
    if any(truthy(session.get_config_variable(name)) for name in REDIRECTING):
        return False
    s3 = (session.get_scoped_config() or {}).get("s3") or {}
    return not (isinstance(s3, dict) and any(name in s3 for name in REDIRECTING_S3))


def _http(config: Config, session: Any) -> Any:
    """The pool aiobotocore's endpoint creator would build for this client (same timeouts,
    size, proxies from the environment, CA bundle resolution)."""
    from aiobotocore.httpsession import AIOHTTPSession
    from botocore.utils import get_environ_proxies

    url = config.endpoint_url or ""
    verify: Any = False  # plain http: no certificates to check (store/client.py does the same)
    if url.startswith("https://"):
        verify = session.get_config_variable("ca_bundle") or (os.environ.get("REQUESTS_CA_BUNDLE") or True)
    return AIOHTTPSession(verify=verify, proxies=get_environ_proxies(url), timeout=(config.connect_timeout,
                          config.read_timeout), max_pool_connections=config.pool_size)


def _raw_pool(config: Config) -> Pool | None:
    if config.http == "raw" and (config.endpoint_url or "").startswith("http://"):
        return Pool(config.pool_size, config.connect_timeout, config.read_timeout)
    return None


@asynccontextmanager
async def open_direct(config: Config, session: Any, light: LightStart | None = None) -> AsyncIterator[Direct | None]:
    """A Direct for ``config``, or None where only the client's endpoint rules will do. With
    ``light`` (and no session), the raw pool alone."""
    if light is not None:
        raw = _raw_pool(config)
        assert raw is not None, "a light start is for the raw HTTP client only"
        try:
            yield Direct(config, None, None, raw, light)
        finally:
            raw.close()
        return
    try:
        ok = usable(config, session)
    except Exception:  # noqa: BLE001 - e.g. an unreadable config file: the client will say so
        ok = False
    if not ok:
        yield None
        return
    raw = _raw_pool(config)
    async with _http(config, session) as http:
        try:
            yield Direct(config, session, http, raw)
        finally:
            if raw is not None:
                raw.close()
