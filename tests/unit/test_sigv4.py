"""SigV4 for the lean path: byte-identical to botocore's S3SigV4Auth, the signing-key cache,
the once-a-second clock, and AWS's published example."""

from __future__ import annotations

import datetime
from types import SimpleNamespace

import botocore.auth
import pytest
from botocore.auth import S3SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials as BotoCredentials
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core.sigv4 import (
    EMPTY_SHA256,
    UNSIGNED_PAYLOAD,
    Clock,
    Credentials,
    Signer,
    SigningKeys,
    canonical_query,
    canonical_request,
    derive_key,
    quote_key,
)

STAMP = "20261201T163855Z"
keys = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), min_size=1, max_size=40)
header_values = st.text(st.characters(min_codepoint=0x20, max_codepoint=0x7E), max_size=30)
optional = st.dictionaries(st.sampled_from(["range", "if-match", "content-md5", "content-type", "x-amz-meta-a",
                                            "x-amz-checksum-crc64nvme", "cache-control", "user-agent"]),
                           header_values, max_size=5)


def _botocore_auth(creds: Credentials, method: str, url: str, headers: dict[str, str], region: str,
                   payload: str, monkeypatch: pytest.MonkeyPatch) -> str:
    when = datetime.datetime.strptime(STAMP, "%Y%m%dT%H%M%SZ")
    monkeypatch.setattr(botocore.auth, "get_current_datetime", lambda: when)
    request = AWSRequest(method=method, url=url, headers=dict(headers))
    # botocore decides the payload hash from the client config (the body is empty here)
    request.context["client_config"] = SimpleNamespace(s3={"payload_signing_enabled": payload != UNSIGNED_PAYLOAD})
    S3SigV4Auth(BotoCredentials(creds.access_key, creds.secret_key, creds.token), "s3", region).add_auth(request)
    return request.headers["Authorization"]


@given(key=keys, extra=optional, token=st.none() | st.text("abcXYZ019+/=", min_size=1, max_size=20),
       part=st.none() | st.integers(1, 10_000), signed_payload=st.booleans())
def test_signature_equals_botocores(key: str, extra: dict[str, str], token: str | None, part: int | None,
                                    signed_payload: bool) -> None:
    with pytest.MonkeyPatch.context() as monkeypatch:
        creds = Credentials("AKIDEXAMPLE", "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", token)
        query = canonical_query({"partNumber": str(part), "uploadId": "a b/c+d"}) if part else ""
        path = f"/bucket/{quote_key(key)}"
        url = f"http://127.0.0.1:9000{path}{'?' + query if query else ''}"
        payload = EMPTY_SHA256 if signed_payload else UNSIGNED_PAYLOAD
        headers = {"host": "127.0.0.1:9000", **extra}
        ours = Signer("eu-west-3").sign(creds, "PUT", path, query, dict(headers), STAMP, payload)
        assert ours["authorization"] == _botocore_auth(creds, "PUT", url, headers, "eu-west-3", payload, monkeypatch)
        assert ("x-amz-security-token" in ours) == bool(token)


def test_aws_documented_get_object_example() -> None:
    """The GET example of AWS's 'Signature Calculations for the Authorization Header' page."""
    creds = Credentials("AKIAIOSFODNN7EXAMPLE", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    headers = Signer("us-east-1").sign(creds, "GET", "/test.txt", "", {"host": "examplebucket.s3.amazonaws.com",
                                                                      "range": "bytes=0-9"},
                                       "20130524T000000Z", EMPTY_SHA256)
    assert headers["authorization"] == (
        "AWS4-HMAC-SHA256 Credential=AKIAIOSFODNN7EXAMPLE/20130524/us-east-1/s3/aws4_request, "
        "SignedHeaders=host;range;x-amz-content-sha256;x-amz-date, "
        "Signature=f0e8bdb87c964420e857bd35b5d6ed310bd44f0170aba48dd91039c6036bdb41")


def test_canonical_request_sorts_trims_and_skips_unsigned_headers() -> None:
    text, signed = canonical_request("GET", "/b/a%20b", "partNumber=1&uploadId=x",
                                     {"x-amz-date": STAMP, "host": "h", "user-agent": "u", "range": "  bytes=0-1  "},
                                     UNSIGNED_PAYLOAD)
    assert signed == "host;range;x-amz-date"
    assert text == ("GET\n/b/a%20b\npartNumber=1&uploadId=x\nhost:h\nrange:bytes=0-1\n"
                    f"x-amz-date:{STAMP}\n\nhost;range;x-amz-date\nUNSIGNED-PAYLOAD")


def test_query_and_key_encoding() -> None:
    assert canonical_query({"uploadId": "a b+c/d~", "partNumber": "2"}) == "partNumber=2&uploadId=a%20b%2Bc%2Fd~"
    assert quote_key("dir//a b+%é~") == "dir//a%20b%2B%25%C3%A9~"


def test_signing_key_is_derived_once_per_day_region_and_secret() -> None:
    cache = SigningKeys()
    signer = Signer("us-east-1", keys=cache)
    creds = Credentials("AK", "secret")
    for _ in range(50):
        signer.sign(creds, "GET", "/b/k", "", {"host": "h"}, STAMP)
    assert cache.derived == 1
    signer.sign(creds, "GET", "/b/k", "", {"host": "h"}, "20261202T000001Z")  # a new day
    signer.sign(Credentials("AK", "rotated"), "GET", "/b/k", "", {"host": "h"}, "20261202T000001Z")
    assert cache.derived == 3
    assert cache.get("secret", "20261201", "us-east-1", "s3") == derive_key("secret", "20261201", "us-east-1", "s3")


def test_signing_key_cache_is_bounded() -> None:
    cache = SigningKeys()
    for day in range(SigningKeys.LIMIT * 3):
        cache.get("secret", f"2026{day:04d}", "us-east-1", "s3")
    assert len(cache._keys) == SigningKeys.LIMIT


def test_clock_formats_once_per_second() -> None:
    now = [1_796_143_135.2]
    clock = Clock(lambda: now[0])
    first = clock.stamp()
    now[0] += 0.5
    assert clock.stamp() is first
    now[0] += 1
    assert clock.stamp() != first
    assert first == datetime.datetime.fromtimestamp(1_796_143_135, datetime.UTC).strftime("%Y%m%dT%H%M%SZ")
