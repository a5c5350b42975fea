import pytest

from s3ferry.core.errors import ConfigError
from s3ferry.core.locations import S3Location, parse_s3_url, safe_relative_path


@pytest.mark.parametrize("url, bucket, key", [
    ("s3://bkt/a/b.txt", "bkt", "a/b.txt"),
    ("s3://bkt", "bkt", ""),
    ("s3://bkt/", "bkt", ""),
    ("s3://bkt/with space+plus%25/ünï//x", "bkt", "with space+plus%25/ünï//x"),
])
def test_parse_keeps_keys_byte_for_byte(url, bucket, key):
    assert parse_s3_url(url) == S3Location(bucket, key)


@pytest.mark.parametrize("url", ["bkt/key", "s3://", "s3://a/x", "s3://-bad-/x", "s3://a..b/x", "s3://bkt/a\x00b"])
def test_parse_rejects(url):
    with pytest.raises(ConfigError):
        parse_s3_url(url)


def test_child_of_prefix_and_object():
    assert S3Location("b", "p/").child("x/y") == S3Location("b", "p/x/y")
    assert S3Location("b", "p").child("x") == S3Location("b", "p/x")
    assert S3Location("b", "").child("x") == S3Location("b", "x")


@pytest.mark.parametrize("key, prefix, relative", [
    ("p/a/b", "p/", "a/b"),
    ("p/a//b", "p/", "a/b"),
    ("p/./a", "p/", "a"),
])
def test_safe_relative_path(key, prefix, relative):
    assert safe_relative_path(key, prefix) == relative


@pytest.mark.parametrize("key", ["p/../../escape", "p/a/../../b", "p/..", "p//etc/passwd", "p/a\x00b", "p/"])
def test_hostile_keys_refused(key):
    with pytest.raises(ConfigError):
        safe_relative_path(key, "p/")
