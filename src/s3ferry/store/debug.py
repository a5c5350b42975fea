"""--debug: one log line per HTTP request (operation, bucket, key, part, status, S3 error code,
request id, host id, time) and one per retry, through the "s3ferry" logger.

The lines are built from the operation's parameters and the reply's metadata, never from the
request itself: its headers carry the Authorization signature, and a presigned URL carries
one in its query. botocore's own debug logging prints both, which is why only our logger is
ever turned up (cli/options.py)."""

from __future__ import annotations

import logging
import time
from typing import Any

log = logging.getLogger("s3ferry")
_STARTED = "s3ferry_started"
_WHAT = "s3ferry_what"


def log_requests(client: Any) -> None:
    """Hook a client's events when debug logging is on (free otherwise: nothing registered)."""
    if not log.isEnabledFor(logging.DEBUG):
        return
    events = client.meta.events
    events.register("before-parameter-build.s3", _note_request)
    events.register("needs-retry.s3", _log_attempt)  # once per HTTP attempt, with its outcome


def describe(operation: str, params: dict[str, Any]) -> str:
    """`UploadPart s3://bucket/key part 2`: what a request was for, from its parameters."""
    where = f" s3://{params.get('Bucket', '')}/{params.get('Key', params.get('Prefix', ''))}" \
        if "Bucket" in params else ""
    part = f" part {params['PartNumber']}" if "PartNumber" in params else ""
    return f"{operation}{where}{part}"


def _note_request(params: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
    context[_WHAT] = describe(model.name, params)
    context[_STARTED] = time.monotonic()


def _log_attempt(response: Any, operation: Any, caught_exception: BaseException | None,
                 request_dict: dict[str, Any], **_: Any) -> None:
    context = request_dict.get("context") or {}
    what = context.get(_WHAT) or operation.name
    elapsed = (time.monotonic() - context.get(_STARTED, time.monotonic())) * 1000
    context[_STARTED] = time.monotonic()  # a retry below botocore would time from here
    if caught_exception is not None:
        log.debug("%s -> %s: %s in %.1f ms", what, type(caught_exception).__name__, caught_exception, elapsed)
        return None
    http, parsed = response
    error = (parsed or {}).get("Error", {}) if http.status_code >= 300 else {}
    code = f" {error['Code']}" if error.get("Code") else ""
    log.debug("%s -> %s%s in %.1f ms (%s)", what, http.status_code, code, elapsed, ids((parsed or {}).get(
        "ResponseMetadata", {})))
    return None  # never asks for a retry: the one retry policy is ours (retry.py)


def ids(metadata: dict[str, Any]) -> str:
    """`request id X, host id Y`: what a store's support asks for."""
    return f"request id {metadata.get('RequestId') or '-'}, host id {metadata.get('HostId') or '-'}"


def log_retry(attempt: int, limit: int, exc: BaseException, wait: float) -> None:
    """One line per retry, with the S3 error code and ids of the failure that caused it."""
    response = getattr(exc, "response", None) or {}
    code = response.get("Error", {}).get("Code") or type(exc).__name__
    metadata = response.get("ResponseMetadata", {})
    status = metadata.get("HTTPStatusCode")
    operation = getattr(exc, "operation_name", "") or "request"
    log.debug("retry %d of %d: %s after %s (%s%s), waiting %.2f s", attempt, limit - 1, operation, code,
              f"{status}, " if status else "", ids(metadata), wait)
