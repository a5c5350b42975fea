"""Team sync: carrying out one path's decision (core/twoway.py) against both sides.

Every remote write is conditional (If-None-Match: * for a new key, If-Match: the ETag it
replaces) and is made only while this run holds the team lease; a refused condition means the
remote changed since it was listed: the path is read again and decided again. Downloads fetch
with If-Match into a temporary file, which replaces the local file only after re-checking that
the local file is still what the decision saw; if it changed meanwhile, the download lands
beside it under a conflict name instead. Each finished path updates the baseline at once.
"""

from __future__ import annotations

import dataclasses
import os
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from anyio import to_thread

from s3ferry.core.config import META_USER, TEMP_SUFFIX
from s3ferry.core.errors import S3FerryError
from s3ferry.core.locations import S3Location
from s3ferry.core.results import TransferResult
from s3ferry.core.sync_plan import Item
from s3ferry.core.twoway import Act, Base, Decision, Local, Remote, conflict_name, decide, resolve, unquote
from s3ferry.local import files as fileio
from s3ferry.ops.context import Context
from s3ferry.ops.get import download_object
from s3ferry.ops.jobs import failed
from s3ferry.ops.put import put_file
from s3ferry.ops.remote import RemoteObject
from s3ferry.ops.sync import ContentJudge
from s3ferry.ops.teamsync_lease import Lease, refused
from s3ferry.ops.teamsync_record import version
from s3ferry.ops.teamsync_state import LocalState, stat_of
from s3ferry.store.errors import is_missing


@dataclasses.dataclass
class Counters:
    uploaded: int = 0
    downloaded: int = 0
    deleted_remote: int = 0
    deleted_local: int = 0
    conflicts: int = 0
    kept: int = 0  # a deletion lost to an edit made meanwhile on the other side
    recorded: int = 0  # both sides already equal: only the baseline moved on
    hashed: int = 0


class Quiet:
    """Progress for the transfers inside an action: bytes flow to the bar, but the action
    reports its own one result."""

    def __init__(self, progress: Any):
        self.progress = progress

    def started(self, source: str, size: int) -> None:
        self.progress.started(source, size)

    def advanced(self, nbytes: int) -> None:
        self.progress.advanced(nbytes)

    def finished(self, result: TransferResult) -> None:
        pass


def same_stat(info: os.stat_result | None, local: Local | None) -> bool:
    if info is None or local is None:
        return info is None and local is None
    return (info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns) == \
        (local.size, local.mtime_ns, local.ino, local.ctime_ns)


def as_local(path: str, info: os.stat_result, md5: str | None = None) -> Local:
    return Local(path, info.st_size, info.st_mtime_ns, info.st_ino, info.st_ctime_ns, md5)


def staging_path(dest: Path) -> Path:
    # Ends in TEMP_SUFFIX: excluded from every walk, like get's own temporary files.
    return dest.with_name(f".{dest.name}.team{TEMP_SUFFIX}")


class Actions:
    def __init__(self, ctx: Context, root: Path, where: S3Location, state: LocalState, lease: Lease | None,
                 user: str, dry_run: bool, judge: ContentJudge, counters: Counters):
        self.ctx = ctx
        self.quiet = dataclasses.replace(ctx, progress=Quiet(ctx.progress))
        self.root, self.where, self.state, self.lease = root, where, state, lease
        self.user, self.dry_run, self.judge, self.counters = user, dry_run, judge, counters
        self.spool: Callable[[Decision], None] | None = None  # where deletions found by hashing go

    async def run(self, d: Decision, depth: int = 0) -> TransferResult:
        started = time.monotonic()
        try:
            d = await self.settle(d)
            if self.dry_run and d.act not in (Act.NOTHING, Act.RECORD):
                return self.report(TransferResult(f"{d.act.value} (dry run)", self.local_str(d), self.remote_str(d),
                                                  detail=d.reason))
            if d.act is Act.UPLOAD:
                return await self.upload(d, depth)
            if d.act is Act.DOWNLOAD:
                return await self.download(d)
            if d.act is Act.CONFLICT:
                return await self.conflict(d, depth)
            if d.act in (Act.DELETE_LOCAL, Act.DELETE_REMOTE) and depth == 0 and self.spool is not None:
                self.spool(d)  # a touched file whose bytes proved unchanged: deleted with the others
                return TransferResult("hash", self.local_str(d), self.remote_str(d), detail=d.reason)
            if d.act in (Act.DELETE_LOCAL, Act.DELETE_REMOTE):
                # Met only when a path changed during the run: deleting now would act on a
                # listing already proven stale. The next run decides with fresh listings.
                return self.report(TransferResult("skip", self.local_str(d), self.remote_str(d),
                                                  detail=f"{d.reason}; changed during the sync: left for the next run"))
            return self.note(d)
        except Exception as exc:  # noqa: BLE001 - one path's failure is its result; the run goes on
            if (refused(exc) or is_missing(exc)) and depth == 0:
                return await self.run(await self.again(d), depth + 1)
            return self.report(failed(d.act.value, self.local_str(d), self.remote_str(d), exc, started))

    def local_str(self, d: Decision) -> str:
        return str(self.root / d.path)

    def remote_str(self, d: Decision) -> str:
        return str(self.where.child(d.path))

    def report(self, result: TransferResult) -> TransferResult:
        self.ctx.progress.finished(result)
        return result

    # ---- deciding what needs reading first ---------------------------------------------------

    async def settle(self, d: Decision) -> Decision:
        """HASH and COMPARE read bytes before the decision is final."""
        if d.act is Act.HASH:
            assert d.local is not None and d.base is not None
            d = decide(d.base, dataclasses.replace(d.local, md5=await self.md5(d.path, d.base.md5)), d.remote)
        if d.act is Act.COMPARE:
            assert d.remote is not None
            item = Item(d.path, d.remote.size, d.remote.mtime, d.remote.etag)
            d = resolve(d, await self.judge.same(self.root / d.path, self.where.child(d.path), item))
        return d

    async def md5(self, path: str, known: str | None = None) -> str:
        """The file's MD5 (hex: a single PUT's ETag, so the hash cache can hold it)."""
        full = self.root / path
        info = await to_thread.run_sync(os.stat, full)
        cache = self.judge.cache
        if known and cache is not None and await to_thread.run_sync(cache.knows, full, info, known):
            return known
        self.counters.hashed += 1
        digest = (await to_thread.run_sync(fileio.hash_file, full)).hex()
        if cache is not None and await to_thread.run_sync(stat_of, full) == info:
            await to_thread.run_sync(cache.remember, full, info, digest)
        return digest

    async def again(self, d: Decision) -> Decision:
        """The remote changed since it was listed (a refused condition): read it again."""
        head = await self.ctx.store.head_or_none(self.where.child(d.path))
        remote = None if head is None else Remote(d.path, int(head["ContentLength"]), unquote(head.get("ETag")),
                                                  head["LastModified"].timestamp())
        info = await to_thread.run_sync(stat_of, self.root / d.path)
        local = None if info is None else as_local(d.path, info, await self.md5(d.path))
        return await self.settle(decide(d.base, local, remote))

    # ---- the actions ---------------------------------------------------------------------

    def note(self, d: Decision) -> TransferResult:
        """NOTHING after hashing (a touched file) and RECORD: the baseline moves on."""
        if not self.dry_run and d.local is not None and d.remote is not None and d.local.md5:
            self.remember(d.path, d.remote.etag, d.local, d.local.md5)
            self.counters.recorded += d.act is Act.RECORD
        return TransferResult(d.act.value, self.local_str(d), self.remote_str(d), detail=d.reason)

    async def upload(self, d: Decision, depth: int) -> TransferResult:
        result = await self.send(d.path, d.path, d.expect)
        self.counters.uploaded += 1
        self.counters.kept += d.kept
        return self.report(dataclasses.replace(result, op="upload", detail=f"{d.reason}; {result.detail}".strip("; ")))

    async def send(self, path: str, key_path: str, expect: str | None) -> TransferResult:
        """Upload ``path`` to the key ``key_path``, on the condition that the key still holds
        ``expect`` (None: that there is none); record the new version on both sides."""
        self.check_lease()
        full, key = self.root / path, self.where.child(key_path)
        before = await to_thread.run_sync(os.stat, full)
        conditions = {"IfMatch": expect} if expect else {"IfNoneMatch": "*"}
        result = await put_file(self.quiet, full, key, conditions=conditions, metadata={META_USER: self.user})
        etag = unquote(result.etag)
        md5 = etag if _is_md5(etag) else await self.md5_if_unchanged(full, before)
        self.remember(key_path, etag, as_local(key_path, before), md5)
        self.state.push(version(key_path, before.st_size, etag, self.user, time.time()))
        return result

    async def md5_if_unchanged(self, full: Path, before: os.stat_result) -> str:
        digest = (await to_thread.run_sync(fileio.hash_file, full)).hex()
        self.counters.hashed += 1
        # Changed meanwhile: an empty MD5 matches nothing, so the next run sees an edit.
        return digest if await to_thread.run_sync(stat_of, full) == before else ""

    async def download(self, d: Decision) -> TransferResult:
        assert d.remote is not None
        result, landed = await self.fetch(d.path, d.remote, self.root / d.path, d.local)
        if not result.ok:
            return self.report(dataclasses.replace(result, op="download"))
        if landed != d.path:
            self.counters.conflicts += 1
            return self.report(TransferResult("conflict", self.local_str(d), str(self.root / landed),
                                              result.size, result.etag,
                                              detail="the local file changed during the sync: both kept"))
        self.counters.downloaded += 1
        self.counters.kept += d.kept
        return self.report(dataclasses.replace(result, op="download", detail=d.reason))

    async def fetch(self, key_path: str, remote: Remote, dest: Path, expect: Local | None) -> tuple[TransferResult, str]:
        """Download the object at ``key_path`` (If-Match its listed ETag) through a staging
        file; it replaces ``dest`` only if ``dest`` is still as ``expect`` says (None: absent),
        else it lands beside it under a conflict name. Returns the result and where it landed."""
        staging = staging_path(dest)
        await to_thread.run_sync(lambda: dest.parent.mkdir(parents=True, exist_ok=True))
        known = RemoteObject(self.where.child(key_path), remote.size, f'"{remote.etag}"', None)
        result = await download_object(self.quiet, known.loc, staging, known)
        if not result.ok:
            await to_thread.run_sync(fileio.remove_quietly, staging)
            return result, key_path
        landed = dest.relative_to(self.root).as_posix()
        if not same_stat(await to_thread.run_sync(stat_of, dest), expect):
            landed = conflict_name(landed, self.user, time.time())
        final = self.root / landed
        await to_thread.run_sync(os.replace, staging, final)
        info = await to_thread.run_sync(os.stat, final)
        md5 = remote.etag if _is_md5(remote.etag) else await self.md5_if_unchanged(final, info)
        if landed == dest.relative_to(self.root).as_posix():
            self.remember(landed, remote.etag, as_local(landed, info), md5)
        return result, landed

    async def conflict(self, d: Decision, depth: int) -> TransferResult:
        """Both changed: theirs lands beside mine as name.conflict-THEIRUSER-DATE.ext, on both
        sides (a new key), then mine replaces theirs at the name, If-Match theirs."""
        assert d.remote is not None
        head = await self.ctx.store.head_or_none(self.where.child(d.path))
        if head is None or unquote(head.get("ETag")) != d.remote.etag:
            return await self.run(await self.again(d), depth + 1)
        who = (head.get("Metadata") or {}).get(META_USER) or "unknown"
        beside = await self.free_name(d.path, who, d.remote)
        if await to_thread.run_sync(stat_of, self.root / beside) is None:  # a re-run after a crash finds it there
            result, landed = await self.fetch(d.path, d.remote, self.root / beside, None)
            if not result.ok:
                return self.report(dataclasses.replace(result, op="conflict"))
            beside = landed
        try:
            await self.send(beside, beside, None)
        except Exception as exc:
            if not refused(exc):  # already sent by an earlier, interrupted run
                raise
        mine = await self.send(d.path, d.path, d.remote.etag)
        self.counters.conflicts += 1
        return self.report(TransferResult("conflict", self.local_str(d), str(self.root / beside), mine.size, mine.etag,
                                          detail=f"{d.reason}: {who}'s version kept as {beside}"))

    async def free_name(self, path: str, who: str, remote: Remote) -> str:
        """The conflict name for this remote version: the plain one, unless a file of that
        name is there already with other bytes (one member, two conflicts in one second)."""
        for attempt in range(1, 100):
            name = conflict_name(path, who if attempt == 1 else f"{who}-{attempt}", remote.mtime)
            if await to_thread.run_sync(stat_of, self.root / name) is None:
                return name
            if _is_md5(remote.etag) and await self.md5(name) == remote.etag:
                return name  # this very version, fetched by an earlier, interrupted run
        raise S3FerryError(f"too many conflict copies of {path}")

    def remember(self, path: str, etag: str, local: Local, md5: str) -> None:
        self.state.put(Base(path, local.size, unquote(etag), md5, local.mtime_ns, local.ino, local.ctime_ns,
                            self.user, time.time()))

    def check_lease(self) -> None:
        if self.lease is not None:
            self.lease.check()


def _is_md5(etag: str) -> bool:
    return len(etag) == 32 and all(c in "0123456789abcdef" for c in etag)
