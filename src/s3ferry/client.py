"""The storage edge: the aiobotocore client factory, and the mapping of its errors to ours."""

from __future__ import annotations

import errno
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import aioboto3
import anyio
from aiobotocore.config import AioConfig
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
    ProfileNotFound,
)

from .config import Config
from .errors import (
    AccessError,
    ConfigError,
    EndpointError,
    LocalIOError,
    NotFoundError,
    S3FerryError,
)
from .retry import with_retry

S3Client = Any  # aiobotocore's generated client has no importable type
log = logging.getLogger("s3ferry")

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
        # botocore's validator rejects memoryview bodies (see fileio.read_and_hash); our own
        # calls are few and fixed, and the server validates what it receives.
        parameter_validation=False,
    )


@asynccontextmanager
async def open_client(config: Config) -> AsyncIterator[S3Client]:
    """An S3 client sized to the config's concurrency. Profiles and AWS_* variables work as
    in aws-cli because botocore's own session resolves them."""
    try:
        session = aioboto3.Session(profile_name=config.profile, region_name=config.region)
    except ProfileNotFound as exc:
        raise ConfigError(str(exc)) from None
    if session.region_name is None and config.region is None:
        # Stores other than AWS ignore the region, but SigV4 needs one to sign with.
        session = aioboto3.Session(profile_name=config.profile, region_name="us-east-1")
    async with session.client("s3", endpoint_url=config.endpoint_url, config=_aio_config(config)) as client:
        yield client


async def create_multipart_upload(client: S3Client, config: Config, bucket: str, key: str,
                                  **params: Any) -> str:
    """CreateMultipartUpload under the retry policy, leaving no orphan behind.

    CreateMultipartUpload is not idempotent: when an attempt's reply is lost (reset, truncated,
    timed out) the server may still have created an upload whose id we never learn, and the
    retry creates another. So the uploads already open on this key are noted first, and if
    any attempt failed, the ones that appeared meanwhile (other than ours) are aborted."""
    before = await _open_uploads(client, config, bucket, key)
    failures = 0

    async def attempt() -> str:
        nonlocal failures
        try:
            return str((await client.create_multipart_upload(Bucket=bucket, Key=key, **params))["UploadId"])
        except Exception:
            failures += 1
            raise

    upload_id = None
    try:
        upload_id = await with_retry(config, attempt)
        return upload_id
    finally:
        if failures and before is not None:
            await _abort_lost_uploads(client, config, bucket, key, before | {upload_id})


async def _open_uploads(client: S3Client, config: Config, bucket: str, key: str) -> set[str | None] | None:
    """Ids of the incomplete uploads of exactly ``key``; None if they cannot be listed."""
    try:
        response = await with_retry(config, lambda: client.list_multipart_uploads(Bucket=bucket, Prefix=key))
    except Exception:  # noqa: BLE001 - a missing permission only costs the orphan cleanup
        return None
    if response.get("IsTruncated"):
        return None  # too many to tell ours apart safely
    return {u["UploadId"] for u in response.get("Uploads", []) if u.get("Key") == key}


async def _abort_lost_uploads(client: S3Client, config: Config, bucket: str, key: str,
                              keep: set[str | None]) -> None:
    with anyio.CancelScope(shield=True), anyio.move_on_after(30):
        now = await _open_uploads(client, config, bucket, key)
        for upload_id in (now or set()) - keep:
            try:
                await with_retry(config, lambda: client.abort_multipart_upload(
                    Bucket=bucket, Key=key, UploadId=upload_id))
            except Exception as exc:  # noqa: BLE001
                log.error("could not abort lost upload %s of s3://%s/%s (%s)", upload_id, bucket, key, exc)


def first_error(exc: BaseException) -> BaseException:
    """The first real error inside (nested) exception groups: a failed part or range reaches
    us wrapped in the task group's group, whose own text says nothing about the cause."""
    while isinstance(exc, BaseExceptionGroup) and exc.exceptions:
        leaves = [e for e in exc.exceptions if isinstance(e, Exception)]
        exc = (leaves or list(exc.exceptions))[0]
    return exc


def map_error(exc: BaseException, *, what: str = "") -> BaseException:
    """Turn a botocore/OS error into our tree; anything unknown passes through unchanged."""
    exc = first_error(exc)
    if isinstance(exc, S3FerryError):
        return exc
    if isinstance(exc, ClientError):
        return _map_client_error(exc, what)
    if isinstance(exc, (NoCredentialsError, PartialCredentialsError)):
        return AccessError("no AWS credentials found (set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY or --profile)")
    if isinstance(exc, EndpointConnectionError):
        return EndpointError(f"cannot reach endpoint {exc.kwargs.get('endpoint_url', '')}")
    if isinstance(exc, BotoCoreError):
        return EndpointError(str(exc))
    if isinstance(exc, OSError):
        return _map_os_error(exc)
    return exc


def _map_client_error(exc: ClientError, what: str) -> S3FerryError:
    error = exc.response.get("Error", {})
    code = str(error.get("Code", ""))
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    message = error.get("Message") or code
    if code == "NoSuchBucket":
        bucket = error.get("BucketName")
        return NotFoundError(f"bucket does not exist{f': {bucket}' if bucket else ''}")
    if code in ("NoSuchKey", "NotFound", "404") or status == 404:
        return NotFoundError(f"not found: {what}" if what else "not found")
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403") or status == 403:
        return AccessError(f"access denied ({code or status}): check credentials and permissions")
    if code == "PreconditionFailed" or status == 412:
        return S3FerryError(f"object changed during the transfer ({code})")
    return S3FerryError(f"{code or status}: {message}")


def _map_os_error(exc: OSError) -> S3FerryError:
    # A rename's error is about its target (filename2), the path the user named.
    path = exc.filename2 or exc.filename
    name = f": {path}" if path else ""
    if exc.errno == errno.ENOENT:
        return NotFoundError(f"no such file or directory{name}")
    # Local, so exit 7 (README): 5 is for the store's access denied and missing credentials.
    if exc.errno in (errno.EACCES, errno.EPERM):
        return LocalIOError(f"permission denied{name}")
    if exc.errno == errno.EISDIR:
        return LocalIOError(f"is a directory{name}")
    if exc.errno in (errno.ENOTDIR, errno.EEXIST):  # EEXIST: mkdir met a file where a folder goes
        return LocalIOError(f"not a directory (a file is in the way){name}")
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return LocalIOError(f"no space left on device{name}")
    return LocalIOError(f"{exc.strerror or exc}{name}")
