"""S3's REST wire format for the multipart control requests on the lean path (pure):
CreateMultipartUpload, CompleteMultipartUpload, AbortMultipartUpload, ListMultipartUploads.

Parameters map to headers, query and body as botocore serialises them, and replies parse to
botocore's dicts (member names and types, a unit test checks the tables against its model);
a parameter not mapped here makes the request botocore's (None), never a dropped one.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from xml.etree import ElementTree

from s3ferry.core import s3wire
from s3ferry.core.s3wire import _B, _I, _ISO, _S, _T, _convert, _metadata, xml_element

S3_XMLNS = "http://s3.amazonaws.com/doc/2006-03-01/"


def escape(text: str) -> str:
    """xml.sax.saxutils.escape's text escape (&, <, >), here because importing that module
    pulls in urllib.request, http.client and email (~4 ms of every CLI start)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")

# Members each request may carry as plain headers (s3wire.REQUEST_HEADERS's names and values):
# the ones of the operation's input shape that need no encoding by botocore.
_COMMON = frozenset({"ExpectedBucketOwner", "RequestPayer"})
CREATE_MEMBERS = _COMMON | {
    "ACL", "CacheControl", "ContentDisposition", "ContentEncoding", "ContentLanguage", "ContentType",
    "ServerSideEncryption", "SSEKMSKeyId", "StorageClass", "Tagging", "WebsiteRedirectLocation", "ChecksumType",
    "Metadata",
}
CHECKSUMS = ("CRC32", "CRC32C", "CRC64NVME", "SHA1", "SHA256", "SHA512", "MD5", "XXHASH64", "XXHASH3", "XXHASH128")
COMPLETE_MEMBERS = _COMMON | {"IfMatch", "IfNoneMatch", "ChecksumType"} | {f"Checksum{c}" for c in CHECKSUMS}
PART_MEMBERS = frozenset({"PartNumber", "ETag"} | {f"Checksum{c}" for c in CHECKSUMS})


def create_headers(params: Mapping[str, Any]) -> dict[str, str] | None:
    """CreateMultipartUpload's headers; None when a parameter needs botocore."""
    algorithm = params.get("ChecksumAlgorithm")
    rest = {k: v for k, v in params.items() if k != "ChecksumAlgorithm"}
    if algorithm is not None and not isinstance(algorithm, str):
        return None
    headers = _headers(rest, CREATE_MEMBERS)
    if headers is not None and algorithm is not None:
        # Create names the algorithm the parts will carry (not the SDK's x-amz-sdk-... of a
        # request whose own body is checksummed)
        headers["x-amz-checksum-algorithm"] = algorithm
    return headers


def complete_headers(params: Mapping[str, Any]) -> dict[str, str] | None:
    return _headers(params, COMPLETE_MEMBERS)


def abort_headers(params: Mapping[str, Any]) -> dict[str, str] | None:
    return _headers(params, _COMMON)


def _headers(params: Mapping[str, Any], allowed: frozenset[str]) -> dict[str, str] | None:
    if not allowed.issuperset(params):
        return None
    return s3wire.request_headers(params)


def complete_body(parts: list[Mapping[str, Any]]) -> bytes | None:
    """The CompleteMultipartUpload document botocore's serialiser writes for ``parts`` (each
    part's members in the order given, as botocore keeps them); None for a member it would not
    send as plain text."""
    if not parts:
        return None  # botocore writes an empty element; S3 refuses it, in botocore's words
    out = [f'<CompleteMultipartUpload xmlns="{S3_XMLNS}">']
    for part in parts:
        out.append("<Part>")
        for name, value in part.items():
            if name not in PART_MEMBERS or isinstance(value, bool):
                return None
            if name == "PartNumber":
                if not isinstance(value, int):
                    return None
                value = str(value)
            elif not isinstance(value, str):
                return None
            out.append(f"<{name}>{escape(value)}</{name}>" if value else f"<{name} />")  # as ElementTree writes
        out.append("</Part>")
    out.append("</CompleteMultipartUpload>")
    return "".join(out).encode()


_LIST_QUERY = {"Prefix": "prefix", "Delimiter": "delimiter", "KeyMarker": "key-marker",
               "UploadIdMarker": "upload-id-marker", "MaxUploads": "max-uploads"}


def list_uploads_query(params: Mapping[str, Any]) -> dict[str, str] | None:
    """ListMultipartUploads' query; None for parameters left to botocore."""
    query = {"uploads": ""}
    for name, value in params.items():
        if name not in _LIST_QUERY or isinstance(value, bool) or not isinstance(value, (str, int)):
            return None
        query[_LIST_QUERY[name]] = str(value)
    return query


# ---- replies ----------------------------------------------------------------------------------
# Header members of each reply, (lower-case header) -> (member, type); body members are text
# except where _BODY_TYPES says.
_SSE = {
    "x-amz-server-side-encryption": ("ServerSideEncryption", _S),
    "x-amz-server-side-encryption-aws-kms-key-id": ("SSEKMSKeyId", _S),
    "x-amz-server-side-encryption-bucket-key-enabled": ("BucketKeyEnabled", _B),
    "x-amz-request-charged": ("RequestCharged", _S),
}
CREATE_REPLY_HEADERS: dict[str, tuple[str, str]] = {
    **_SSE,
    "x-amz-abort-date": ("AbortDate", _T),
    "x-amz-abort-rule-id": ("AbortRuleId", _S),
    "x-amz-server-side-encryption-customer-algorithm": ("SSECustomerAlgorithm", _S),
    "x-amz-server-side-encryption-customer-key-md5": ("SSECustomerKeyMD5", _S),
    "x-amz-server-side-encryption-context": ("SSEKMSEncryptionContext", _S),
    "x-amz-checksum-algorithm": ("ChecksumAlgorithm", _S),
    "x-amz-checksum-type": ("ChecksumType", _S),
}
COMPLETE_REPLY_HEADERS: dict[str, tuple[str, str]] = {
    **_SSE, "x-amz-expiration": ("Expiration", _S), "x-amz-version-id": ("VersionId", _S),
}
ABORT_REPLY_HEADERS: dict[str, tuple[str, str]] = {"x-amz-request-charged": ("RequestCharged", _S)}
LIST_REPLY_HEADERS = ABORT_REPLY_HEADERS
_BODY_TYPES = {"MaxUploads": _I, "IsTruncated": _B, "Initiated": _ISO}
_REPEATED = frozenset({"Upload", "CommonPrefixes"})
_RENAMED = {"Upload": "Uploads"}  # flattened lists botocore names apart from their elements


def parse_create(headers: Mapping[str, str], status: int, body: bytes) -> dict[str, Any]:
    return _reply(headers, status, body, CREATE_REPLY_HEADERS)


def parse_complete(headers: Mapping[str, str], status: int, body: bytes) -> dict[str, Any]:
    """botocore's CompleteMultipartUpload reply; call ``special_error`` first."""
    return _reply(headers, status, body, COMPLETE_REPLY_HEADERS)


def parse_abort(headers: Mapping[str, str], status: int) -> dict[str, Any]:
    return _reply(headers, status, b"", ABORT_REPLY_HEADERS)


def parse_list_uploads(headers: Mapping[str, str], status: int, body: bytes) -> dict[str, Any]:
    return _reply(headers, status, body, LIST_REPLY_HEADERS)


def special_error(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any] | None:
    """The error of a 200 reply whose body is an <Error> document, or is cut short (S3 sends
    Complete's 200 at once, then keep-alive spaces, then the outcome): botocore's error dict
    with the status made 500, as botocore's _handle_200_error makes it, so that the retry
    policy sees a server error. The same test as botocore's, to the byte."""
    if status != 200 or not body:
        return None
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return s3wire.parse_error(500, headers, b"")
    if root.tag != "Error":
        return None
    return s3wire.parse_error(500, headers, body)


def _reply(headers: Mapping[str, str], status: int, body: bytes,
           table: Mapping[str, tuple[str, str]]) -> dict[str, Any]:
    reply = xml_element(ElementTree.fromstring(body), _BODY_TYPES, _REPEATED, _RENAMED) if body else {}
    for name, (member, kind) in table.items():
        if name in headers:
            reply[member] = _convert(headers[name], kind)
    reply["ResponseMetadata"] = _metadata(headers, status)
    return reply


