import asyncio

import pytest
from botocore.exceptions import ClientError, ReadTimeoutError

from s3ferry.core.config import Config
from s3ferry.core.errors import RangeIntegrityError
from s3ferry.store.retry import is_retryable, with_retry


def client_error(code: str, status: int) -> ClientError:
    return ClientError({"Error": {"Code": code, "Message": code},
                        "ResponseMetadata": {"HTTPStatusCode": status}}, "PutObject")


@pytest.mark.parametrize("code, status, expected", [
    ("SlowDown", 503, True), ("InternalError", 500, True), ("RequestTimeout", 400, True),
    ("BadGateway", 502, True), ("GatewayTimeout", 504, True), ("BadDigest", 400, True),
    ("AccessDenied", 403, False), ("NoSuchKey", 404, False), ("NoSuchBucket", 404, False),
    ("InvalidPart", 400, False), ("EntityTooSmall", 400, False), ("PreconditionFailed", 412, False),
])
def test_classification(code, status, expected):
    assert is_retryable(client_error(code, status)) is expected


def test_transport_errors_are_retryable():
    assert is_retryable(ReadTimeoutError(endpoint_url="http://x"))
    assert is_retryable(RangeIntegrityError("short"))
    assert is_retryable(ConnectionResetError())
    assert not is_retryable(ValueError("bug"))


def test_retries_until_success_then_stops_on_fatal():
    calls = []

    async def flaky():
        calls.append(1)
        if len(calls) < 3:
            raise client_error("SlowDown", 503)
        return "ok"

    config = Config(max_attempts=5)
    assert asyncio.run(with_retry(config, flaky)) == "ok"
    assert len(calls) == 3

    fatal_calls = []

    async def fatal():
        fatal_calls.append(1)
        raise client_error("AccessDenied", 403)

    with pytest.raises(ClientError):
        asyncio.run(with_retry(config, fatal))
    assert len(fatal_calls) == 1


def test_gives_up_after_max_attempts():
    calls = []

    async def always():
        calls.append(1)
        raise client_error("InternalError", 500)

    with pytest.raises(ClientError):
        asyncio.run(with_retry(Config(max_attempts=3), always))
    assert len(calls) == 3
