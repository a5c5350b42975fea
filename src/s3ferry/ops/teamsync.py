"""Two-way team sync of a local folder with an S3 prefix (``s3ferry team-sync``).

One run: probe the store once (ops/teamsync_lease.py), take the team lease, then stream three
sorted sources through one join -- the baseline (ops/teamsync_state.py), the local walk and the
remote listing -- decide each path (core/twoway.py) and carry the decisions out as jobs under
the global limit (ops/teamsync_actions.py). Deletions are spooled to disk and run last, after
the safety rails (core/twoway_plan.py) and the confirmation; then this member's changes are
merged into the shared record (ops/teamsync_record.py) and the lease is released. Memory stays
flat in the number of files: one item of each stream, the jobs in flight, a spool on disk.
"""

from __future__ import annotations

import dataclasses
import json
import os
import tempfile
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import anyio
from anyio import to_thread

from s3ferry.core.config import IGNORE_FILE, TEAM_MAX_DELETE, TEAM_WAIT, TEMP_SUFFIX
from s3ferry.core.errors import LocalIOError, S3FerryError
from s3ferry.core.locations import S3Location
from s3ferry.core.results import Summary, TransferResult
from s3ferry.core.sync_plan import KeyFilter
from s3ferry.core.twoway import STATE_DIR, Act, Decision, Local, Remote, decide, is_reserved, stamp, unquote
from s3ferry.core.twoway_plan import RailError, Tally, check_deletes, check_listings, join3
from s3ferry.local.hashcache import HashCache
from s3ferry.local.walk import iter_local
from s3ferry.ops.context import Context
from s3ferry.ops.jobs import Job, check_bucket, failed, run_jobs
from s3ferry.ops.listing import remote_items
from s3ferry.ops.sync import ContentJudge
from s3ferry.ops.sync_deletes import DeleteSpool
from s3ferry.ops.teamsync_actions import Actions, Counters, same_stat
from s3ferry.ops.teamsync_lease import Lease, abilities, holding, need_lease, refused
from s3ferry.ops.teamsync_record import commit, tombstone
from s3ferry.ops.teamsync_state import LocalState, stat_of

# Never data on either side: the state folder, temporary files, the ignore file itself.
RESERVED_PATTERNS = (STATE_DIR.rstrip("/"), f"*{TEMP_SUFFIX}", IGNORE_FILE)


@dataclass
class TeamOptions:
    user: str
    keys: KeyFilter = field(default_factory=KeyFilter)
    dry_run: bool = False
    max_delete: float = TEAM_MAX_DELETE  # percent of a side's files
    yes: bool = False
    # Asked (on a worker thread) before deleting: (local count, remote count) -> go ahead?
    # None: no terminal to ask on, so deletions need ``yes``.
    confirm: Callable[[int, int], bool] | None = None
    wait: float = TEAM_WAIT
    cache: HashCache | None = None


def team_filter(root: Path, excludes: list[str], includes: list[str]) -> KeyFilter:
    text = (root / IGNORE_FILE).read_text() if (root / IGNORE_FILE).is_file() else ""
    return KeyFilter.parse_ignore_file(text, excludes=[*excludes, *RESERVED_PATTERNS], includes=includes)


async def team_sync(ctx: Context, root: Path, where: S3Location, options: TeamOptions) -> Summary:
    where = where if where.is_prefix else S3Location(where.bucket, where.key + "/")
    await check_bucket(ctx, where.bucket)
    if options.dry_run:  # reads only: no probe, no lease, no state left behind
        with tempfile.TemporaryDirectory() as scratch:
            fresh = not (root / STATE_DIR).is_dir()
            state = LocalState(root, Path(scratch) if fresh else None)
            try:
                return await Run(ctx, root, where, state, options).go(None)
            finally:
                state.close()
    await to_thread.run_sync(lambda: root.mkdir(parents=True, exist_ok=True))
    state = LocalState(root)
    try:
        state.bind(str(where))
        found = await abilities(ctx, where, state.meta("abilities"))
        state.set_meta("abilities", dataclasses.asdict(found))
        need_lease(found)
        run = Run(ctx, root, where, state, options)
        return await holding(ctx, where, options.user, str(root.resolve()), options.wait, run.go)
    finally:
        state.close()


class Run:
    def __init__(self, ctx: Context, root: Path, where: S3Location, state: LocalState, options: TeamOptions):
        self.ctx, self.root, self.where, self.state, self.options = ctx, root, where, state, options
        self.summary = Summary("team-sync")
        self.counters = Counters()
        self.tally: Tally = Tally()
        self.spool = DeleteSpool()
        self.stamp = stamp(time.time())

    async def go(self, lease: Lease | None) -> Summary:
        judge = ContentJudge(self.ctx, self.options.cache)
        actions = Actions(self.ctx, self.root, self.where, self.state, lease, self.options.user,
                          self.options.dry_run, judge, self.counters)
        actions.spool = self.add_delete
        self.lease = lease
        try:
            await run_jobs(self.ctx, self.jobs(actions), self.summary)
            await self.deletes()
        finally:
            self.spool.close()
            if lease is not None:
                await self.commit(lease)
        self.log_failures()
        self.summary.counters.update(dataclasses.asdict(self.counters))
        self.summary.counters["hashed"] += judge.hashed
        return self.summary

    async def jobs(self, actions: Actions) -> AsyncIterator[Job]:
        async for base, local, remote in join3(self.state.stream(), self.local(), self.remote()):
            self.tally.see(base, local, remote)
            d = decide(base, local, remote)
            if d.act is Act.NOTHING:
                continue
            if d.act in (Act.DELETE_LOCAL, Act.DELETE_REMOTE):
                self.add_delete(d)
            elif d.act is Act.FORGET:
                if not self.options.dry_run:
                    self.state.forget(d.path)
            else:
                yield partial(actions.run, d)

    async def local(self) -> AsyncIterator[Local]:
        keys = self.options.keys
        async for e in iter_local(self.root):
            if e.problem is not None:  # an unreadable folder must not look like deleted files
                if e.fatal:
                    raise LocalIOError(f"{e.path}: {e.problem}")
                continue  # a symbolic link the walk skips (loop, alias)
            if keys.allows(e.relative) and not is_reserved(e.relative):
                yield Local(e.relative, e.size, e.mtime_ns, e.ino, e.ctime_ns)

    async def remote(self) -> AsyncIterator[Remote]:
        async for item in remote_items(self.ctx.store, self.where, self.options.keys):
            if not is_reserved(item.key):
                yield Remote(item.key, item.size, unquote(item.etag), item.mtime)

    # ---- deletions, last --------------------------------------------------------------------

    def add_delete(self, d: Decision) -> None:
        local = d.local
        self.spool.add(json.dumps({"act": d.act.value, "path": d.path, "expect": d.expect, "reason": d.reason,
                                   "local": dataclasses.astuple(local) if local else None}))
        if d.act is Act.DELETE_LOCAL:
            self.tally.delete_local += 1
        else:
            self.tally.delete_remote += 1

    async def deletes(self) -> None:
        if not self.spool.count:
            return
        check_listings(self.tally)
        check_deletes(self.tally, self.options.max_delete)
        if self.summary.failed:  # as rclone does: a run that half-failed is no guide for deleting
            raise RailError(f"not deleting {self.spool.count} file(s) because {self.summary.failed} transfer(s) "
                            "failed; re-run to finish")
        if not self.options.dry_run and not await self.confirmed():
            return
        limit = anyio.Semaphore(self.ctx.config.max_concurrency)

        async def one(entry: dict) -> None:
            try:
                self.summary.add(await self.delete(entry))
            finally:
                limit.release()

        async with anyio.create_task_group() as tg:
            for text, _ in self.spool.keys():  # noqa: SIM118 - a spool on disk, not a dict
                await limit.acquire()
                tg.start_soon(one, json.loads(text))

    async def confirmed(self) -> bool:
        here, there = self.tally.delete_local, self.tally.delete_remote
        if self.options.yes:
            return True
        if self.options.confirm is None:
            raise S3FerryError(f"{here} local and {there} remote deletion(s) need confirmation: run on a terminal, "
                               "or pass --yes (the rest of the sync is done)")
        if await to_thread.run_sync(self.options.confirm, here, there):
            return True
        self.ctx.progress.finished(TransferResult("delete", str(self.root), str(self.where),
                                                  detail="deletions declined: nothing deleted"))
        return False

    async def delete(self, entry: dict) -> TransferResult:
        path, act = entry["path"], Act(entry["act"])
        started = time.monotonic()
        local_text, remote_text = str(self.root / path), str(self.where.child(path))
        if self.options.dry_run:
            return self.report(TransferResult(f"{act.value} (dry run)", local_text, remote_text,
                                              detail=entry["reason"]))
        try:
            if act is Act.DELETE_LOCAL:
                return await self.delete_local(path, Local(*entry["local"]) if entry["local"] else None)
            return await self.delete_remote(path, entry["expect"])
        except Exception as exc:  # noqa: BLE001
            if refused(exc):
                return self.report(TransferResult("skip", remote_text, "", detail="changed during the sync: "
                                                  "not deleted; the next run decides"))
            return self.report(failed(act.value, local_text, remote_text, exc, started))

    async def delete_local(self, path: str, seen: Local | None) -> TransferResult:
        full = self.root / path
        if not same_stat(await to_thread.run_sync(stat_of, full), seen):
            return self.report(TransferResult("skip", str(full), "", detail="changed during the sync: kept"))
        trash = self.state.trash_path(path, self.stamp)
        await to_thread.run_sync(lambda: (trash.parent.mkdir(parents=True, exist_ok=True), os.replace(full, trash)))
        self.state.forget(path)
        self.counters.deleted_local += 1
        return self.report(TransferResult("delete-local", str(full), str(trash), detail="deleted there: moved to trash"))

    async def delete_remote(self, path: str, expect: str) -> TransferResult:
        """Move to the deleted area: a copy (of the version decided on) and a delete (If-Match
        where the store honours it; the lease keeps other team syncs out in between)."""
        assert self.lease is not None
        key = self.where.child(path)
        moved = self.where.child(f"{STATE_DIR}deleted/{self.stamp}/{path}")
        self.lease.check()
        await self.ctx.store.copy(key, moved, CopySourceIfMatch=f'"{expect}"')
        await self.ctx.store.delete(key, IfMatch=expect)
        self.state.forget(path)
        self.state.push(tombstone(path, expect, self.options.user, time.time(), moved.key))
        self.counters.deleted_remote += 1
        return self.report(TransferResult("delete-remote", str(key), str(moved), detail="deleted here: moved"))

    def report(self, result: TransferResult) -> TransferResult:
        self.ctx.progress.finished(result)
        return result

    # ---- after -------------------------------------------------------------------------------

    async def commit(self, lease: Lease) -> None:
        try:
            await commit(self.ctx, self.where, self.state, lease)
        except Exception as exc:  # noqa: BLE001 - the changes stay pushed; the next run merges them
            self.summary.add(failed("record", str(self.where.child(STATE_DIR)), "", exc, time.monotonic()))

    def log_failures(self) -> None:
        if self.summary.errors:
            log = self.state.log_failure(self.stamp, "\n".join(self.summary.errors))
            self.summary.errors.append(f"failed files are listed in {log}")

