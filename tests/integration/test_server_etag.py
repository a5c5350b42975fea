"""Property: the composite ETag we compute for any bytes and part size is the one the
server computes for the same upload, made with plain boto3 calls (not our engine)."""

from __future__ import annotations

import random

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from s3ferry.core.config import MiB
from s3ferry.core.etag import etag_of_bytes, normalize

from helpers import boto3_multipart

MIN = 5 * MiB


@settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(part_size=st.integers(min_value=MIN, max_value=MIN + 3 * MiB),
       extra=st.integers(min_value=0, max_value=3 * MiB), parts=st.integers(min_value=1, max_value=3),
       seed=st.integers(min_value=0, max_value=2**32))
def test_composite_etag_equals_server(server, bucket, part_size, extra, parts, seed):
    size = max(1, (parts - 1) * part_size + min(extra, part_size))
    data = random.Random(seed).randbytes(size)
    s3 = server.client()
    boto3_multipart(s3, bucket, "prop", data, part_size)
    assert normalize(s3.head_object(Bucket=bucket, Key="prop")["ETag"]) == etag_of_bytes(data, part_size)


@settings(max_examples=5, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=4096))
def test_single_put_etag_equals_server(server, bucket, data):
    s3 = server.client()
    response = s3.put_object(Bucket=bucket, Key="single", Body=data)
    assert normalize(response["ETag"]) == etag_of_bytes(data, None)
