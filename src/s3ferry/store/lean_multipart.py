"""The multipart control requests on the lean path: CreateMultipartUpload,
CompleteMultipartUpload, AbortMultipartUpload and ListMultipartUploads.

Why: a large put sends its parts lean, and these four were all that still built botocore's
S3 client (~0.1 CPU-s, and the imports of its session and client) for it. Here each is one
request on store/lean.py's engine (its signer, pool and bucket resolution), its reply parsed by
core.s3wire_multipart into botocore's dict and its errors raised as botocore's ClientError, so
the retry policy, the error tree and create_upload's orphan sweep (store/multipart.py) apply
unchanged. Whatever the lean path cannot serve goes through botocore, as for its other requests.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from botocore.exceptions import ClientError

from s3ferry.core import s3wire_multipart as wire
from s3ferry.core.locations import S3Location
from s3ferry.store.client import Reply
from s3ferry.store.lean_http import NOT_SERVED


async def _send(lean: Any, method: str, bucket: str, key: str | None, query: dict[str, str],
                headers: dict[str, str] | None, body: bytes | None, operation: str) -> Any:
    """(headers, status, body) of one request on ``lean`` (a LeanEngine), or NOT_SERVED. A 200
    whose body is an error document or cut short raises as botocore raises it (status 500)."""
    if headers is None:
        return NOT_SERVED
    sent = await lean.exchange_whole(method, bucket, key, body=body, query=query, headers=headers)
    if sent is NOT_SERVED:
        return NOT_SERVED
    reply_headers, status, content = sent
    error = wire.special_error(status, reply_headers, content)
    if error is not None:
        raise ClientError(error, operation)  # type: ignore[arg-type]
    return sent


async def create(lean: Any, loc: S3Location, params: Mapping[str, Any]) -> Any:
    sent = await _send(lean, "POST", loc.bucket, loc.key, {"uploads": ""}, wire.create_headers(params), None,
                       "CreateMultipartUpload")
    return sent if sent is NOT_SERVED else wire.parse_create(*sent)


async def complete(lean: Any, loc: S3Location, upload_id: str, parts: list[Reply],
                   params: Mapping[str, Any]) -> Any:
    body = wire.complete_body(parts)
    if body is None:
        return NOT_SERVED
    sent = await _send(lean, "POST", loc.bucket, loc.key, {"uploadId": upload_id}, wire.complete_headers(params),
                       body, "CompleteMultipartUpload")
    return sent if sent is NOT_SERVED else wire.parse_complete(*sent)


async def abort(lean: Any, loc: S3Location, upload_id: str) -> Any:
    sent = await _send(lean, "DELETE", loc.bucket, loc.key, {"uploadId": upload_id}, {}, None,
                       "AbortMultipartUpload")
    return sent if sent is NOT_SERVED else wire.parse_abort(*sent[:2])


async def list_uploads(lean: Any, bucket: str, params: Mapping[str, Any]) -> Any:
    query = wire.list_uploads_query(params)
    if query is None:
        return NOT_SERVED
    sent = await _send(lean, "GET", bucket, None, query, {}, None, "ListMultipartUploads")
    return sent if sent is NOT_SERVED else wire.parse_list_uploads(*sent)


class LeanMultipartRequests:
    """LeanStore's single attempts of the four requests (store/multipart.py's hooks): lean
    first, botocore's where the lean path does not serve."""

    lean: Any

    async def _create_once(self, loc: S3Location, params: dict[str, Any]) -> Reply:
        reply = await create(self.lean, loc, params)
        return await super()._create_once(loc, params) if reply is NOT_SERVED else reply  # type: ignore[misc]

    async def _complete_once(self, loc: S3Location, upload_id: str, parts: list[Reply],
                             params: dict[str, Any]) -> Reply:
        reply = await complete(self.lean, loc, upload_id, parts, params)
        if reply is NOT_SERVED:
            return await super()._complete_once(loc, upload_id, parts, params)  # type: ignore[misc]
        return reply

    async def _abort_once(self, loc: S3Location, upload_id: str) -> Reply:
        reply = await abort(self.lean, loc, upload_id)
        return await super()._abort_once(loc, upload_id) if reply is NOT_SERVED else reply  # type: ignore[misc]

    async def _list_uploads_once(self, bucket: str, params: dict[str, Any]) -> Reply:
        reply = await list_uploads(self.lean, bucket, params)
        return await super()._list_uploads_once(bucket, params) if reply is NOT_SERVED else reply  # type: ignore[misc]
