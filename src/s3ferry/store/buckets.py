"""The bucket-level requests of ObjectStore (a mixin: ObjectStore supplies _call)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from s3ferry.store.client import Reply
from s3ferry.store.errors import error_code


class BucketRequests:
    _call: Callable[..., Awaitable[Reply]]

    async def list_buckets(self) -> list[Reply]:
        return list((await self._call("list_buckets")).get("Buckets", []))

    async def head_bucket(self, bucket: str) -> Reply:
        return await self._call("head_bucket", Bucket=bucket)

    async def create_bucket(self, bucket: str) -> Reply:
        return await self._call("create_bucket", Bucket=bucket)

    async def get_lifecycle_rules(self, bucket: str) -> list[Reply]:
        try:
            reply = await self._call("get_bucket_lifecycle_configuration", Bucket=bucket)
        except Exception as exc:
            if error_code(exc) == "NoSuchLifecycleConfiguration":
                return []
            raise
        return list(reply.get("Rules", []))

    async def put_lifecycle_rules(self, bucket: str, rules: list[Reply]) -> None:
        await self._call("put_bucket_lifecycle_configuration", Bucket=bucket,
                         LifecycleConfiguration={"Rules": rules})
