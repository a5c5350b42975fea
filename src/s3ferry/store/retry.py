"""The one retry policy: which errors are worth another attempt, and how long to wait.

Retryability is decided here, by kind of error, and applied per request (rclone's fserrors).
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import TypeVar

import aiohttp
from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt, wait_random_exponential

from s3ferry.store import debug
from s3ferry.core.config import RETRY_INITIAL_WAIT, RETRY_MAX_WAIT, Config
from s3ferry.core.errors import RangeIntegrityError

T = TypeVar("T")

RETRYABLE_CODES = frozenset({
    "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling",
    "ThrottlingException", "RequestLimitExceeded", "BadDigest", "IncompleteBody",
    "XAmzContentSHA256Mismatch", "RequestTimeTooSkewed", "OperationAborted",
})
RETRYABLE_STATUS = frozenset({500, 502, 503, 504})

_TRANSIENT = (
    ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, IncompleteReadError,
    ReadTimeoutError, ResponseStreamingError, RangeIntegrityError,
    aiohttp.ClientPayloadError, aiohttp.ClientConnectionError, aiohttp.ServerDisconnectedError,
    asyncio.TimeoutError, ConnectionError,
)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error.get("Code") in RETRYABLE_CODES or status in RETRYABLE_STATUS
    return isinstance(exc, _TRANSIENT)


def retrying(config: Config) -> AsyncRetrying:
    return AsyncRetrying(
        stop=stop_after_attempt(config.max_attempts),
        wait=wait_random_exponential(multiplier=RETRY_INITIAL_WAIT, max=RETRY_MAX_WAIT),
        retry=retry_if_exception(is_retryable),
        reraise=True,
        before_sleep=lambda state: _log_retry(state, config.max_attempts),
    )


def _log_retry(state: RetryCallState, limit: int) -> None:
    if state.outcome is not None and state.outcome.failed and debug.log.isEnabledFor(logging.DEBUG):
        wait = state.next_action.sleep if state.next_action else 0.0
        debug.log_retry(state.attempt_number, limit, state.outcome.exception(), wait)


async def with_retry(config: Config, call: Callable[[], Awaitable[T]]) -> T:
    """Run ``call`` (a fresh request per attempt) under the retry policy."""
    async for attempt in retrying(config):
        with attempt:
            return await call()
    raise AssertionError("unreachable: tenacity reraises the last error")
