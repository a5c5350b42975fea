"""rm: one object, or every object under a prefix through DeleteObjects, 1,000 keys a call.

Keys stream from the listing a page at a time and are deleted a batch at a time, so memory
stays flat in the number of keys. A key the store refuses to delete is reported, never
silently counted as deleted."""

from __future__ import annotations

from dataclasses import dataclass, field

from s3ferry.core.errors import NotFoundError
from s3ferry.core.locations import S3Location
from s3ferry.core.objects import batches_async
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import check_bucket
from s3ferry.store.errors import map_error

MAX_ERRORS_KEPT = 20


@dataclass
class Removal:
    """What rm did (or, with dry_run, would do)."""

    matched: int = 0
    deleted: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)  # the first few, "KEY: Code Message"

    @property
    def ok(self) -> bool:
        return self.failed == 0


async def count_prefix(ctx: Context, where: S3Location) -> int:
    """How many objects a recursive rm would delete (one listing, nothing kept)."""
    await check_bucket(ctx, where.bucket)
    count = 0
    async for _ in ctx.store.list_objects(where):
        count += 1
    return count


async def remove_prefix(ctx: Context, where: S3Location, *, dry_run: bool = False) -> Removal:
    await check_bucket(ctx, where.bucket)
    removal = Removal()
    keys = _keys(ctx, where)
    async for batch in batches_async(keys):
        removal.matched += len(batch)
        if dry_run:
            continue
        errors = await ctx.store.delete_many(where.bucket, batch)
        removal.deleted += len(batch) - len(errors)
        removal.failed += len(errors)
        for error in errors[:MAX_ERRORS_KEPT - len(removal.errors)]:
            removal.errors.append(f"s3://{where.bucket}/{error.get('Key')}: {error.get('Code')} {error.get('Message', '')}")
    return removal


async def remove_object(ctx: Context, loc: S3Location, *, dry_run: bool = False) -> Removal:
    """One key. DeleteObject succeeds on a missing key too, so a HEAD first tells the user
    that nothing was there."""
    try:
        await ctx.store.head(loc)
    except Exception as exc:  # noqa: BLE001
        error = map_error(exc, what=str(loc))
        if isinstance(error, NotFoundError):
            await check_bucket(ctx, loc.bucket)
        raise error from None
    if not dry_run:
        await ctx.store.delete(loc)
    return Removal(matched=1, deleted=0 if dry_run else 1)


async def _keys(ctx: Context, where: S3Location):  # type: ignore[no-untyped-def]
    async for item in ctx.store.list_objects(where):
        yield item["Key"]
