"""LeanStore: the ObjectStore whose hot requests go on the lean path (store/lean.py's engine),
each attempt one lean request under the one retry policy, botocore's client for the rest."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from s3ferry.core.config import DOWNLOAD_CHUNK, Config
from s3ferry.core.locations import S3Location
from s3ferry.core.parts import Part
from s3ferry.store.client import S3Client
from s3ferry.store.direct import Direct
from s3ferry.store.lean import NOT_SERVED, LeanEngine
from s3ferry.store.lean_multipart import LeanMultipartRequests
from s3ferry.store.ranges import Sink, read_body
from s3ferry.store.s3 import ObjectStore, Reply


class LeanStore(LeanMultipartRequests, ObjectStore):
    """The ObjectStore whose hot requests take the lean path. The operations, the retry
    policy (each attempt is one lean request) and every other request are ObjectStore's."""

    def __init__(self, client: S3Client, config: Config, direct: Direct | None = None):
        super().__init__(client, config)
        self.lean = LeanEngine(client, sign_payload=config.sign_payload, direct=direct,
                               raw=direct.raw if direct is not None else None)

    async def head(self, loc: S3Location, *, part_number: int | None = None, checksum_mode: bool = False,
                   **params: Any) -> Reply:
        if part_number is not None:
            params["PartNumber"] = part_number
        if checksum_mode:
            params["ChecksumMode"] = "ENABLED"

        async def attempt() -> Reply:
            reply = await self.lean.head(loc.bucket, loc.key, params)
            if reply is NOT_SERVED:
                return await self.client.head_object(Bucket=loc.bucket, Key=loc.key, **params)
            return reply

        return await self.retry(attempt)

    async def head_bucket(self, bucket: str) -> Reply:
        async def attempt() -> Reply:
            reply = await self.lean.head(bucket, None, {})
            return await self.client.head_bucket(Bucket=bucket) if reply is NOT_SERVED else reply

        return await self.retry(attempt)

    async def read_range(self, loc: S3Location, part: Part, sink: Sink, *, if_match: str | None = None,
                         whole: bool = False, batch: int = DOWNLOAD_CHUNK,
                         into: Callable[[], Awaitable[memoryview]] | None = None) -> None:
        """ObjectStore.read_range on the lean path, its GET opened by lean_http.OpenGet (a class)
        rather than through _body (an @asynccontextmanager: a generator per GET), and no reply
        dict parsed from the headers (read_range returns none)."""
        params: dict[str, Any] = {} if whole else {"Range": part.http_range}
        if if_match is not None:
            params["IfMatch"] = if_match
        async with self.lean.get(loc.bucket, loc.key, params, parse=False) as served:  # the reply goes unused
            if served is not NOT_SERVED:
                await read_body(served[1], part, sink, batch, into)
                return
        async with super()._body(loc, params) as stream:
            await read_body(stream, part, sink, batch, into)

    async def put(self, loc: S3Location, body: Any, **params: Any) -> Reply:
        async def attempt() -> Reply:
            reply = await self.lean.put(loc.bucket, loc.key, body, params)
            if reply is NOT_SERVED:
                return await self.client.put_object(Bucket=loc.bucket, Key=loc.key, Body=body, **params)
            return reply

        return await self.retry(attempt)

    async def _upload_part_once(self, loc: S3Location, upload_id: str, number: int, body: Any,
                                params: dict[str, Any]) -> Reply:
        reply = await self.lean.put(loc.bucket, loc.key, body, {"PartNumber": number, "UploadId": upload_id, **params})
        if reply is NOT_SERVED:
            return await super()._upload_part_once(loc, upload_id, number, body, params)
        return reply

    async def _list_page(self, params: dict[str, Any]) -> Reply:
        async def attempt() -> Reply:
            rest = {k: v for k, v in params.items() if k != "Bucket"}
            page = await self.lean.list_page(params["Bucket"], rest)
            if page is NOT_SERVED:
                return await self.client.list_objects_v2(**params)
            return page

        return await self.retry(attempt)
