"""The multipart-upload requests of ObjectStore (a mixin: ObjectStore supplies _call, retry
and client)."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from functools import partial
from typing import Any

import anyio

from s3ferry.core.checksums import etag_is_opaque
from s3ferry.core.config import (
    CLEANUP_ATTEMPTS,
    ORPHAN_SETTLE,
    ORPHAN_SWEEP_TIMEOUT,
)
from s3ferry.core.errors import RangeIntegrityError
from s3ferry.core.etag import content_md5, normalize, parse_etag
from s3ferry.core.locations import S3Location
from s3ferry.store.client import Reply

log = logging.getLogger("s3ferry")


def _check_checksums(number: int, params: dict[str, Any], reply: Reply) -> None:
    """A part checksum the store echoes must be the one we sent, as its ETag must be our MD5:
    Complete lists our values, so a store that kept other bytes would fail there at best."""
    for name, sent in params.items():
        if not name.startswith("Checksum") or name == "ChecksumAlgorithm":
            continue
        echoed = reply.get(name)
        if echoed and echoed != sent:
            raise RangeIntegrityError(f"part {number}: server {name[8:]} {echoed} differs from the one sent {sent}")


class MultipartRequests:
    client: Any
    _call: Callable[..., Awaitable[Reply]]
    retry: Callable[..., Awaitable[Any]]  # ObjectStore.retry(call, at_least=...)

    async def create_upload(self, loc: S3Location, **params: Any) -> str:
        """CreateMultipartUpload under the retry policy, leaving no orphan behind.

        CreateMultipartUpload is not idempotent: when an attempt's reply is lost (reset,
        truncated, timed out) the server may still have created an upload whose id we never
        learn, and the retry creates another. So the uploads already open on this key are
        noted first, and if any attempt failed, the ones that appeared meanwhile (other than
        ours) are aborted."""
        before = await self._open_uploads(loc)
        unsure = False  # an attempt failed or was cancelled after its request may have landed

        async def attempt() -> str:
            nonlocal unsure
            try:
                reply = await self._create_once(loc, params)
                return str(reply["UploadId"])
            except BaseException:  # Ctrl-C mid-request too: the server may have created it
                unsure = True
                raise

        upload_id = None
        try:
            upload_id = await self.retry(attempt)
            return upload_id
        finally:
            if unsure and before is not None:
                await self._abort_lost_uploads(loc, before | {upload_id})

    async def _open_uploads(self, loc: S3Location) -> set[str | None] | None:
        """Ids of the incomplete uploads of exactly ``loc``; None if they cannot be listed."""
        try:
            reply = await self.retry(lambda: self._list_uploads_once(loc.bucket, {"Prefix": loc.key}))
        except Exception:  # noqa: BLE001 - a missing permission only costs the orphan cleanup
            return None
        if reply.get("IsTruncated"):
            return None  # too many to tell ours apart safely
        return {u["UploadId"] for u in reply.get("Uploads", []) if u.get("Key") == loc.key}

    async def _abort_lost_uploads(self, loc: S3Location, keep: set[str | None]) -> None:
        # Twice: a request cut off by Ctrl-C may still reach the server and land a moment
        # after the first look.
        with anyio.CancelScope(shield=True), anyio.move_on_after(ORPHAN_SWEEP_TIMEOUT):
            for pause in (0, ORPHAN_SETTLE):
                await anyio.sleep(pause)
                for upload_id in (await self._open_uploads(loc) or set()) - keep:
                    try:
                        await self.abort_upload(loc, upload_id)  # type: ignore[arg-type]
                    except Exception as exc:  # noqa: BLE001
                        log.error("could not abort lost upload %s of %s (%s)", upload_id, loc, exc)

    async def upload_part(self, loc: S3Location, upload_id: str, number: int, body: Any, md5: bytes,
                          **params: Any) -> Reply:
        """UploadPart with Content-MD5, and a check that the part the store kept is the one sent."""

        async def send() -> Reply:
            reply = await self._upload_part_once(loc, upload_id, number, body,
                                                 {"ContentMD5": content_md5(md5), **params})
            echoed = normalize(reply.get("ETag"))
            # SSE-KMS / SSE-C part ETags are not MD5s (AWS documents it): nothing to compare.
            if parse_etag(echoed) is not None and echoed != md5.hex() and not etag_is_opaque(reply):
                # A store that does not check Content-MD5 kept other bytes (e.g. a connection
                # retry below us re-sent a drained body): the same part number, sent again,
                # replaces them.
                raise RangeIntegrityError(f"part {number}: server ETag {echoed} differs from the MD5 sent {md5.hex()}")
            _check_checksums(number, params, reply)
            return reply

        return await self.retry(send)

    async def _upload_part_once(self, loc: S3Location, upload_id: str, number: int, body: Any,
                                params: dict[str, Any]) -> Reply:
        return await self.client.upload_part(Bucket=loc.bucket, Key=loc.key, UploadId=upload_id, PartNumber=number,
                                             Body=body, **params)

    async def upload_part_copy(self, loc: S3Location, upload_id: str, number: int, source: S3Location,
                               **params: Any) -> Reply:
        return await self._call("upload_part_copy", Bucket=loc.bucket, Key=loc.key, UploadId=upload_id,
                                PartNumber=number, CopySource={"Bucket": source.bucket, "Key": source.key},
                                **params)

    async def complete_upload(self, loc: S3Location, upload_id: str, parts: list[Reply], **params: Any) -> Reply:
        return await self.retry(lambda: self._complete_once(loc, upload_id, parts, params))

    async def abort_upload(self, loc: S3Location, upload_id: str) -> None:
        # An abort is the clean-up after a failure: worth a retry even where --max-attempts asks
        # for none (a store answering 500 once would otherwise leave a billed orphan).
        await self.retry(lambda: self._abort_once(loc, upload_id), at_least=CLEANUP_ATTEMPTS)

    async def list_uploads(self, where: S3Location) -> AsyncIterator[Reply]:
        """Incomplete multipart uploads whose key starts with ``where.key``, a page at a time."""
        markers: dict[str, str] = {}
        while True:
            page = await self.retry(partial(self._list_uploads_once, where.bucket, {"Prefix": where.key, **markers}))
            for item in page.get("Uploads", []):
                yield item
            if not page.get("IsTruncated"):
                return
            markers = {"KeyMarker": page["NextKeyMarker"], "UploadIdMarker": page["NextUploadIdMarker"]}

    # ---- single attempts: the lean store (store/lean_multipart.py) sends them its own way --------

    async def _create_once(self, loc: S3Location, params: dict[str, Any]) -> Reply:
        return await self.client.create_multipart_upload(Bucket=loc.bucket, Key=loc.key, **params)

    async def _complete_once(self, loc: S3Location, upload_id: str, parts: list[Reply],
                             params: dict[str, Any]) -> Reply:
        return await self.client.complete_multipart_upload(Bucket=loc.bucket, Key=loc.key, UploadId=upload_id,
                                                           MultipartUpload={"Parts": parts}, **params)

    async def _abort_once(self, loc: S3Location, upload_id: str) -> Reply:
        return await self.client.abort_multipart_upload(Bucket=loc.bucket, Key=loc.key, UploadId=upload_id)

    async def _list_uploads_once(self, bucket: str, params: dict[str, Any]) -> Reply:
        return await self.client.list_multipart_uploads(Bucket=bucket, **params)

    async def list_parts(self, loc: S3Location, upload_id: str) -> AsyncIterator[Reply]:
        marker: dict[str, int] = {}
        while True:
            page = await self._call("list_parts", Bucket=loc.bucket, Key=loc.key, UploadId=upload_id, **marker)
            for item in page.get("Parts", []):
                yield item
            next_marker = page.get("NextPartNumberMarker")
            if not page.get("IsTruncated") or not next_marker:
                return
            marker = {"PartNumberMarker": int(next_marker)}
