"""The aiobotocore client factory: sized pool, one retry policy (ours), cached endpoint resolution.

aiobotocore (with botocore's session and client machinery, and aiohttp) is imported only when
a session or client is made: ~0.4 CPU-s a run on the lean path's light start does without
(store/environ.py)."""

from __future__ import annotations

import asyncio
import gc
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from botocore.exceptions import ProfileNotFound

from s3ferry.core.config import Config
from s3ferry.core.errors import ConfigError
from s3ferry.store.debug import log_requests

S3Client = Any  # aiobotocore's generated client has no importable type
AioSession = Any  # aiobotocore.session.AioSession, imported where one is made
Reply = dict[str, Any]  # a request's reply, as botocore parses it

# crc64nvme: we compute and send the values ourselves (upload.py), botocore adds none.
_CHECKSUM_WHEN = {"off": "when_required", "crc64nvme": "when_required"}


def _aio_config(config: Config) -> Any:
    from aiobotocore.config import AioConfig

    return AioConfig(
        max_pool_connections=config.pool_size,
        connect_timeout=config.connect_timeout,
        read_timeout=config.read_timeout,
        # One retry policy (retry.py) owns every retry; botocore's own would multiply it.
        retries={"total_max_attempts": 1},
        s3={"addressing_style": config.addressing_style, "payload_signing_enabled": config.sign_payload},
        request_checksum_calculation=_CHECKSUM_WHEN.get(config.checksum, "when_supported"),
        response_checksum_validation="when_required",
        tcp_keepalive=True,
        # Requests are SigV4 anyway; said outright, presigned URLs are SigV4 too (botocore
        # otherwise presigns S3 URLs with the legacy SigV2 query form on custom endpoints).
        signature_version="s3v4",
        # botocore's validator rejects memoryview bodies (see fileio.read_and_hash); our own
        # calls are few and fixed, and the server validates what it receives.
        parameter_validation=False,
    )


def new_session(config: Config) -> AioSession:
    """botocore's session for ``config``'s profile: it resolves profiles, credentials and
    AWS_* variables as aws-cli does. An unknown profile is a ConfigError here."""
    from aiobotocore.session import AioSession

    session = AioSession(profile=config.profile)
    region_of(config, session)
    return session


def region_of(config: Config, session: AioSession) -> str:
    try:
        # Stores other than AWS ignore the region, but SigV4 needs one to sign with.
        return config.region or session.get_config_variable("region") or "us-east-1"
    except ProfileNotFound as exc:
        raise ConfigError(str(exc)) from None


@asynccontextmanager
async def open_client(config: Config, session: AioSession | None = None) -> AsyncIterator[S3Client]:
    """An S3 client sized to the config's concurrency, on ``session`` (a new one if None).
    aiobotocore's session, not aioboto3's: boto3 adds nothing to a client but ~0.15 s of
    imports to every run."""
    session = session or new_session(config)
    region = region_of(config, session)
    # Plain http has no certificates to check, but botocore would still load the CA bundle
    # (~30 ms of CPU, in every run against a local store).
    verify = False if (config.endpoint_url or "").startswith("http://") else None
    async with session.create_client("s3", region_name=region, endpoint_url=config.endpoint_url,
                                     config=_aio_config(config), verify=verify) as client:
        _cache_endpoints(client)
        log_requests(client)
        yield client


# Endpoint-ruleset parameters that S3's rules never read (a unit test checks botocore's
# bundled ruleset). botocore caches resolutions keyed on every parameter, and Key differs
# per object, so each request re-ran the whole ruleset: ~11% of a small-file get's CPU.
UNREAD_ENDPOINT_PARAMS = frozenset({"Key", "Prefix", "CopySource"})


def _cache_endpoints(client: S3Client) -> None:
    provider = getattr(getattr(client, "_ruleset_resolver", None), "_provider", None)
    if provider is None:
        return
    resolve = provider.resolve_endpoint  # lru-cached on its keyword arguments

    def resolve_endpoint(**params: Any) -> Any:
        return resolve(**{k: v for k, v in params.items() if k not in UNREAD_ENDPOINT_PARAMS})

    provider.resolve_endpoint = resolve_endpoint


class LazyClient:
    """The aiobotocore client, built on the first request that needs it: the lean path serves
    the hot requests without one, and building it costs ~80 ms of CPU (store/direct.py).
    Any client method called on this object builds the client, then calls it. ``session``
    None: botocore's session is made then too (a light start, store/environ.py)."""

    def __init__(self, config: Config, session: AioSession | None, stack: AsyncExitStack):
        self._config = config
        self._session = session
        self._stack = stack  # closes the client with the store
        self._client: S3Client | None = None
        self._lock: asyncio.Lock | None = None

    @property
    def built(self) -> bool:
        return self._client is not None

    async def created(self) -> S3Client:
        if self._client is None:
            self._lock = self._lock or asyncio.Lock()
            async with self._lock:
                if self._client is None:
                    self._session = self._session or new_session(self._config)
                    self._client = await self._stack.enter_async_context(open_client(self._config, self._session))
                    _freeze_if_frozen()
        return self._client

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):
            raise AttributeError(name)
        client = self.__dict__.get("_client")
        if client is not None:
            return getattr(client, name)

        async def call(*args: Any, **kwargs: Any) -> Any:
            return await getattr(await self.created(), name)(*args, **kwargs)

        return call


def _freeze_if_frozen() -> None:
    """The CLI froze what its imports made (cli/tuning.calm_gc), so full collections skip it;
    a client built later brings botocore's service model (~10^5 long-lived objects): freeze it
    too, or every full collection walks it again. A library caller that froze nothing keeps
    its own policy."""
    if gc.get_freeze_count():
        gc.freeze()
