"""What the lean path needs, without an S3 client: credentials, bucket endpoints, a pool.

Building an aiobotocore S3 client loads and parses the S3 service model and its endpoint
rules: ~80 ms of CPU, a fifth of a one-file put. The lean path needs none of it for an
explicit endpoint: credentials come from the same botocore session's provider chain
(profiles, SSO, refreshing credentials as before), the bucket's URL from core.endpoints
(checked against botocore's rules), and the connection pool is aiobotocore's own
AIOHTTPSession built with the arguments the client would give it. The client is still
built, lazily, for the first request that needs it (store/client.py LazyClient).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiobotocore.httpsession import AIOHTTPSession
from aiobotocore.session import AioSession
from botocore.utils import get_environ_proxies

from s3ferry.core.config import Config
from s3ferry.core.endpoints import BucketEndpoint, custom_endpoint
from s3ferry.store.client import region_of
from s3ferry.store.http1 import Pool

# Settings with which botocore's rules send S3 requests elsewhere than the endpoint URL (or
# refuse it): any of them set, and the client resolves every bucket as before.
_REDIRECTING = ("use_fips_endpoint", "use_dualstack_endpoint")
# (addressing_style is not here: the client config sets it, which wins over the profile.)
_REDIRECTING_S3 = ("use_accelerate_endpoint", "use_dualstack_endpoint", "use_arn_region")


class Direct:
    """Endpoint, credentials and pool for the lean path on an explicit endpoint URL."""

    def __init__(self, config: Config, session: AioSession, http: AIOHTTPSession, raw: Pool | None = None):
        self.config = config
        self.session = session
        self.http = http
        self.raw = raw  # s3ferry's own HTTP/1.1 pool (Config.http "raw", plain http), else None
        self.region = region_of(config, session)  # the client's region_name: the one to sign with

    def endpoint(self, bucket: str) -> BucketEndpoint | None:
        assert self.config.endpoint_url is not None
        return custom_endpoint(self.config.endpoint_url, self.config.addressing_style, bucket)

    async def credentials(self) -> Any:
        """The session's credentials (the provider chain, resolved once; refreshing ones
        refresh on get_frozen_credentials), shared with the client when it is built."""
        return await self.session.get_credentials()


def usable(config: Config, session: AioSession) -> bool:
    """Whether the client's endpoint rules would send requests to ``config.endpoint_url``
    the way core.endpoints does."""
    if config.endpoint_url is None:
        return False
    if any(_truthy(session.get_config_variable(name)) for name in _REDIRECTING):
        return False
    s3 = (session.get_scoped_config() or {}).get("s3") or {}
    return not (isinstance(s3, dict) and any(name in s3 for name in _REDIRECTING_S3))


def _truthy(value: Any) -> bool:
    return value is True or str(value).lower() == "true"


def _http(config: Config, session: AioSession) -> AIOHTTPSession:
    """The pool aiobotocore's endpoint creator would build for this client (same timeouts,
    size, proxies from the environment, CA bundle resolution)."""
    url = config.endpoint_url or ""
    verify: Any = False  # plain http: no certificates to check (store/client.py does the same)
    if url.startswith("https://"):
        verify = session.get_config_variable("ca_bundle") or (os.environ.get("REQUESTS_CA_BUNDLE") or True)
    return AIOHTTPSession(verify=verify, proxies=get_environ_proxies(url), timeout=(config.connect_timeout,
                          config.read_timeout), max_pool_connections=config.pool_size)


@asynccontextmanager
async def open_direct(config: Config, session: AioSession) -> AsyncIterator[Direct | None]:
    """A Direct for ``config``, or None where only the client's endpoint rules will do."""
    try:
        ok = usable(config, session)
    except Exception:  # noqa: BLE001 - e.g. an unreadable config file: the client will say so
        ok = False
    if not ok:
        yield None
        return
    raw = None
    if config.http == "raw" and (config.endpoint_url or "").startswith("http://"):
        raw = Pool(config.pool_size, config.connect_timeout, config.read_timeout)
    async with _http(config, session) as http:
        try:
            yield Direct(config, session, http, raw)
        finally:
            if raw is not None:
                raw.close()
