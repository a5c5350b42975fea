"""S3's REST wire format for the lean request path (pure): request parameters to headers,
response headers to botocore-shaped reply dicts, and error bodies to botocore's error dict.

Replies keep botocore's member names and types, so operations cannot tell which engine
answered. The tables list what the hot operations (HeadObject, GetObject, PutObject,
UploadPart) carry; a unit test checks them against botocore's service model.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import unquote_plus
from xml.etree import ElementTree

META_PREFIX = "x-amz-meta-"
_META_CUT = len(META_PREFIX)

# Request parameters the lean path sends as plain headers (string values, as given). Any
# other parameter (SSE-C keys botocore encodes, a ChecksumAlgorithm botocore must compute,
# timestamps) sends the request through botocore instead: correct first, fast where it can.
REQUEST_HEADERS: dict[str, str] = {
    "CacheControl": "cache-control",
    "ContentDisposition": "content-disposition",
    "ContentEncoding": "content-encoding",
    "ContentLanguage": "content-language",
    "ContentMD5": "content-md5",
    "ContentType": "content-type",
    "ChecksumCRC32": "x-amz-checksum-crc32",
    "ChecksumCRC32C": "x-amz-checksum-crc32c",
    "ChecksumCRC64NVME": "x-amz-checksum-crc64nvme",
    "ChecksumSHA1": "x-amz-checksum-sha1",
    "ChecksumSHA256": "x-amz-checksum-sha256",
    "ChecksumMD5": "x-amz-checksum-md5",
    "ChecksumSHA512": "x-amz-checksum-sha512",
    "ChecksumXXHASH3": "x-amz-checksum-xxhash3",
    "ChecksumXXHASH64": "x-amz-checksum-xxhash64",
    "ChecksumXXHASH128": "x-amz-checksum-xxhash128",
    "ChecksumMode": "x-amz-checksum-mode",
    "ChecksumType": "x-amz-checksum-type",
    "IfMatch": "if-match",
    "IfNoneMatch": "if-none-match",
    "Range": "range",
    "StorageClass": "x-amz-storage-class",
    "Tagging": "x-amz-tagging",
    "ExpectedBucketOwner": "x-amz-expected-bucket-owner",
    "RequestPayer": "x-amz-request-payer",
    "ACL": "x-amz-acl",
    "WebsiteRedirectLocation": "x-amz-website-redirect-location",
    "ServerSideEncryption": "x-amz-server-side-encryption",
    "SSEKMSKeyId": "x-amz-server-side-encryption-aws-kms-key-id",
}
QUERY_PARAMS: dict[str, str] = {"PartNumber": "partNumber", "UploadId": "uploadId", "VersionId": "versionId"}

# Response headers (lower-case) -> (member, type) for the four operations' replies.
_S, _I, _B, _T, _ISO = "string", "integer", "boolean", "timestamp", "iso8601"
REPLY_HEADERS: dict[str, tuple[str, str]] = {
    "accept-ranges": ("AcceptRanges", _S),
    "cache-control": ("CacheControl", _S),
    "content-disposition": ("ContentDisposition", _S),
    "content-encoding": ("ContentEncoding", _S),
    "content-language": ("ContentLanguage", _S),
    "content-length": ("ContentLength", _I),
    "content-range": ("ContentRange", _S),
    "content-type": ("ContentType", _S),
    "etag": ("ETag", _S),
    "expires": ("Expires", _T),
    "last-modified": ("LastModified", _T),
    "x-amz-archive-status": ("ArchiveStatus", _S),
    "x-amz-checksum-crc32": ("ChecksumCRC32", _S),
    "x-amz-checksum-crc32c": ("ChecksumCRC32C", _S),
    "x-amz-checksum-crc64nvme": ("ChecksumCRC64NVME", _S),
    "x-amz-checksum-sha1": ("ChecksumSHA1", _S),
    "x-amz-checksum-sha256": ("ChecksumSHA256", _S),
    "x-amz-checksum-type": ("ChecksumType", _S),
    # botocore >= 1.42 knows these too (newer S3 checksums, event holds)
    "x-amz-checksum-md5": ("ChecksumMD5", _S),
    "x-amz-checksum-sha512": ("ChecksumSHA512", _S),
    "x-amz-checksum-xxhash3": ("ChecksumXXHASH3", _S),
    "x-amz-checksum-xxhash64": ("ChecksumXXHASH64", _S),
    "x-amz-checksum-xxhash128": ("ChecksumXXHASH128", _S),
    "x-amz-object-lock-event-hold": ("ObjectLockEventHold", _S),
    "x-amz-object-lock-event-hold-duration-days": ("ObjectLockEventHoldDurationDays", _I),
    "x-amz-object-lock-event-hold-duration-years": ("ObjectLockEventHoldDurationYears", _I),
    "x-amz-delete-marker": ("DeleteMarker", _B),
    "x-amz-expiration": ("Expiration", _S),
    "x-amz-missing-meta": ("MissingMeta", _I),
    "x-amz-mp-parts-count": ("PartsCount", _I),
    "x-amz-object-lock-legal-hold": ("ObjectLockLegalHoldStatus", _S),
    "x-amz-object-lock-mode": ("ObjectLockMode", _S),
    "x-amz-object-lock-retain-until-date": ("ObjectLockRetainUntilDate", _ISO),
    "x-amz-object-size": ("Size", _I),
    "x-amz-replication-status": ("ReplicationStatus", _S),
    "x-amz-request-charged": ("RequestCharged", _S),
    "x-amz-restore": ("Restore", _S),
    "x-amz-server-side-encryption": ("ServerSideEncryption", _S),
    "x-amz-server-side-encryption-aws-kms-key-id": ("SSEKMSKeyId", _S),
    "x-amz-server-side-encryption-bucket-key-enabled": ("BucketKeyEnabled", _B),
    "x-amz-server-side-encryption-context": ("SSEKMSEncryptionContext", _S),
    "x-amz-server-side-encryption-customer-algorithm": ("SSECustomerAlgorithm", _S),
    "x-amz-server-side-encryption-customer-key-md5": ("SSECustomerKeyMD5", _S),
    "x-amz-storage-class": ("StorageClass", _S),
    "x-amz-tagging-count": ("TagCount", _I),
    "x-amz-version-id": ("VersionId", _S),
    "x-amz-website-redirect-location": ("WebsiteRedirectLocation", _S),
}


def request_headers(params: Mapping[str, Any]) -> dict[str, str] | None:
    """Headers (lower-case names) for ``params``; None when one of them needs botocore."""
    headers: dict[str, str] = {}
    for name, value in params.items():
        header = REQUEST_HEADERS.get(name)
        if header is not None and isinstance(value, str):
            headers[header] = value
        elif name == "Metadata" and isinstance(value, Mapping):
            for key, item in value.items():
                headers[META_PREFIX + str(key).lower()] = str(item)
        elif name == "ChecksumAlgorithm" and isinstance(value, str) and f"Checksum{value.upper()}" in params:
            headers["x-amz-sdk-checksum-algorithm"] = value.upper()  # the value is ours: nothing to compute
        else:
            return None
    return headers


def parse_reply(headers: Mapping[str, str], status: int) -> dict[str, Any]:
    """botocore's reply dict for a HeadObject/GetObject/PutObject/UploadPart response
    (``headers`` with lower-case names, as both of the lean path's HTTP clients give them)."""
    reply: dict[str, Any] = {}
    metadata: dict[str, str] = {}
    known_headers = REPLY_HEADERS
    for name, value in headers.items():
        known = known_headers.get(name)
        if known is None:
            if name.startswith(META_PREFIX):
                metadata[name[_META_CUT:]] = value
        elif known[1] == _S:
            reply[known[0]] = value
        else:
            reply[known[0]] = _convert(value, known[1])
    reply["Metadata"] = metadata
    reply["ResponseMetadata"] = _metadata(headers, status)
    return reply


# HeadBucket's reply members (botocore's output shape; a unit test checks the table).
BUCKET_REPLY_HEADERS: dict[str, tuple[str, str]] = {
    "x-amz-bucket-arn": ("BucketArn", _S),
    "x-amz-bucket-location-type": ("BucketLocationType", _S),
    "x-amz-bucket-location-name": ("BucketLocationName", _S),
    "x-amz-bucket-region": ("BucketRegion", _S),
    "x-amz-access-point-alias": ("AccessPointAlias", _B),
}


def parse_bucket_reply(headers: Mapping[str, str], status: int) -> dict[str, Any]:
    """botocore's HeadBucket reply dict (``headers`` with lower-case names)."""
    reply: dict[str, Any] = {known[0]: _convert(headers[name], known[1])
                             for name, known in BUCKET_REPLY_HEADERS.items() if name in headers}
    reply["ResponseMetadata"] = _metadata(headers, status)
    return reply


def _convert(value: str, kind: str) -> Any:
    if kind == _I:
        return int(value)
    if kind == _B:
        return value.lower() == "true"
    if kind == _T:
        return _http_date(value)
    if kind == _ISO:
        try:
            return datetime.fromisoformat(value)
        except ValueError:
            return value
    return value


@functools.lru_cache(maxsize=1024)
def _http_date(value: str) -> Any:
    """An HTTP date (Last-Modified, Expires) as a datetime. Cached: replies within one second
    carry the same text, and parsing it was a third of a reply's parse (datetimes are
    immutable, so sharing one is safe)."""
    from email.utils import parsedate_to_datetime  # here: a put's replies carry no date (~2 ms of start-up)

    try:
        return parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return value  # botocore also keeps an unparseable Expires as text


def reply_metadata(headers: Mapping[str, str], status: int) -> dict[str, Any]:
    """A reply's ResponseMetadata alone (request ids for logs), without parsing its members."""
    return {"ResponseMetadata": {"HTTPStatusCode": status, "RequestId": headers.get("x-amz-request-id", ""),
                                 "HostId": headers.get("x-amz-id-2", "")}}


def _metadata(headers: Mapping[str, str], status: int) -> dict[str, Any]:
    """``headers`` have lower-case names already (parse_reply's callers)."""
    return {"HTTPStatusCode": status, "RequestId": headers.get("x-amz-request-id", ""),
            "HostId": headers.get("x-amz-id-2", ""), "HTTPHeaders": dict(headers)}


def parse_error(status: int, headers: Mapping[str, str], body: bytes) -> dict[str, Any]:
    """botocore's error reply: Code and Message from the XML body; a body-less reply (HEAD,
    some proxies) gets the status as its code ('404') and its phrase, as botocore gives."""
    error: dict[str, str] = {}
    if body:
        error = _error_fields(body)
    if not error.get("Code"):
        error["Code"] = str(status)
        error.setdefault("Message", _phrase(status))
    return {"Error": error, "ResponseMetadata": _metadata(headers, status)}


def _error_fields(body: bytes) -> dict[str, str]:
    try:
        root = ElementTree.fromstring(body)
    except ElementTree.ParseError:
        return {}
    if _local(root.tag) != "Error":  # e.g. <ErrorResponse><Error>...</Error></ErrorResponse>
        found = next((e for e in root.iter() if _local(e.tag) == "Error"), None)
        if found is None:
            return {}
        root = found
    return {_local(child.tag): (child.text or "") for child in root if len(child) == 0}


def _local(tag: str) -> str:
    return tag.rsplit("}", 1)[-1]


def _phrase(status: int) -> str:
    from http import HTTPStatus  # errors only

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


# ---- ListObjectsV2 pages ----------------------------------------------------------------------
# botocore parses a 1,000-key page in ~70 ms of CPU here (a dateutil parse per LastModified);
# this parse takes ~12 ms. Types follow botocore's output shape; keys arrive URL-encoded
# (encoding-type=url, which botocore also asks for) and are decoded as botocore decodes them.
_LIST_TYPES: dict[str, str] = {
    "Size": _I, "KeyCount": _I, "MaxKeys": _I, "IsTruncated": _B, "LastModified": _ISO,
    "IsRestoreInProgress": _B, "RestoreExpiryDate": _ISO,
}
_LIST_REPEATED = frozenset({"Contents", "CommonPrefixes", "ChecksumAlgorithm"})
_LIST_ENCODED_TOP = ("Delimiter", "Prefix", "StartAfter")
LIST_QUERY = {"list-type": "2", "encoding-type": "url"}


def list_query(params: Mapping[str, Any]) -> dict[str, str] | None:
    """The query of a ListObjectsV2 request; None for parameters left to botocore."""
    names = {"Prefix": "prefix", "Delimiter": "delimiter", "MaxKeys": "max-keys", "StartAfter": "start-after",
             "ContinuationToken": "continuation-token", "FetchOwner": "fetch-owner"}
    query = dict(LIST_QUERY)
    for name, value in params.items():
        if name not in names:
            return None
        query[names[name]] = str(value).lower() if isinstance(value, bool) else str(value)
    return query


def parse_list_page(body: bytes) -> dict[str, Any]:
    """botocore's ListObjectsV2 reply (after its URL-decoding handler) from the XML body."""
    page = xml_element(ElementTree.fromstring(body), _LIST_TYPES, _LIST_REPEATED)
    if page.get("EncodingType") == "url":
        for name in _LIST_ENCODED_TOP:
            if name in page:
                page[name] = unquote_plus(page[name])
        for entry in page.get("Contents", []):
            entry["Key"] = _url_decoded(entry["Key"])
        for entry in page.get("CommonPrefixes", []):
            entry["Prefix"] = _url_decoded(entry["Prefix"])
    return page


def _url_decoded(text: str) -> str:
    """unquote_plus(text), without its ~2.5 us for the usual key, in which only '/' is
    encoded (as %2F): a listing decodes one per object."""
    plain = text.replace("%2F", "/")
    return unquote_plus(text) if "%" in plain or "+" in plain else plain


def xml_element(element: ElementTree.Element, types: Mapping[str, str], repeated: frozenset[str],
                renamed: Mapping[str, str] | None = None) -> dict[str, Any]:
    """An S3 XML reply's element as botocore's dict: leaves converted by ``types`` (else
    strings), the flattened lists in ``repeated`` gathered under their name (or ``renamed``'s).
    Runs once per element of a listing (~6 per object), hence the inlined name and string case."""
    out: dict[str, Any] = {}
    for child in element:
        tag = child.tag
        name = tag[tag.rfind("}") + 1:]
        if len(child):
            value: Any = xml_element(child, types, repeated, renamed)
        else:
            kind = types.get(name)
            value = child.text or ""
            if kind is not None and kind != _S:
                value = _convert(value, kind)
        if name in repeated:
            out.setdefault(renamed.get(name, name) if renamed else name, []).append(value)
        else:
            out[name] = value
    return out
