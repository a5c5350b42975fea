"""Team sync's guards at the store: a write refused on its condition becomes a conflict, not
an overwrite; the lease makes a second member wait, and a stale lease is taken over."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from pathlib import Path

import s3ferry
from s3ferry.ops import teamsync_actions

from helpers import Collect
from test_team_sync import STATE, pair, remote, team, tree, write


def in_process(server, folder: Path, url: str, user: str) -> tuple[object, Collect]:
    seen = Collect()
    summary = asyncio.run(s3ferry.team_sync(folder, url, user=user, config=server.config(), progress=seen, yes=True,
                                            cache_path=folder.parent / f"cache-{user}.sqlite"))
    return summary, seen


def test_a_write_that_lands_after_the_listing_is_not_overwritten(server, bucket, tmp_path, monkeypatch):
    """Another writer (holding no lease: another tool) replaces the object between our listing
    and our upload. The conditional PUT is refused (412), the path is read again, and both
    versions are kept as a conflict."""
    a, _, url = pair(tmp_path, bucket)
    write(a / "doc.txt", "the original")
    in_process(server, a, url, "alice")
    write(a / "doc.txt", "alice's edit")
    real_put = teamsync_actions.put_file
    s3 = server.client()

    async def foreign_write_first(ctx, path, dest, **kwargs):
        if dest.key == "team/doc.txt" and kwargs["conditions"].get("IfMatch"):
            s3.put_object(Bucket=bucket, Key="team/doc.txt", Body=b"written by another tool")
        return await real_put(ctx, path, dest, **kwargs)

    monkeypatch.setattr(teamsync_actions, "put_file", foreign_write_first)
    summary, seen = in_process(server, a, url, "alice")
    assert summary.counters["conflicts"] == 1, [r for r in seen.results]
    files = tree(a)
    assert files["doc.txt"] == b"alice's edit"
    assert b"written by another tool" in files.values()
    assert remote(server, bucket, "team/") == files
    beside = next(name for name in files if name != "doc.txt")
    assert beside.startswith("doc.conflict-unknown-") and beside.endswith(".txt")


def lease(server, bucket: str, **fields) -> None:
    body = {"user": "carol", "host": "elsewhere", "pid": 1, "folder": "/x", "run": "r", **fields}
    server.client().put_object(Bucket=bucket, Key=f"team/{STATE}/lease.json", Body=json.dumps(body).encode())


def test_a_held_lease_makes_the_run_wait_then_give_up(server, bucket, tmp_path):
    a, _, url = pair(tmp_path, bucket)
    write(a / "x.txt", "x")
    lease(server, bucket, expires=time.time() + 3600)
    busy = team(server, a, url, "alice", "--wait", "1", ok=False)
    assert busy["code"] == 1 and "another team sync of this prefix is running (carol on elsewhere" in busy["stderr"]
    assert remote(server, bucket, "team/") == {}


def test_an_expired_lease_is_taken_over_and_released(server, bucket, tmp_path):
    a, _, url = pair(tmp_path, bucket)
    write(a / "x.txt", "x")
    lease(server, bucket, expires=time.time() - 3600)
    team(server, a, url, "alice", "--wait", "5")
    assert remote(server, bucket, "team/") == {"x.txt": b"x"}
    assert f"{STATE}/lease.json" not in remote(server, bucket, "team/", state=True)


def test_a_dead_holder_on_this_host_is_taken_over_at_once(server, bucket, tmp_path):
    a, _, url = pair(tmp_path, bucket)
    write(a / "x.txt", "x")
    lease(server, bucket, expires=time.time() + 3600, host=socket.gethostname(), pid=2**22 + 12345)
    team(server, a, url, "alice", "--wait", "5")
    assert remote(server, bucket, "team/") == {"x.txt": b"x"}

