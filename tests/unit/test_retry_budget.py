"""Issue 11, cases 9, 12 and 13: what is retried, for how long, and how failures are classed."""

from __future__ import annotations

import asyncio

import aiohttp
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError

from s3ferry.core.config import Config, parse_duration
from s3ferry.core.errors import EXIT_ENDPOINT, ConfigError, IntegrityError, NetworkError, RangeIntegrityError
from s3ferry.store import retry
from s3ferry.store.errors import map_error
from s3ferry.store.retry import is_retryable, with_retry


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
                       "PutObject")


@pytest.fixture(autouse=True)
def quick_backoff(monkeypatch):
    monkeypatch.setattr(retry, "RETRY_INITIAL_WAIT", 0.001)
    monkeypatch.setattr(retry, "RETRY_MAX_WAIT", 0.002)


def test_429_is_retried_and_a_skewed_clock_is_not():
    assert is_retryable(client_error("TooManyRequests", 429))
    assert not is_retryable(client_error("RequestTimeTooSkewed", 403))


def test_a_skewed_clock_says_so():
    assert "clock" in str(map_error(client_error("RequestTimeTooSkewed", 403)))


REFUSED = aiohttp.ClientConnectorError(None, ConnectionRefusedError(111, "Connection refused"))  # type: ignore[arg-type]


def flaky(failures: int):
    calls = []

    async def call():
        calls.append(1)
        if len(calls) <= failures:
            raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1", error=REFUSED)
        return "ok"
    return call, calls


def test_patient_retries_ride_out_more_failures_than_attempts():
    """Once the endpoint has answered (patient), a request keeps trying within --retry-for."""
    call, calls = flaky(8)
    assert asyncio.run(with_retry(Config(max_attempts=2, retry_for=60), call, patient=True)) == "ok"
    assert len(calls) == 9


def test_without_the_budget_attempts_decide():
    call, calls = flaky(8)
    with pytest.raises(EndpointConnectionError):
        asyncio.run(with_retry(Config(max_attempts=2, retry_for=60), call, patient=False))
    assert len(calls) == 2


def test_a_store_that_answers_is_judged_by_attempts():
    calls = []

    async def call():
        calls.append(1)
        raise client_error("SlowDown", 503)
    with pytest.raises(ClientError):
        asyncio.run(with_retry(Config(max_attempts=3, retry_for=60), call, patient=True))
    assert len(calls) == 3


def test_a_zero_budget_is_attempts_only():
    call, calls = flaky(8)
    with pytest.raises(EndpointConnectionError):
        asyncio.run(with_retry(Config(max_attempts=3, retry_for=0), call, patient=True))
    assert len(calls) == 3


@pytest.mark.parametrize("exc", [aiohttp.ClientOSError(104, "Connection reset by peer"),
                                 aiohttp.ServerTimeoutError("Timeout on reading data from socket"),
                                 aiohttp.ClientPayloadError("Response payload is not completed")])
def test_body_stream_failures_are_network_failures(exc):
    mapped = map_error(exc)
    assert isinstance(mapped, NetworkError) and mapped.exit_code == EXIT_ENDPOINT


def test_a_short_range_is_a_network_failure_not_a_verdict():
    error = RangeIntegrityError("range bytes=0-9: got 5 of 10 bytes")
    assert not isinstance(error, IntegrityError) and error.exit_code == EXIT_ENDPOINT
    assert is_retryable(error)


def test_retry_for_values():
    assert parse_duration("90") == 90 and parse_duration("2m") == 120 and parse_duration("1.5s") == 1.5
    for bad in ("soon", "-1s", "nan", "inf"):
        with pytest.raises(ConfigError):
            parse_duration(bad)
    with pytest.raises(ConfigError):
        Config(retry_for=-1)


def test_the_budget_counts_from_the_first_attempt():
    """The first attempt runs outside tenacity (a fast path); its time still counts against
    --retry-for: a first attempt that outlasts the budget leaves only the attempts to decide."""
    calls = []

    async def slow_then_refused():
        calls.append(1)
        if len(calls) == 1:
            await asyncio.sleep(0.05)
        raise EndpointConnectionError(endpoint_url="http://127.0.0.1:1", error=REFUSED)

    with pytest.raises(EndpointConnectionError):
        asyncio.run(with_retry(Config(max_attempts=1, retry_for=0.01), slow_then_refused, patient=True))
    assert len(calls) == 1


def test_a_first_failure_that_is_not_retryable_is_raised_at_once():
    calls = []

    async def denied():
        calls.append(1)
        raise client_error("AccessDenied", 403)

    with pytest.raises(ClientError) as caught:
        asyncio.run(with_retry(Config(max_attempts=5), denied, patient=True))
    assert len(calls) == 1 and caught.value.response["Error"]["Code"] == "AccessDenied"
