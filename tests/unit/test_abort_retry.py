"""An abort is clean-up after a failure: it gets CLEANUP_ATTEMPTS tries even with
--max-attempts 1, so a store that answers 500 once leaves no orphaned upload."""

from __future__ import annotations

import asyncio

import pytest
from botocore.exceptions import ClientError

from s3ferry.core.config import CLEANUP_ATTEMPTS, Config
from s3ferry.core.locations import S3Location
from s3ferry.store.s3 import ObjectStore

LOC = S3Location("bucket", "key")


def _failing(times: int, calls: list[str]):
    async def abort_once(loc: S3Location, upload_id: str) -> dict:
        calls.append(upload_id)
        if len(calls) <= times:
            raise ClientError({"Error": {"Code": "InternalError", "Message": "boom"},
                               "ResponseMetadata": {"HTTPStatusCode": 500}}, "AbortMultipartUpload")
        return {}
    return abort_once


def test_an_abort_answered_500_once_is_retried_even_with_one_attempt(monkeypatch):
    monkeypatch.setattr("s3ferry.store.retry.RETRY_INITIAL_WAIT", 0.001)
    store = ObjectStore(None, Config(max_attempts=1))
    calls: list[str] = []
    store._abort_once = _failing(1, calls)  # type: ignore[method-assign]
    asyncio.run(store.abort_upload(LOC, "u1"))
    assert calls == ["u1", "u1"]


def test_an_abort_that_keeps_failing_gives_up_after_the_cleanup_attempts(monkeypatch):
    monkeypatch.setattr("s3ferry.store.retry.RETRY_INITIAL_WAIT", 0.001)
    store = ObjectStore(None, Config(max_attempts=1))
    calls: list[str] = []
    store._abort_once = _failing(99, calls)  # type: ignore[method-assign]
    with pytest.raises(ClientError):
        asyncio.run(store.abort_upload(LOC, "u1"))
    assert len(calls) == CLEANUP_ATTEMPTS


def test_other_requests_keep_max_attempts(monkeypatch):
    store = ObjectStore(None, Config(max_attempts=1))
    calls: list[str] = []

    async def main() -> None:
        await store.retry(lambda: _failing(1, calls)(LOC, "x"))

    with pytest.raises(ClientError):
        asyncio.run(main())
    assert calls == ["x"]
