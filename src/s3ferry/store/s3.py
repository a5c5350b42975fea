"""ObjectStore: every S3 request s3ferry makes, on aiobotocore, each under the one retry policy.

Operations above this layer never touch the client: they call these methods with
:class:`S3Location` and S3-API-named parameters and get botocore's reply dicts back. A faster
request path, a fault, or a second backend plugs in here and nowhere else.
"""

from __future__ import annotations

import io
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any, TypeVar

from s3ferry.core.config import (
    DELETE_BATCH,
    DOWNLOAD_CHUNK,
    LIST_PAGE_SIZE,
    Config,
)
from s3ferry.core.locations import S3Location
from s3ferry.core.objects import batches
from s3ferry.core.parts import Part
from s3ferry.store.buckets import BucketRequests
from s3ferry.store.client import LazyClient, Reply, S3Client, new_session, open_client
from s3ferry.store.errors import error_code, is_missing
from s3ferry.store.multipart import MultipartRequests
from s3ferry.store.ranges import Sink, read_body
from s3ferry.store.retry import with_retry

T = TypeVar("T")
log = logging.getLogger("s3ferry")


class ObjectStore(MultipartRequests, BucketRequests):
    """One endpoint with one set of credentials (the aiobotocore implementation)."""

    def __init__(self, client: S3Client, config: Config):
        self.client = client
        self.config = config
        # Once the endpoint has answered, a failure is an outage worth the time budget.
        self.reached = False

    async def retry(self, call: Callable[[], Awaitable[T]], *, at_least: int = 1) -> T:
        """Run ``call`` (a fresh request per attempt) under the one retry policy, with at least
        ``at_least`` attempts whatever --max-attempts says."""
        config = self.config if self.config.max_attempts >= at_least else self.config.replace(max_attempts=at_least)
        result = await with_retry(config, call, patient=self.reached)
        self.reached = True
        return result

    async def _call(self, method: str, **params: Any) -> Reply:
        fn = getattr(self.client, method)
        return await self.retry(lambda: fn(**params))

    # ---- objects ------------------------------------------------------------------------

    async def head(self, loc: S3Location, *, part_number: int | None = None, checksum_mode: bool = False,
                   **params: Any) -> Reply:
        if part_number is not None:
            params["PartNumber"] = part_number
        if checksum_mode:
            params["ChecksumMode"] = "ENABLED"
        return await self._call("head_object", Bucket=loc.bucket, Key=loc.key, **params)

    async def head_or_none(self, loc: S3Location, **kwargs: Any) -> Reply | None:
        """The object's HEAD, or None when there is no such object."""
        try:
            return await self.head(loc, **kwargs)
        except Exception as exc:
            if is_missing(exc):
                return None
            raise

    async def read_range(self, loc: S3Location, part: Part, sink: Sink, *, if_match: str | None = None,
                         whole: bool = False, batch: int = DOWNLOAD_CHUNK,
                         into: Callable[[], Awaitable[memoryview]] | None = None) -> None:
        """One GET of ``part``'s bytes (the whole object when ``whole``), handed to ``sink`` in
        batches of about ``batch`` bytes, each as the list of pieces aiohttp buffered (joining
        them would copy). Short or long bodies raise RangeIntegrityError. Not retried here: the
        caller retries the whole read, because its sink (a hash) must start over too. ``into``:
        gives a block to receive the body into (and hand to ``sink`` from), asked for only
        where the HTTP client can do that (store/http1.py); elsewhere the body comes as pieces."""
        params: dict[str, Any] = {} if whole else {"Range": part.http_range}
        if if_match is not None:
            params["IfMatch"] = if_match
        async with self._body(loc, params) as stream:
            await read_body(stream, part, sink, batch, into)

    @asynccontextmanager
    async def _body(self, loc: S3Location, params: dict[str, Any]) -> AsyncIterator[Any]:
        """A GetObject's body as aiohttp's stream (the one step a lean path replaces)."""
        response = await self.client.get_object(Bucket=loc.bucket, Key=loc.key, **params)
        async with response["Body"] as body:
            # aiohttp's own stream: aiobotocore 3 keeps it as raw_stream, 2.x proxied it.
            yield getattr(body, "raw_stream", body).content

    async def put(self, loc: S3Location, body: Any, **params: Any) -> Reply:
        return await self._call("put_object", Bucket=loc.bucket, Key=loc.key, Body=body, **params)

    async def put_file(self, loc: S3Location, body: Any, **params: Any) -> Reply:
        """PutObject with the bytes of an open binary file, streamed from its start on every
        attempt (a retry must not send what an earlier attempt left unread)."""

        async def attempt() -> Reply:
            body.seek(0)
            return await self.client.put_object(Bucket=loc.bucket, Key=loc.key, Body=body, **params)

        return await self.retry(attempt)

    async def copy(self, source: S3Location, dest: S3Location, **params: Any) -> Reply:
        return await self._call("copy_object", Bucket=dest.bucket, Key=dest.key,
                                CopySource={"Bucket": source.bucket, "Key": source.key}, **params)

    async def delete(self, loc: S3Location, **params: Any) -> None:
        await self._call("delete_object", Bucket=loc.bucket, Key=loc.key, **params)

    async def read_into(self, loc: S3Location, out: Any, **params: Any) -> Reply:
        """GetObject of a whole (small or middling) object into the binary file ``out``, the
        body streamed; each attempt starts the file over. Returns the reply without its body."""

        async def attempt() -> Reply:
            out.seek(0)
            out.truncate()
            reply = await self.client.get_object(Bucket=loc.bucket, Key=loc.key, **params)
            body = reply["Body"]
            try:
                # read(amt) is the one body call aiobotocore 2.x and 3.x share.
                while chunk := await body.read(DOWNLOAD_CHUNK):
                    out.write(chunk)
            finally:
                body.close()
            return {k: v for k, v in reply.items() if k != "Body"}

        return await self.retry(attempt)

    async def read_small(self, loc: S3Location, **params: Any) -> tuple[bytes, Reply]:
        """A small object's bytes (a state or lease file) and its reply."""
        out = io.BytesIO()
        reply = await self.read_into(loc, out, **params)
        return out.getvalue(), reply

    async def delete_many(self, bucket: str, keys: Iterable[str]) -> list[Reply]:
        """DeleteObjects in batches of 1,000 keys; returns the per-key errors."""
        errors: list[Reply] = []
        for batch in batches(keys, DELETE_BATCH):
            reply = await self._call("delete_objects", Bucket=bucket,
                                     Delete={"Objects": [{"Key": key} for key in batch], "Quiet": True})
            errors += reply.get("Errors", [])
        return errors

    async def list_objects(self, where: S3Location, *, delimiter: str | None = None,
                           start_after: str | None = None, page_size: int = LIST_PAGE_SIZE
                           ) -> AsyncIterator[Reply]:
        """Objects (and, with a delimiter, common prefixes as {"Prefix": ...}) under the prefix
        ``where.key``, in UTF-8 byte order, a page at a time. Each page is retried on its own,
        so a fault mid-listing costs one page, not the listing."""
        params: dict[str, Any] = {"Bucket": where.bucket, "Prefix": where.key, "MaxKeys": page_size}
        if delimiter:
            params["Delimiter"] = delimiter
        if start_after:
            params["StartAfter"] = start_after
        while True:
            page = await self._list_page(params)
            for item in page.get("CommonPrefixes", []):
                yield item
            for item in page.get("Contents", []):
                yield item
            if not page.get("IsTruncated"):
                return
            params["ContinuationToken"] = page["NextContinuationToken"]

    async def _list_page(self, params: dict[str, Any]) -> Reply:
        """One ListObjectsV2 page under the retry policy (the step a lean path replaces)."""
        return await self._call("list_objects_v2", **params)

    async def get_tags(self, loc: S3Location) -> list[tuple[str, str]]:
        """The object's tags; none where the store keeps no tags (NotImplemented)."""
        try:
            reply = await self._call("get_object_tagging", Bucket=loc.bucket, Key=loc.key)
        except Exception as exc:
            if error_code(exc) in ("NotImplemented", "MethodNotAllowed"):
                return []
            raise
        return [(t["Key"], t["Value"]) for t in reply.get("TagSet", [])]

    def presign(self, method: str, loc: S3Location, expires: int, **params: Any) -> Awaitable[str]:
        """A presigned URL for the S3 operation ``method`` (``get_object``, ``put_object``,
        ``upload_part``, ``complete_multipart_upload``, ...) on ``loc``: signing is local, no
        request is sent."""
        return self.client.generate_presigned_url(method, Params={"Bucket": loc.bucket, "Key": loc.key, **params},
                                                  ExpiresIn=expires)


@asynccontextmanager
async def open_store(config: Config) -> AsyncIterator[ObjectStore]:
    """The store for ``config``'s endpoint, credentials and limits, on ``config.engine``. The
    lean engine builds the aiobotocore client only when a request needs it (store/direct.py)."""
    if config.engine != "lean":
        async with open_client(config) as client:
            yield ObjectStore(client, config)
        return
    from s3ferry.store.direct import open_direct
    from s3ferry.store.lean_store import LeanStore  # it subclasses ObjectStore

    from s3ferry.store.environ import light_start

    async with AsyncExitStack() as stack:
        light = light_start(config)  # the environment settles it: no botocore session at all
        session = None if light is not None else new_session(config)
        direct = await stack.enter_async_context(open_direct(config, session, light))
        yield LeanStore(LazyClient(config, session, stack), config, direct)
