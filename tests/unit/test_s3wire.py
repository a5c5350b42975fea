"""The lean path's wire format: replies and errors shaped exactly as botocore shapes them."""

from __future__ import annotations

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.parsers import RestXMLParser
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core import s3wire

MODEL = botocore.session.get_session().get_service_model("s3")
HOT = ("HeadObject", "GetObject", "PutObject", "UploadPart")

HEADERS = {
    "content-length": "65536", "etag": '"0cc175b9c0f1b6a831c399e269772661"',
    "last-modified": "Tue, 01 Dec 2026 16:38:55 GMT", "content-type": "text/plain",
    "x-amz-meta-s3ferry-part-size": "8388608", "x-amz-mp-parts-count": "3",
    "x-amz-checksum-crc64nvme": "AAAAAAAAAAA=", "x-amz-checksum-type": "FULL_OBJECT",
    "x-amz-server-side-encryption": "aws:kms", "x-amz-server-side-encryption-bucket-key-enabled": "true",
    "x-amz-delete-marker": "false", "expires": "Wed, 02 Dec 2026 00:00:00 GMT", "accept-ranges": "bytes",
    "x-amz-object-lock-retain-until-date": "2027-01-01T00:00:00.000Z", "x-amz-request-id": "R1",
    "x-amz-id-2": "H1", "server": "moto", "x-amz-version-id": "v1",
}


@pytest.mark.parametrize("operation", ["HeadObject", "GetObject"])
def test_reply_equals_botocores_parse(operation: str) -> None:
    shape = MODEL.operation_model(operation).output_shape
    theirs = RestXMLParser().parse({"headers": HeadersDict(HEADERS), "status_code": 200, "body": b""}, shape)
    ours = s3wire.parse_reply(HEADERS, 200)
    theirs.pop("Body", None)
    assert {k: v for k, v in ours.items() if k != "ResponseMetadata"} == \
        {k: v for k, v in theirs.items() if k != "ResponseMetadata"}
    assert ours["ResponseMetadata"]["HTTPStatusCode"] == 200
    assert ours["ResponseMetadata"]["RequestId"] == "R1"


@pytest.mark.parametrize("operation", HOT)
def test_reply_table_covers_every_header_member(operation: str) -> None:
    shape = MODEL.operation_model(operation).output_shape
    for name, member in shape.members.items():
        if member.serialization.get("location") == "header":
            assert s3wire.REPLY_HEADERS[member.serialization["name"].lower()][0] == name


@pytest.mark.parametrize("operation", HOT)
def test_request_table_uses_botocores_header_names(operation: str) -> None:
    shape = MODEL.operation_model(operation).input_shape
    for name, header in s3wire.REQUEST_HEADERS.items():
        if name in shape.members:
            assert shape.members[name].serialization["name"].lower() == header
    for name, query in s3wire.QUERY_PARAMS.items():
        if name in shape.members:
            assert shape.members[name].serialization["name"] == query


def test_request_headers_and_what_needs_botocore() -> None:
    assert s3wire.request_headers({"ContentMD5": "x==", "Metadata": {"S3ferry-Part-Size": "8"}, "IfMatch": '"e"'}) == \
        {"content-md5": "x==", "x-amz-meta-s3ferry-part-size": "8", "if-match": '"e"'}
    # our own CRC64NVME value: sent as is
    assert s3wire.request_headers({"ChecksumAlgorithm": "CRC64NVME", "ChecksumCRC64NVME": "AA=="}) == \
        {"x-amz-sdk-checksum-algorithm": "CRC64NVME", "x-amz-checksum-crc64nvme": "AA=="}
    assert s3wire.request_headers({"ChecksumAlgorithm": "CRC32"}) is None  # botocore computes it
    assert s3wire.request_headers({"SSECustomerKey": "k"}) is None  # botocore encodes it
    assert s3wire.request_headers({"ContentLength": 5}) is None  # not a string: not guessed at


def test_error_code_comes_from_the_xml_body() -> None:
    body = (b'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>NoSuchBucket</Code>'
            b"<Message>The specified bucket does not exist</Message><BucketName>nb</BucketName>"
            b"<RequestId>R</RequestId></Error>")
    reply = s3wire.parse_error(404, {"x-amz-request-id": "R"}, body)
    assert reply["Error"] == {"Code": "NoSuchBucket", "Message": "The specified bucket does not exist",
                              "BucketName": "nb", "RequestId": "R"}
    assert reply["ResponseMetadata"]["HTTPStatusCode"] == 404


def test_error_in_a_namespace_or_a_wrapper() -> None:
    wrapped = b'<ErrorResponse xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Error><Code>SlowDown</Code>' \
              b"<Message>Reduce</Message></Error></ErrorResponse>"
    assert s3wire.parse_error(503, {}, wrapped)["Error"] == {"Code": "SlowDown", "Message": "Reduce"}


@pytest.mark.parametrize("body", [b"", b"<html>gateway</html>", b"not xml at all", b"<Error></Error>"])
def test_error_without_a_usable_body_takes_the_status(body: bytes) -> None:
    assert s3wire.parse_error(503, {}, body)["Error"] == {"Code": "503", "Message": "Service Unavailable"}


def test_botocore_error_parse_agrees_on_code_and_message() -> None:
    body = b"<Error><Code>PreconditionFailed</Code><Message>At least one</Message><Condition>If-Match</Condition></Error>"
    theirs = RestXMLParser().parse({"headers": {}, "status_code": 412, "body": body},
                                   MODEL.operation_model("GetObject").output_shape)
    ours = s3wire.parse_error(412, {}, body)
    assert ours["Error"]["Code"] == theirs["Error"]["Code"]
    assert ours["Error"]["Message"] == theirs["Error"]["Message"]
    head = RestXMLParser().parse({"headers": {}, "status_code": 404, "body": b""},
                                 MODEL.operation_model("HeadObject").output_shape)
    assert s3wire.parse_error(404, {}, b"")["Error"] == head["Error"]


LIST_PAGE = (
    b'<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
    b"<Name>b</Name><Prefix>dir%2F</Prefix><MaxKeys>2</MaxKeys><Delimiter>%2F</Delimiter>"
    b"<EncodingType>url</EncodingType><IsTruncated>true</IsTruncated><KeyCount>3</KeyCount>"
    b"<NextContinuationToken>tok+/=</NextContinuationToken><StartAfter>a+b</StartAfter>"
    b"<Contents><Key>dir%2Fa+b%2B%25%C3%A9</Key><LastModified>2026-12-01T16:38:55.123Z</LastModified>"
    b"<ETag>&quot;0cc175b9c0f1b6a831c399e269772661&quot;</ETag><Size>65536</Size><StorageClass>STANDARD</StorageClass>"
    b"<ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm><ChecksumType>FULL_OBJECT</ChecksumType>"
    b"<Owner><ID>o1</ID><DisplayName>me</DisplayName></Owner></Contents>"
    b"<Contents><Key>dir%2F%01ctl</Key><LastModified>2026-12-01T16:38:56.000Z</LastModified>"
    b"<ETag>&quot;x-2&quot;</ETag><Size>0</Size><StorageClass>STANDARD</StorageClass>"
    b"<RestoreStatus><IsRestoreInProgress>false</IsRestoreInProgress>"
    b"<RestoreExpiryDate>2027-01-01T00:00:00.000Z</RestoreExpiryDate></RestoreStatus></Contents>"
    b"<CommonPrefixes><Prefix>dir%2Fsub+1%2F</Prefix></CommonPrefixes></ListBucketResult>")


def test_list_page_equals_botocores_parse_and_decoding() -> None:
    from botocore.handlers import decode_list_object_v2

    shape = MODEL.operation_model("ListObjectsV2").output_shape
    theirs = RestXMLParser().parse({"headers": HeadersDict({}), "status_code": 200, "body": LIST_PAGE}, shape)
    decode_list_object_v2(theirs, context={"encoding_type_auto_set": True})
    theirs.pop("ResponseMetadata")
    ours = s3wire.parse_list_page(LIST_PAGE)
    assert ours == theirs
    assert ours["Contents"][0]["Key"] == "dir/a b+%é" and ours["CommonPrefixes"] == [{"Prefix": "dir/sub 1/"}]


def test_list_query_and_what_needs_botocore() -> None:
    assert s3wire.list_query({"Prefix": "a b/", "MaxKeys": 1000, "StartAfter": "x", "Delimiter": "/"}) == {
        "list-type": "2", "encoding-type": "url", "prefix": "a b/", "max-keys": "1000", "start-after": "x",
        "delimiter": "/"}
    assert s3wire.list_query({"RequestPayer": "requester"}) is None


def test_head_bucket_reply_equals_botocores_parse() -> None:
    shape = MODEL.operation_model("HeadBucket").output_shape
    headers = {"x-amz-bucket-region": "eu-west-3", "x-amz-access-point-alias": "false",
               "x-amz-bucket-location-type": "AvailabilityZone", "x-amz-bucket-location-name": "euw3-az1",
               "x-amz-bucket-arn": "arn:aws:s3:::b", "x-amz-request-id": "R2", "content-type": "application/xml"}
    theirs = RestXMLParser().parse({"headers": HeadersDict(headers), "status_code": 200, "body": b""}, shape)
    ours = s3wire.parse_bucket_reply(headers, 200)
    assert {k: v for k, v in ours.items() if k != "ResponseMetadata"} == \
        {k: v for k, v in theirs.items() if k != "ResponseMetadata"}
    assert ours["ResponseMetadata"]["RequestId"] == "R2"
    for name, member in shape.members.items():
        assert s3wire.BUCKET_REPLY_HEADERS[member.serialization["name"].lower()][0] == name


@given(st.text())
def test_url_decoding_is_unquote_plus(text) -> None:
    from urllib.parse import unquote_plus

    assert s3wire._url_decoded(text) == unquote_plus(text)
    assert s3wire._url_decoded(text.replace("/", "%2F")) == unquote_plus(text.replace("/", "%2F"))


@given(st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=5), st.booleans())
def test_listed_keys_come_back_decoded_as_botocore_decodes_them(keys, plus) -> None:
    """Keys as S3 url-encodes them (Ceph encodes '/', AWS and '+'-for-space encoders differ)."""
    from urllib.parse import quote, quote_plus
    from xml.sax.saxutils import escape

    from botocore.handlers import decode_list_object_v2

    encode = quote_plus if plus else quote
    contents = "".join(f"<Contents><Key>{escape(encode(k, safe=''))}</Key><Size>1</Size>"
                       f"<LastModified>2026-12-01T16:38:55.123Z</LastModified><ETag>&quot;e&quot;</ETag></Contents>"
                       for k in keys if k.isprintable())
    body = ('<?xml version="1.0" encoding="UTF-8"?><ListBucketResult xmlns="http://s3.amazonaws.com/doc/2006-03-01/">'
            f"<EncodingType>url</EncodingType><IsTruncated>false</IsTruncated>{contents}</ListBucketResult>").encode()
    shape = MODEL.operation_model("ListObjectsV2").output_shape
    theirs = RestXMLParser().parse({"headers": HeadersDict({}), "status_code": 200, "body": body}, shape)
    decode_list_object_v2(theirs, context={"encoding_type_auto_set": True})
    theirs.pop("ResponseMetadata")
    assert s3wire.parse_list_page(body) == theirs
