"""Object options: parsing and the S3 parameters for writes and copies. Pure."""

import pytest

from s3ferry.core.object_options import (ObjectOptions, copy_params, parse_metadata, parse_pairs, tag_set, tagging,
                                         tags_from_tagging, write_params)
from s3ferry.core.errors import ConfigError


def test_write_params_guess_the_type_and_carry_every_option():
    assert write_params(ObjectOptions(), "r.pdf") == {"ContentType": "application/pdf"}
    assert write_params(ObjectOptions(), "noext")["ContentType"] == "application/octet-stream"
    options = ObjectOptions(content_type="text/x", content_disposition="attachment; filename=report.pdf",
                            cache_control="max-age=60", content_encoding="gzip", metadata=(("a", "1"),),
                            tags=(("team", "x y"), ("k", "&=")), storage_class="STANDARD_IA", sse="AES256",
                            acl="private")
    params = write_params(options, "r.pdf")
    assert params["ContentType"] == "text/x" and params["ContentDisposition"].startswith("attachment")
    assert params["Metadata"] == {"a": "1"} and params["StorageClass"] == "STANDARD_IA"
    assert params["ServerSideEncryption"] == "AES256" and params["ACL"] == "private"
    assert tags_from_tagging(params["Tagging"]) == options.tags
    assert tag_set(options.tags)[0] == {"Key": "team", "Value": "x y"}
    assert tagging([]) == ""


def test_copy_keeps_the_source_unless_told():
    head = {"ContentType": "image/png", "CacheControl": "no-cache", "StorageClass": "STANDARD_IA",
            "Metadata": {"m": "1"}, "ContentLength": 3}
    kept = copy_params(ObjectOptions(), head, [("t", "1")], tags_copied_by_store=False)
    assert kept == {"ContentType": "image/png", "CacheControl": "no-cache", "StorageClass": "STANDARD_IA",
                    "Metadata": {"m": "1"}, "Tagging": "t=1"}
    by_store = copy_params(ObjectOptions(), head, [("t", "1")], tags_copied_by_store=True)
    assert "Tagging" not in by_store and "TaggingDirective" not in by_store
    told = copy_params(ObjectOptions(content_type="text/plain", metadata=(("n", "2"),), tags=(("u", "2"),),
                                     storage_class="STANDARD"), head, [("t", "1")], tags_copied_by_store=True)
    assert told["ContentType"] == "text/plain" and told["Metadata"] == {"n": "2"}
    assert told["Tagging"] == "u=2" and told["TaggingDirective"] == "REPLACE" and told["StorageClass"] == "STANDARD"


@pytest.mark.parametrize("make, message", [
    (lambda: ObjectOptions(storage_class="COLD"), "storage class"),
    (lambda: ObjectOptions(sse="rot13"), "--sse"),
    (lambda: ObjectOptions(sse_kms_key_id="k"), "needs --sse aws:kms"),
    (lambda: ObjectOptions(acl="everyone"), "--acl"),
    (lambda: ObjectOptions(tags=tuple((str(i), "") for i in range(11))), "at most 10"),
    (lambda: parse_pairs(["novalue"], "tag"), "KEY=VALUE"),
    (lambda: parse_pairs(["=v"], "tag"), "KEY=VALUE"),
    (lambda: parse_metadata(["k=caf\u00e9"]), "ASCII"),
    (lambda: parse_metadata(["a b=1"]), "ASCII"),
])
def test_bad_options_are_usage_errors(make, message):
    with pytest.raises(ConfigError, match=message):
        make()


def test_pairs():
    assert parse_pairs(["a=1", "b=x=y", "a=2"], "tag") == (("a", "2"), ("b", "x=y"))
    assert parse_metadata(["Owner=Me"]) == (("owner", "Me"),)
