"""The aiobotocore client factory: sized pool, one retry policy (ours), cached endpoint resolution."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiobotocore.config import AioConfig
from aiobotocore.session import AioSession
from botocore.exceptions import ProfileNotFound

from s3ferry.core.config import Config
from s3ferry.core.errors import ConfigError
from s3ferry.store.debug import log_requests

S3Client = Any  # aiobotocore's generated client has no importable type
Reply = dict[str, Any]  # a request's reply, as botocore parses it

# crc64nvme: we compute and send the values ourselves (upload.py), botocore adds none.
_CHECKSUM_WHEN = {"off": "when_required", "crc64nvme": "when_required"}


def _aio_config(config: Config) -> AioConfig:
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


@asynccontextmanager
async def open_client(config: Config) -> AsyncIterator[S3Client]:
    """An S3 client sized to the config's concurrency. Profiles and AWS_* variables work as
    in aws-cli because botocore's own session resolves them. aiobotocore's session, not
    aioboto3's: boto3 adds nothing to a client but ~0.15 s of imports to every run."""
    session = AioSession(profile=config.profile)
    try:
        # Stores other than AWS ignore the region, but SigV4 needs one to sign with.
        region = config.region or session.get_config_variable("region") or "us-east-1"
    except ProfileNotFound as exc:
        raise ConfigError(str(exc)) from None
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
