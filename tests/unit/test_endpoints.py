"""core.endpoints against botocore's own endpoint rules: the same base URL for every bucket
and endpoint it answers for, and None wherever botocore would do something else."""

from __future__ import annotations

import functools

import botocore.session
import pytest
from botocore.config import Config
from hypothesis import given, settings
from hypothesis import strategies as st

from s3ferry.core.endpoints import custom_endpoint

ENDPOINTS = ["http://127.0.0.1:9000", "http://127.0.0.1:9000/", "https://minio.example.com",
             "http://localhost:8080/prefix", "https://s3.example.com:8443/a/b/", "http://[::1]:9000",
             "https://Store.Example.COM"]
BUCKETS = ["bucket", "my-bucket-01", "a.b.c", "UPPER", "ab", "x" * 63, "192.168.1.1", "under_score",
           "-dash", "dash-", "b--x-s3", "arn:aws:s3:us-east-1:123456789012:accesspoint/ap"]


@functools.cache
def _client(endpoint: str, style: str):
    return botocore.session.Session().create_client(
        "s3", region_name="us-east-1", endpoint_url=endpoint, aws_access_key_id="a", aws_secret_access_key="b",
        config=Config(s3={"addressing_style": style}))


def _botocore(endpoint: str, style: str, bucket: str) -> str | None:
    client = _client(endpoint, style)
    model = client.meta.service_model.operation_model("HeadObject")
    try:
        url, headers, props = client._resolve_endpoint_ruleset(model, {"Bucket": bucket, "Key": "k"}, {})
    except Exception:  # noqa: BLE001 - a bucket the rules reject
        return None
    scheme = (props.get("authSchemes") or [{"name": "sigv4"}])[0]
    return None if headers or scheme.get("name") != "sigv4" else url.rstrip("/")


def _check(endpoint: str, style: str, bucket: str) -> None:
    ours = custom_endpoint(endpoint, style, bucket)
    theirs = _botocore(endpoint, style, bucket)
    if ours is not None:  # None only says "ask botocore", which is always safe
        assert ours.base == theirs, (endpoint, style, bucket)
        assert ours.path == "/" + ours.base.split("/", 3)[3]


@pytest.mark.parametrize("endpoint", ENDPOINTS)
@pytest.mark.parametrize("style", ["path", "auto"])
@pytest.mark.parametrize("bucket", BUCKETS)
def test_base_url_equals_botocores(endpoint, style, bucket):
    _check(endpoint, style, bucket)


@settings(max_examples=150, deadline=None)
@given(bucket=st.from_regex(r"[a-zA-Z0-9][a-zA-Z0-9.\-_]{1,62}", fullmatch=True),
       endpoint=st.sampled_from(ENDPOINTS), style=st.sampled_from(["path", "auto"]))
def test_any_bucket_name_equals_botocores(bucket, endpoint, style):
    _check(endpoint, style, bucket)


def test_the_common_cases_are_resolved_here_not_left_to_botocore():
    assert custom_endpoint("http://127.0.0.1:9000", "auto", "bucket").base == "http://127.0.0.1:9000/bucket"
    assert custom_endpoint("http://127.0.0.1:9000", "path", "bucket").path == "/bucket"
    named = custom_endpoint("https://minio.example.com/prefix", "auto", "bucket")  # path style here too
    assert (named.base, named.path) == ("https://minio.example.com/prefix/bucket", "/prefix/bucket")
    assert custom_endpoint("https://minio.example.com", "auto", "a.b").base == "https://minio.example.com/a.b"


def test_what_it_leaves_to_botocore():
    assert custom_endpoint("https://minio.example.com", "virtual", "bucket") is None
    assert custom_endpoint("https://user:pw@minio.example.com", "path", "bucket") is None
    assert custom_endpoint("https://minio.example.com?x=1", "path", "bucket") is None
    assert custom_endpoint("http://127.0.0.1:9000", "path", "arn:aws:s3:::x") is None
    assert custom_endpoint("http://127.0.0.1:9000", "path", "b--x-s3") is None
