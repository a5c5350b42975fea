"""The multipart control requests' wire format: requests as botocore's serialiser writes
them, replies and errors as its parser and handlers shape them."""

from __future__ import annotations

from datetime import UTC, datetime

import botocore.session
import pytest
from botocore.awsrequest import HeadersDict
from botocore.handlers import _looks_like_special_case_error
from botocore.parsers import RestXMLParser
from botocore.serialize import create_serializer
from hypothesis import given
from hypothesis import strategies as st

from s3ferry.core import s3wire
from s3ferry.core import s3wire_multipart as wire

MODEL = botocore.session.get_session().get_service_model("s3")
SERIALIZER = create_serializer("rest-xml", include_validation=True)


def _op(name: str):
    return MODEL.operation_model(name)


# ---- the tables against botocore's model ---------------------------------------------------------

@pytest.mark.parametrize(("operation", "members"), [
    ("CreateMultipartUpload", wire.CREATE_MEMBERS), ("CompleteMultipartUpload", wire.COMPLETE_MEMBERS),
    ("AbortMultipartUpload", wire._COMMON)])
def test_request_members_are_the_operations_own_headers(operation, members):
    shape = _op(operation).input_shape
    for name in members:
        member = shape.members[name]
        if name == "Metadata":
            assert member.serialization == {"location": "headers", "name": "x-amz-meta-"}
            continue
        assert member.type_name == "string" and member.serialization["location"] == "header"
        assert s3wire.REQUEST_HEADERS[name] == member.serialization["name"].lower()


def test_part_members_are_the_completed_parts_members():
    part = _op("CompleteMultipartUpload").input_shape.members["MultipartUpload"].members["Parts"].member
    assert wire.PART_MEMBERS == frozenset(part.members)


@pytest.mark.parametrize(("operation", "table"), [
    ("CreateMultipartUpload", wire.CREATE_REPLY_HEADERS), ("CompleteMultipartUpload", wire.COMPLETE_REPLY_HEADERS),
    ("AbortMultipartUpload", wire.ABORT_REPLY_HEADERS), ("ListMultipartUploads", wire.LIST_REPLY_HEADERS)])
def test_reply_tables_cover_every_header_member(operation, table):
    shape = _op(operation).output_shape
    headers = {m.serialization["name"].lower(): name for name, m in shape.members.items()
               if m.serialization.get("location") == "header"}
    assert {name: member for name, (member, _) in table.items()} == headers


# ---- requests ----------------------------------------------------------------------------------

def _botocores(operation: str, params: dict) -> dict:
    request = SERIALIZER.serialize_to_request({"Bucket": "b", "Key": "k", **params}, _op(operation))
    return request


def test_create_headers_are_botocores():
    params = {"ContentType": "text/plain", "Metadata": {"s3ferry-part-size": "8"}, "ChecksumAlgorithm": "CRC64NVME",
              "ChecksumType": "FULL_OBJECT", "StorageClass": "STANDARD_IA", "Tagging": "a=b", "ACL": "private",
              "ServerSideEncryption": "aws:kms", "SSEKMSKeyId": "key", "CacheControl": "no-cache"}
    theirs = _botocores("CreateMultipartUpload", params)
    assert wire.create_headers(params) == {k.lower(): v for k, v in theirs["headers"].items()}
    assert theirs["query_string"] == {"uploads": ""} or "uploads" in theirs["url_path"]


@pytest.mark.parametrize("params", [
    {"Expires": datetime(2030, 1, 1, tzinfo=UTC)},  # a timestamp botocore formats
    {"SSECustomerKey": "k", "SSECustomerAlgorithm": "AES256"},  # a key botocore encodes
    {"BucketKeyEnabled": True}, {"ObjectLockMode": "GOVERNANCE"}, {"ChecksumAlgorithm": 5},
    {"ContentMD5": "x=="},  # not Create's: botocore would refuse it, so it must see it
])
def test_create_parameters_left_to_botocore(params):
    assert wire.create_headers({"ContentType": "a/b", **params}) is None


def test_complete_and_abort_headers():
    params = {"ChecksumCRC64NVME": "AAAAAAAAAAA=", "ChecksumType": "FULL_OBJECT", "IfNoneMatch": "*", "IfMatch": '"e"'}
    theirs = _botocores("CompleteMultipartUpload", {"UploadId": "u", "MultipartUpload": {"Parts": []}, **params})
    assert wire.complete_headers(params) == {k.lower(): v for k, v in theirs["headers"].items()}
    assert wire.complete_headers({"MpuObjectSize": 5}) is None
    assert wire.complete_headers({"SSECustomerKey": "k"}) is None
    assert wire.abort_headers({}) == {} and wire.abort_headers({"IfMatchInitiatedTime": datetime.now()}) is None


_TEXT = st.text(st.characters(blacklist_categories=("Cs", "Cc")), max_size=20)
_PART = st.fixed_dictionaries({"PartNumber": st.integers(1, 10_000), "ETag": _TEXT},
                              optional={f"Checksum{c}": _TEXT for c in wire.CHECKSUMS})


@given(st.lists(_PART, min_size=1, max_size=8))
def test_complete_body_is_botocores_byte_for_byte(parts):
    theirs = _botocores("CompleteMultipartUpload", {"UploadId": "u", "MultipartUpload": {"Parts": parts}})
    assert wire.complete_body(parts) == theirs["body"]


@given(st.lists(_PART, min_size=1, max_size=8))
def test_complete_body_round_trips_through_an_xml_parser(parts):
    from xml.etree import ElementTree

    root = ElementTree.fromstring(wire.complete_body(parts))
    back = [{s3wire._local(e.tag): (int(e.text) if s3wire._local(e.tag) == "PartNumber" else e.text or "")
             for e in part} for part in root]
    assert back == parts


@pytest.mark.parametrize("part", [{"PartNumber": "1", "ETag": "e"}, {"PartNumber": 1, "ETag": b"e"},
                                  {"PartNumber": True, "ETag": "e"}, {"PartNumber": 1, "ETag": "e", "Size": 5}])
def test_complete_body_leaves_odd_parts_to_botocore(part):
    assert wire.complete_body([part]) is None
    assert wire.complete_body([]) is None


def test_list_query():
    assert wire.list_uploads_query({"Prefix": "a b", "KeyMarker": "k", "UploadIdMarker": "u", "MaxUploads": 5}) == \
        {"uploads": "", "prefix": "a b", "key-marker": "k", "upload-id-marker": "u", "max-uploads": "5"}
    assert wire.list_uploads_query({"EncodingType": "url"}) is None
    theirs = SERIALIZER.serialize_to_request({"Bucket": "b", "Prefix": "a b", "MaxUploads": 5},
                                             _op("ListMultipartUploads"))
    assert theirs["query_string"] == {"prefix": "a b", "max-uploads": 5} and theirs["url_path"].endswith("?uploads")


# ---- replies -------------------------------------------------------------------------------------

HEADERS = {"x-amz-request-id": "R1", "x-amz-id-2": "H1", "x-amz-server-side-encryption": "AES256",
           "x-amz-server-side-encryption-bucket-key-enabled": "false", "x-amz-version-id": "v1",
           "x-amz-checksum-algorithm": "CRC64NVME", "x-amz-checksum-type": "FULL_OBJECT",
           "x-amz-abort-date": "Wed, 02 Dec 2026 00:00:00 GMT", "x-amz-expiration": 'expiry-date="x"'}
NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"'
CREATE = f'<?xml version="1.0" encoding="UTF-8"?><InitiateMultipartUploadResult {NS}><Bucket>b</Bucket>' \
         '<Key>a &amp; b</Key><UploadId>u-1</UploadId></InitiateMultipartUploadResult>'
COMPLETE = f'<?xml version="1.0" encoding="UTF-8"?>\n  \n<CompleteMultipartUploadResult {NS}><Location>http://h/b/k' \
           '</Location><Bucket>b</Bucket><Key>k</Key><ETag>"abc-2"</ETag><ChecksumCRC64NVME>AAAAAAAAAAA=' \
           '</ChecksumCRC64NVME><ChecksumType>FULL_OBJECT</ChecksumType></CompleteMultipartUploadResult>'
LIST = f'<?xml version="1.0" encoding="UTF-8"?><ListMultipartUploadsResult {NS}><Bucket>b</Bucket><KeyMarker>' \
       '</KeyMarker><UploadIdMarker></UploadIdMarker><NextKeyMarker>k2</NextKeyMarker><Prefix>k</Prefix>' \
       '<NextUploadIdMarker>u2</NextUploadIdMarker><MaxUploads>2</MaxUploads><IsTruncated>true</IsTruncated>' \
       '<Upload><Key>k1</Key><UploadId>u1</UploadId><Initiator><ID>i</ID><DisplayName>d</DisplayName></Initiator>' \
       '<Owner><ID>i</ID><DisplayName>d</DisplayName></Owner><StorageClass>STANDARD</StorageClass>' \
       '<Initiated>2026-12-02T01:02:03.000Z</Initiated><ChecksumAlgorithm>CRC64NVME</ChecksumAlgorithm></Upload>' \
       '<Upload><Key>k2</Key><UploadId>u2</UploadId><Initiated>2026-12-02T01:02:04.000Z</Initiated></Upload>' \
       '<CommonPrefixes><Prefix>k/</Prefix></CommonPrefixes></ListMultipartUploadsResult>'


@pytest.mark.parametrize(("operation", "parse", "body", "status"), [
    ("CreateMultipartUpload", wire.parse_create, CREATE, 200),
    ("CompleteMultipartUpload", wire.parse_complete, COMPLETE, 200),
    ("ListMultipartUploads", wire.parse_list_uploads, LIST, 200),
    ("AbortMultipartUpload", lambda h, s, b: wire.parse_abort(h, s), "", 204),
])
def test_replies_equal_botocores_parse(operation, parse, body, status):
    theirs = RestXMLParser().parse({"headers": HeadersDict(HEADERS), "status_code": status,
                                    "body": body.encode()}, _op(operation).output_shape)
    ours = parse(HEADERS, status, body.encode())
    assert {k: v for k, v in ours.items() if k != "ResponseMetadata"} == \
        {k: v for k, v in theirs.items() if k != "ResponseMetadata"}
    assert ours["ResponseMetadata"]["HTTPStatusCode"] == status and ours["ResponseMetadata"]["RequestId"] == "R1"


@given(st.binary(max_size=200) | st.sampled_from([COMPLETE.encode(), CREATE.encode(), LIST.encode()]).flatmap(
    lambda whole: st.integers(0, len(whole)).map(lambda cut: whole[:cut])))
def test_a_200_is_an_error_exactly_where_botocore_says_so(body):
    """botocore's _handle_200_error turns such a reply into a 500; ours raises the same."""
    expected = _looks_like_special_case_error(200, body)
    error = wire.special_error(200, HEADERS, body)
    assert (error is not None) == expected
    if error is not None:
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 500


def test_an_error_document_in_a_200_keeps_its_code_and_is_retryable():
    from botocore.exceptions import ClientError

    from s3ferry.store.retry import is_retryable

    body = b'<?xml version="1.0" encoding="UTF-8"?>\n  \n<Error><Code>InternalError</Code><Message>We encountered ' \
           b'an internal error. Please try again.</Message><RequestId>R</RequestId></Error>'
    error = wire.special_error(200, HEADERS, body)
    assert error is not None and error["Error"]["Code"] == "InternalError"
    assert is_retryable(ClientError(error, "CompleteMultipartUpload"))  # type: ignore[arg-type]
    assert wire.special_error(200, HEADERS, COMPLETE.encode()) is None
    assert wire.special_error(204, HEADERS, b"") is None and wire.special_error(200, HEADERS, b"") is None


@given(st.text())
def test_escape_is_saxutils_escape(text):
    from xml.sax.saxutils import escape

    assert wire.escape(text) == escape(text)


def test_the_wire_modules_import_neither_saxutils_nor_email():
    """Each cost every CLI start milliseconds (saxutils pulls in urllib.request, http.client
    and email); the date parser and HTTP phrases load when a reply needs them."""
    import subprocess
    import sys

    code = ("import sys; import s3ferry.core.s3wire, s3ferry.core.s3wire_multipart;"
            "print(sorted(m for m in ('xml.sax.saxutils', 'email.utils', 'urllib.request', 'http') if m in sys.modules))")
    assert subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip() == "[]"
