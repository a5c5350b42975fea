"""Errors at the storage edge: botocore's and the OS's, mapped to the one exception tree
(core/errors.py), and the S3 error code of a failed request."""

from __future__ import annotations

import asyncio
import errno
import sys
from types import ModuleType
from urllib.parse import urlsplit

from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    EndpointConnectionError,
    NoCredentialsError,
    PartialCredentialsError,
)

from s3ferry.core.errors import (
    AccessError,
    ConfigError,
    EndpointError,
    LocalIOError,
    NetworkError,
    NotFoundError,
    S3FerryError,
    describe,
)
from s3ferry.core.locations import invalid_bucket_name

# What a failed S3 request raises, whichever request path made it.
StoreError = ClientError

# The codes stores give for "no such object" (HEAD has no body, so only its status).
MISSING_CODES = frozenset({"NoSuchKey", "NotFound", "404"})


def loaded(module: str) -> ModuleType | None:
    """``module`` if anything imported it, else None. No exception of a library nobody imported
    can have been raised, and importing aiohttp only to test for its classes costs ~0.2 CPU-s
    of start-up that the raw HTTP path otherwise never pays."""
    return sys.modules.get(module)


def error_code(exc: BaseException) -> str:
    """The S3 error code of a failed request ("" for anything that is not an S3 reply)."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code", ""))
    return ""


def http_status(exc: BaseException) -> int | None:
    if isinstance(exc, ClientError):
        return exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    return None


def is_missing(exc: BaseException) -> bool:
    """The object (or upload) is not there: a 404 of any spelling."""
    return error_code(exc) in MISSING_CODES or http_status(exc) == 404


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
        return EndpointError(f"cannot reach endpoint {endpoint_of(str(exc.kwargs.get('endpoint_url', '')))}")
    if isinstance(exc, BotoCoreError):
        return EndpointError(str(exc))
    aiohttp = loaded("aiohttp")
    if isinstance(exc, asyncio.TimeoutError) or (aiohttp is not None and isinstance(exc, aiohttp.ClientError)):
        # Before OSError: aiohttp's ClientOSError and ServerTimeoutError are OSErrors, but a
        # body stream cut by the network is no local disk's fault.
        return NetworkError(f"connection failed during the transfer: {describe(exc)}")
    if isinstance(exc, OSError):
        return _map_os_error(exc)
    return exc


def _map_client_error(exc: ClientError, what: str) -> S3FerryError:
    error = exc.response.get("Error", {})
    code, status = error_code(exc), http_status(exc)
    message = error.get("Message") or code
    if code in ("NoSuchBucket", "InvalidBucketName"):
        bucket = str(error.get("BucketName") or "")
        why = invalid_bucket_name(bucket) if bucket else None
        if why is not None or code == "InvalidBucketName":
            return ConfigError(why or f"invalid bucket name: {message}")
        return NotFoundError(f"bucket does not exist{f': {bucket}' if bucket else ''}")
    if code in ("NoSuchKey", "NotFound", "404") or status == 404:
        return NotFoundError(f"not found: {what}" if what else "not found")
    if code == "RequestTimeTooSkewed":
        return AccessError("this machine's clock differs from the store's by too much (RequestTimeTooSkewed): "
                           "set the clock right (NTP) and run again")
    if code in ("InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403") or status == 403:
        return AccessError(f"access denied ({code or status}): check credentials and permissions")
    if code == "PreconditionFailed" or status == 412:
        return S3FerryError(f"object changed during the transfer ({code})")
    return S3FerryError(f"{code or status}: {message}")


def endpoint_of(url: str) -> str:
    """The endpoint as the user gave it (scheme://host:port), not the request's URL with its
    bucket, key and internal query (``?uploads``)."""
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else url


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
