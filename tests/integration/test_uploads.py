"""Listing and aborting incomplete multipart uploads; the lifecycle rule."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta, timezone

import pytest

from s3ferry.store.s3 import open_store
from s3ferry.ops.context import Context
from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import S3Location
from s3ferry.ops.uploads import LIFECYCLE_RULE_ID, abort, install_lifecycle_rule, list_incomplete, parse_age


async def _with_ctx(server, fn):
    async with open_store(server.config()) as store:
        return await fn(Context(store, server.config()))


def test_list_filter_and_abort(server, bucket):
    s3 = server.client()
    ids = {key: s3.create_multipart_upload(Bucket=bucket, Key=key)["UploadId"] for key in ("a/1", "a/2", "b/1")}
    initiated = {u["Key"]: u["Initiated"] for u in s3.list_multipart_uploads(Bucket=bucket)["Uploads"]}

    async def scenario(ctx):
        under_a = [u async for u in list_incomplete(ctx, S3Location(bucket, "a/"))]
        too_young = [u async for u in list_incomplete(ctx, S3Location(bucket, ""), timedelta(days=2))]
        for upload in under_a:
            await abort(ctx, upload)
        rest = [u async for u in list_incomplete(ctx, S3Location(bucket, ""))]
        return under_a, too_young, rest

    under_a, too_young, rest = asyncio.run(_with_ctx(server, scenario))
    assert {(u.key, u.upload_id) for u in under_a} == {("a/1", ids["a/1"]), ("a/2", ids["a/2"])}
    # moto reports every upload as initiated in 2010, Ceph the real time: either way the filter
    # keeps exactly the uploads the server itself says are older than two days.
    expected_old = {key for key, when in initiated.items() if datetime.now(timezone.utc) - when >= timedelta(days=2)}
    assert {u.key for u in too_young} == expected_old
    assert [(u.key, u.upload_id) for u in rest] == [("b/1", ids["b/1"])]
    s3.abort_multipart_upload(Bucket=bucket, Key="b/1", UploadId=ids["b/1"])


def test_lifecycle_rule_is_installed_and_keeps_other_rules(server, bucket):
    s3 = server.client()
    other = {"ID": "keep-me", "Status": "Enabled", "Filter": {"Prefix": "logs/"}, "Expiration": {"Days": 30}}
    s3.put_bucket_lifecycle_configuration(Bucket=bucket, LifecycleConfiguration={"Rules": [other]})
    asyncio.run(_with_ctx(server, lambda ctx: install_lifecycle_rule(ctx, bucket, 3)))
    asyncio.run(_with_ctx(server, lambda ctx: install_lifecycle_rule(ctx, bucket, 2)))  # idempotent: replaces
    rules = {r["ID"]: r for r in s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]}
    assert set(rules) == {"keep-me", LIFECYCLE_RULE_ID}
    assert rules[LIFECYCLE_RULE_ID]["AbortIncompleteMultipartUpload"]["DaysAfterInitiation"] == 2


@pytest.mark.parametrize("text, expected", [("2d", timedelta(days=2)), ("12h", timedelta(hours=12)),
                                            ("30m", timedelta(minutes=30)), ("1w", timedelta(weeks=1))])
def test_parse_age(text, expected):
    assert parse_age(text) == expected


@pytest.mark.parametrize("text", ["", "2", "d", "2y", "-1d"])
def test_parse_age_rejects(text):
    with pytest.raises(ConfigError):
        parse_age(text)
