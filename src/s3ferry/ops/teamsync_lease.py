"""Team sync's concurrency protocol at the store: what the store honours (probed once), and
the team lease.

Every write a team sync makes is conditional where the store honours it: a new key with
``If-None-Match: *``, an update with ``If-Match: <ETag it replaces>`` (unquoted: Ceph RGW 16.2
refuses a quoted one), a delete with ``If-Match``. But no store we test honours all of it:
Ceph RGW 16.2 ignores the condition on CompleteMultipartUpload and on DeleteObject, and moto
5.2.5 ignores ``If-Match`` on CompleteMultipartUpload and every condition on CopyObject. So a
conditional single PUT cannot be the whole protocol. What every store we know honours is a
conditional single PUT of a small object, and that is enough for a lease:

- ``.s3ferry-team/lease.json`` is created with ``If-None-Match: *``: one member holds it.
- It carries an expiry; the holder renews it (``If-Match`` on its own ETag) every third of
  its life, and checks before every write that its last renewal is recent enough.
- A lease past its expiry (plus a margin for clock skew), or one whose holder runs on this
  host and is dead (a SIGKILLed run), is taken over with ``If-Match`` on the stale lease's
  ETag: of two members taking over at once, one wins and the other waits.

So team syncs of one prefix take turns writing (the second waits, up to ``--wait``), and the
conditional writes remain as a second guard against writers that hold no lease (other tools,
or a member paused longer than a third of the lease). A store that honours neither condition
on PutObject cannot hold a lease: team sync refuses it.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import socket
import time
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass
from typing import Any, TypeVar

import anyio

from s3ferry.core.config import TEAM_CLOCK_SKEW, TEAM_LEASE_POLL, TEAM_LEASE_SECONDS
from s3ferry.core.errors import ConfigError, S3FerryError
from s3ferry.core.locations import S3Location
from s3ferry.core.twoway import STATE_DIR, unquote
from s3ferry.ops.context import Context
from s3ferry.store.errors import error_code, first_error, http_status, is_missing

STORE_KEY = STATE_DIR + "store.json"
LEASE_KEY = STATE_DIR + "lease.json"
PROBE_ROOT = STATE_DIR + "probe/"
STALE_ETAG = "0" * 32
T = TypeVar("T")


class LeaseBusyError(S3FerryError):
    """Another member's team sync held the lease for longer than --wait."""


class LeaseLostError(S3FerryError):
    """This run could not renew its lease in time: it stops writing."""


def refused(exc: BaseException) -> bool:
    """A write the store refused on its condition (412), or (AWS) one that raced another
    conditional write to the key (409 ConditionalRequestConflict): re-read and decide again."""
    return error_code(exc) in ("PreconditionFailed", "ConditionalRequestConflict") or http_status(exc) in (412, 409)


# ---- what the store honours ------------------------------------------------------------------

@dataclass(frozen=True)
class Abilities:
    put_if_none_match: bool
    put_if_match: bool
    complete_if_none_match: bool
    delete_if_match: bool

    @property
    def can_lease(self) -> bool:
        return self.put_if_none_match and self.put_if_match


async def abilities(ctx: Context, where: S3Location, known: dict[str, Any] | None) -> Abilities:
    """The store's abilities: from the shared ``store.json`` when a member probed already,
    else probed now (writes that must fail, under the reserved probe prefix) and published."""
    if known:
        return Abilities(**known)
    published = await read_json(ctx, where.child(STORE_KEY))
    if published is not None:
        return Abilities(**{k: bool(published[0].get(k)) for k in Abilities.__dataclass_fields__})
    found = await probe(ctx, where.child(f"{PROBE_ROOT}{uuid.uuid4().hex}"))
    body = json.dumps({**asdict(found), "probed": time.time()}, indent=1).encode()
    try:
        await ctx.store.put(where.child(STORE_KEY), body, IfNoneMatch="*", ContentType="application/json")
    except Exception as exc:
        if not refused(exc):  # a member who probed at the same moment published first: fine
            raise
    return found


async def probe(ctx: Context, key: S3Location) -> Abilities:
    store = ctx.store
    try:
        first = await store.put(key, b"1", IfNoneMatch="*")
        none_match = await _refuses(store.put(key, b"2", IfNoneMatch="*"))
        stale_match = await _refuses(store.put(key, b"3", IfMatch=STALE_ETAG))
        right_match = not await _refuses(store.put(key, b"4", IfMatch=unquote(first.get("ETag"))))
        complete = await _refuses(_one_part_upload(ctx, key, IfNoneMatch="*"))
        delete = await _refuses(store.delete(key, IfMatch=STALE_ETAG))
    finally:
        with anyio.CancelScope(shield=True):
            await _delete_quietly(ctx, key)
    return Abilities(none_match, stale_match and right_match, complete, delete)


async def _refuses(call: Any) -> bool:
    try:
        await call
    except Exception as exc:
        if refused(exc) or is_missing(exc):
            return True
        raise
    return False


async def _one_part_upload(ctx: Context, key: S3Location, **conditions: str) -> dict[str, Any]:
    upload_id = await ctx.store.create_upload(key)
    try:
        reply = await ctx.store.upload_part(key, upload_id, 1, b"5", hashlib.md5(b"5").digest())
        return await ctx.store.complete_upload(key, upload_id, [{"PartNumber": 1, "ETag": reply["ETag"]}],
                                               **conditions)
    except BaseException:
        with anyio.CancelScope(shield=True):
            try:
                await ctx.store.abort_upload(key, upload_id)
            except Exception:  # noqa: BLE001 - refused Complete leaves the upload open: gone now
                pass
        raise


async def _delete_quietly(ctx: Context, key: S3Location) -> None:
    try:
        await ctx.store.delete(key)
    except Exception:  # noqa: BLE001 - a probe object left behind is harmless (and reserved)
        pass


async def read_json(ctx: Context, key: S3Location) -> tuple[dict[str, Any], str] | None:
    """A small JSON object and its unquoted ETag; None when there is none."""
    try:
        data, reply = await ctx.store.read_small(key)
    except Exception as exc:
        if is_missing(exc):
            return None
        raise
    return json.loads(data or b"{}"), unquote(reply.get("ETag"))


# ---- the lease --------------------------------------------------------------------------

class Lease:
    def __init__(self, ctx: Context, where: S3Location, user: str, folder: str, ttl: float = TEAM_LEASE_SECONDS):
        self.ctx = ctx
        self.key = where.child(LEASE_KEY)
        self.ttl = ttl
        self.owner = {"user": user, "host": socket.gethostname(), "pid": os.getpid(), "folder": folder,
                      "run": uuid.uuid4().hex}
        self.etag: str | None = None
        self.renewed = 0.0  # time.monotonic() of the last write that made the lease ours
        self.lost: str | None = None
        self.waited = 0.0

    def _body(self) -> bytes:
        return json.dumps({**self.owner, "expires": time.time() + self.ttl}).encode()

    async def acquire(self, wait: float) -> None:
        started = time.monotonic()
        while True:
            if await self._try_take():
                self.waited = time.monotonic() - started
                return
            if time.monotonic() - started > wait:
                held = await read_json(self.ctx, self.key)
                who = _describe(held[0]) if held else "another member"
                raise LeaseBusyError(f"another team sync of this prefix is running ({who}); "
                                     f"waited {wait:.0f} s: try again later, or raise --wait")
            await anyio.sleep(TEAM_LEASE_POLL * (0.5 + random.random()))

    async def _try_take(self) -> bool:
        sent = time.monotonic()
        try:
            reply = await self.ctx.store.put(self.key, self._body(), IfNoneMatch="*", ContentType="application/json")
        except Exception as exc:
            if not refused(exc):
                raise
            held = await read_json(self.ctx, self.key)
            if held is None:
                return False  # released meanwhile: the next round takes it
            if not _stale(held[0]):
                return False
            try:
                reply = await self.ctx.store.put(self.key, self._body(), IfMatch=held[1],
                                                 ContentType="application/json")
            except Exception as exc2:
                if refused(exc2) or is_missing(exc2):
                    return False  # another member took it over first
                raise
        self.etag, self.renewed = unquote(reply.get("ETag")), sent
        return True

    async def renew(self) -> None:
        sent = time.monotonic()
        try:
            reply = await self.ctx.store.put(self.key, self._body(), IfMatch=self.etag, ContentType="application/json")
        except Exception as exc:
            if refused(exc) or is_missing(exc):
                self.lost = "another member took the team lease over (this run paused too long?)"
                return
            raise
        self.etag, self.renewed = unquote(reply.get("ETag")), sent

    def check(self) -> None:
        """Called before every write: the lease must have at least a third of its life left."""
        if self.lost:
            raise LeaseLostError(f"stopped writing: {self.lost}")
        if time.monotonic() - self.renewed > self.ttl * 2 / 3:
            raise LeaseLostError("stopped writing: the team lease could not be renewed in time")

    async def keep_renewed(self) -> None:
        while not self.lost:
            await anyio.sleep(self.ttl / 3)
            try:
                await self.renew()
            except Exception:  # noqa: BLE001 - a failed renewal: check() stops the writes once it is too old
                pass

    async def release(self) -> None:
        if self.etag is None or self.lost:
            return
        held = await read_json(self.ctx, self.key)
        if held is not None and held[1] == self.etag:
            await self.ctx.store.delete(self.key)
        self.etag = None


def _stale(held: dict[str, Any]) -> bool:
    if float(held.get("expires", 0)) + TEAM_CLOCK_SKEW < time.time():
        return True
    # A holder on this very host whose process is gone (SIGKILL, power cut of a laptop run
    # started again): no need to wait for the expiry.
    return held.get("host") == socket.gethostname() and not _alive(int(held.get("pid", 0)))


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _describe(held: dict[str, Any]) -> str:
    return f"{held.get('user', '?')} on {held.get('host', '?')}, pid {held.get('pid', '?')}"


async def holding(ctx: Context, where: S3Location, user: str, folder: str, wait: float,
                  body: Callable[[Lease], Awaitable[T]]) -> T:
    """Run ``body`` holding the lease, renewed in the background, released after it."""
    lease = Lease(ctx, where, user, folder)
    await lease.acquire(wait)
    try:
        async with anyio.create_task_group() as tg:
            tg.start_soon(lease.keep_renewed)
            try:
                return await body(lease)
            finally:
                tg.cancel_scope.cancel()
    except BaseExceptionGroup as group:  # the body's own error, not the group anyio wraps it in
        raise first_error(group) from None
    finally:
        with anyio.CancelScope(shield=True), anyio.move_on_after(30):
            try:
                await lease.release()
            except Exception:  # noqa: BLE001 - an unreleased lease expires by itself
                pass


def need_lease(found: Abilities) -> None:
    if not found.can_lease:
        raise ConfigError("this store does not honour conditional PUTs (If-None-Match: * and If-Match), so team "
                          "syncs of one prefix cannot be kept from overwriting each other: team-sync refuses it")
