"""The one retry policy: which errors are worth another attempt, and how long to wait.

Retryability is decided here, by kind of error, and applied per request (rclone's fserrors).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, TypeVar

from botocore.exceptions import (
    ClientError,
    ConnectionClosedError,
    ConnectTimeoutError,
    EndpointConnectionError,
    IncompleteReadError,
    ReadTimeoutError,
    ResponseStreamingError,
)

from s3ferry.core.config import RETRY_INITIAL_WAIT, RETRY_MAX_WAIT, Config
from s3ferry.core.errors import RangeIntegrityError
from s3ferry.core.http1wire import ConnectFailed
from s3ferry.store import debug
from s3ferry.store.errors import loaded

if TYPE_CHECKING:
    from tenacity import AsyncRetrying, RetryCallState

T = TypeVar("T")

RETRYABLE_CODES = frozenset({
    "SlowDown", "InternalError", "ServiceUnavailable", "RequestTimeout", "Throttling",
    "ThrottlingException", "RequestLimitExceeded", "TooManyRequests", "BadDigest", "IncompleteBody",
    "XAmzContentSHA256Mismatch", "OperationAborted",
})
# 429: a rate limit, like SlowDown. RequestTimeTooSkewed is not retried: the clock stays off.
RETRYABLE_STATUS = frozenset({429, 500, 502, 503, 504})

_TRANSIENT = (
    ConnectionClosedError, ConnectTimeoutError, EndpointConnectionError, IncompleteReadError,
    ReadTimeoutError, ResponseStreamingError, RangeIntegrityError, asyncio.TimeoutError, ConnectionError,
)


def is_retryable(exc: BaseException) -> bool:
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        return error.get("Code") in RETRYABLE_CODES or status in RETRYABLE_STATUS
    if isinstance(exc, _TRANSIENT):
        return True
    aiohttp = loaded("aiohttp")  # its errors only where something imported it (errors.loaded)
    return aiohttp is not None and isinstance(exc, (aiohttp.ClientPayloadError, aiohttp.ClientConnectionError))


def unreachable(exc: BaseException | None) -> bool:
    """The endpoint cannot be connected to at all (refused, no route, connect timeout): what a
    server restart or a network outage looks like, as opposed to a store that answers errors."""
    if isinstance(exc, ConnectTimeoutError):
        return True
    if not isinstance(exc, EndpointConnectionError):
        return False
    error = exc.kwargs.get("error")
    aiohttp = loaded("aiohttp")
    return isinstance(error, ConnectFailed) or (aiohttp is not None and isinstance(error, aiohttp.ClientConnectorError))


def _stop(config: Config, patient: bool, started: float | None = None) -> Callable[[RetryCallState], bool]:
    """Attempts, and for an unreachable endpoint time as well: such a request gives up only once
    it has had its attempts and the budget (--retry-for) is spent, so an outage like a server
    restart is ridden out rather than counted in attempts a quick backoff burns in two seconds.
    Not ``patient`` (the endpoint never answered yet, e.g. a mistyped URL): attempts only. A
    store that answers (503, a cut body) is judged by attempts: it is up, just failing. The
    budget counts from ``started`` (the first attempt's start) when given, else tenacity's."""
    from tenacity import stop_after_attempt, stop_after_delay

    attempts = stop_after_attempt(config.max_attempts)
    budget = stop_after_delay(config.retry_for)

    def stop(state: RetryCallState) -> bool:
        if not attempts(state):
            return False
        exc = state.outcome.exception() if state.outcome is not None else None
        if not (patient and unreachable(exc)):
            return True
        if started is None:
            return budget(state)
        return (state.outcome_timestamp or time.monotonic()) - started >= config.retry_for
    return stop


def retrying(config: Config, *, patient: bool = False, started: float | None = None) -> AsyncRetrying:
    # tenacity is imported here, on a first failure: it imports tornado (~25 ms of start-up)
    # wherever Dask installed it, and nearly every run retries nothing.
    from tenacity import AsyncRetrying, retry_if_exception, wait_random_exponential

    return AsyncRetrying(
        stop=_stop(config, patient, started),
        wait=wait_random_exponential(multiplier=RETRY_INITIAL_WAIT, max=RETRY_MAX_WAIT),
        retry=retry_if_exception(is_retryable),
        reraise=True,
        before_sleep=lambda state: _log_retry(state, config.max_attempts),
    )


def _log_retry(state: RetryCallState, limit: int) -> None:
    if state.outcome is not None and state.outcome.failed and debug.log.isEnabledFor(logging.DEBUG):
        wait = state.next_action.sleep if state.next_action else 0.0
        debug.log_retry(state.attempt_number, limit, state.outcome.exception(), wait)


async def with_retry(config: Config, call: Callable[[], Awaitable[T]], *, patient: bool = False) -> T:
    """Run ``call`` (a fresh request per attempt) under the retry policy.

    The first attempt runs on its own: nearly every request succeeds at once, and setting up
    tenacity costs ~20 us of CPU per call (a tenth of a small lean request). A retryable first
    failure is replayed to tenacity as its attempt 1, so the waits, the stop rules, the budget
    (counted from the first attempt's start) and the retry logs are the policy's, unchanged."""
    started = time.monotonic()
    try:
        return await call()
    except Exception as exc:
        if not is_retryable(exc):
            raise
        replay: list[BaseException] = [exc]

    async def again() -> T:
        if replay:
            raise replay.pop()
        return await call()

    async for attempt in retrying(config, patient=patient, started=started):
        with attempt:
            return await again()
    raise AssertionError("unreachable: tenacity reraises the last error")
