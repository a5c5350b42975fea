"""The presigned multipart manifest, the Complete body and reply. Pure."""

import json

import pytest
from hypothesis import given, strategies as st

from s3ferry.core.config import MiB
from s3ferry.core.presign import (build_manifest, complete_body, complete_etag, parse_expires, parse_manifest,
                                  parse_s3_reply, plan_manifest_parts, total_size, url_label)
from s3ferry.core.errors import ConfigError, IntegrityError


def manifest(size=40 * MiB, part=16 * MiB):
    count = len(plan_manifest_parts(size, part))
    return build_manifest("b", "k", "up1", size, part, "2026-12-01T17:00:00+00:00",
                          [f"http://h/b/k?partNumber={n}&uploadId=up1&X-Amz-Signature=s" for n in range(1, count + 1)],
                          "http://h/b/k?uploadId=up1&sig", "http://h/b/k?uploadId=up1&sig2", "http://h/b/k?sig3")


@given(st.integers(0, 200 * MiB), st.sampled_from([5 * MiB, 8 * MiB, 64 * MiB]))
def test_manifest_round_trips_and_tiles_the_object(size, part):
    made = manifest(size, part)
    back = parse_manifest(made.to_json())
    assert back == made
    assert sum(p.size for p in back.parts) == size
    assert [p.offset for p in back.parts] == [i * part for i in range(len(back.parts))]


def test_tampered_manifests_are_refused():
    data = json.loads(manifest().to_json())
    for change, message in [
        (lambda d: d.update(format="other"), "not an s3ferry"),
        (lambda d: d["parts"].pop(), "do not cover"),
        (lambda d: d["parts"][0].update(size=1), "do not cover"),
        (lambda d: d.update(complete_url="file:///etc/passwd"), "http"),
        (lambda d: d.update(check_url="ftp://x"), "http"),
        (lambda d: d.pop("upload_id"), "malformed"),
    ]:
        bad = json.loads(json.dumps(data))
        change(bad)
        with pytest.raises(ConfigError, match=message):
            parse_manifest(json.dumps(bad))
    with pytest.raises(ConfigError, match="malformed"):
        parse_manifest("not json")
    with pytest.raises(ConfigError, match="raise --part-size"):
        plan_manifest_parts(10_001 * 5 * MiB, 5 * MiB)
    with pytest.raises(ConfigError, match="bytes, the manifest"):
        manifest().check_size(3, "f")


def test_complete_body_and_reply():
    body = complete_body([(2, "bb"), (1, '"aa"')])
    assert body.index(b"<PartNumber>1</PartNumber>") < body.index(b"<PartNumber>2</PartNumber>")
    assert b"<ETag>\"aa\"</ETag>" in body
    ok = (b'<?xml version="1.0"?><CompleteMultipartUploadResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
          b"<Bucket>b</Bucket><Key>k</Key><ETag>&quot;ABC-3&quot;</ETag></CompleteMultipartUploadResult>")
    assert complete_etag(ok) == "abc-3"
    assert complete_etag(b"") == ""
    with pytest.raises(IntegrityError, match="InvalidPart"):
        complete_etag(b"<Error><Code>InvalidPart</Code><Message>nope</Message></Error>")
    assert parse_s3_reply(b"<Error><Code>NoSuchUpload</Code></Error>")["Code"] == "NoSuchUpload"


def test_expiry_and_sizes_and_labels():
    assert parse_expires("1h") == 3600 and parse_expires("90") == 90 and parse_expires("7d") == 604800
    for bad in ("8d", "0", "soon"):
        with pytest.raises(ConfigError):
            parse_expires(bad)
    assert total_size("bytes 0-0/1234", None) == 1234 and total_size(None, "77") == 77
    with pytest.raises(ValueError):
        total_size("bytes nonsense", None)
    assert url_label("https://h/b/k?X-Amz-Signature=secret") == "https://h/b/k"
