"""Two-way team sync, as a team uses it: two local folders (users alice and bob) and one
prefix, on both servers, through the real CLI in separate processes."""

from __future__ import annotations

import json
import os
import pty
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from helpers import random_file, run_cli

STATE = ".s3ferry-team"


# ---- helpers -----------------------------------------------------------------------------

def team(server, folder: Path, url: str, user: str, *extra: str, ok: bool = True) -> dict:
    """One team sync; returns {"results": [...], "summary": {...}, "stderr": ...}."""
    done = subprocess.run([sys.executable, "-m", "s3ferry", "team-sync", str(folder), url, "--user", user, "--yes",
                           "--json", *extra], env=member_env(server, folder, user), capture_output=True, text=True,
                          timeout=300, check=False)
    if ok:
        assert done.returncode == 0, (done.stdout, done.stderr)
    return parse(done)


def member_env(server, folder: Path, user: str) -> dict[str, str]:
    # Each member has a hash cache of their own, as on their own machine.
    return {**server.env(), "XDG_CACHE_HOME": str(folder.parent / f"xdg-{user}")}


def parse(done: subprocess.CompletedProcess[str]) -> dict:
    lines = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    summary = next((line["summary"] for line in lines if "summary" in line), {})
    return {"results": [line for line in lines if "op" in line], "summary": summary, "stderr": done.stderr,
            "code": done.returncode}


def tree(folder: Path) -> dict[str, bytes]:
    """The data files of a folder (not the state folder)."""
    found = {}
    for path in folder.rglob("*"):
        relative = path.relative_to(folder).as_posix()
        if path.is_file() and not relative.startswith(STATE + "/"):
            found[relative] = path.read_bytes()
    return found


def everything_local(folder: Path) -> set[bytes]:
    """Every file's bytes, the local trash included."""
    return {path.read_bytes() for path in folder.rglob("*") if path.is_file() and STATE + "/trash" in str(path)} | \
        set(tree(folder).values())


def remote(server, bucket: str, prefix: str, *, state: bool = False) -> dict[str, bytes]:
    s3 = server.client()
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            relative = item["Key"][len(prefix):]
            if relative.startswith(STATE + "/") != state:
                continue
            found[relative] = s3.get_object(Bucket=bucket, Key=item["Key"])["Body"].read()
    return found


def edit_keeping_size_and_mtime(path: Path, data: bytes) -> None:
    before = os.stat(path)
    assert len(data) == before.st_size
    path.write_bytes(data)
    os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))


def write(path: Path, data: bytes | str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data.encode() if isinstance(data, str) else data)


def pair(tmp_path: Path, bucket: str) -> tuple[Path, Path, str]:
    a, b = tmp_path / "alice", tmp_path / "bob"
    a.mkdir()
    b.mkdir()
    return a, b, f"s3://{bucket}/team/"


# ---- what flows where --------------------------------------------------------------------

def test_changes_flow_both_ways(server, bucket, tmp_path):
    a, b, url = pair(tmp_path, bucket)
    write(a / "one.txt", "version 1 of one")
    random_file(a / "sub" / "two.bin", 3000, seed=1)
    write(a / "three.txt", "three")
    first = team(server, a, url, "alice")
    assert first["summary"]["uploaded"] == 3
    got = team(server, b, url, "bob")
    assert got["summary"]["downloaded"] == 3 and tree(b) == tree(a)

    # alice: an edit that keeps size and mtime, a deletion and a creation
    edit_keeping_size_and_mtime(a / "one.txt", b"VERSION 1 OF ONE")
    (a / "three.txt").unlink()
    write(a / "four.txt", "four")
    sent = team(server, a, url, "alice")
    assert (sent["summary"]["uploaded"], sent["summary"]["deleted_remote"]) == (2, 1)
    assert remote(server, bucket, "team/") == tree(a)
    assert b"three" in remote(server, bucket, "team/", state=True).values()  # in the deleted area

    got = team(server, b, url, "bob")
    assert (got["summary"]["downloaded"], got["summary"]["deleted_local"]) == (2, 1)
    assert tree(b) == tree(a)
    assert b"three" in everything_local(b)  # moved to bob's local trash, not destroyed

    # bob edits; alice receives it, and the shared record says who made it
    random_file(b / "sub" / "two.bin", 3100, seed=2)
    assert team(server, b, url, "bob")["summary"]["uploaded"] == 1
    assert team(server, a, url, "alice")["summary"]["downloaded"] == 1
    assert tree(a) == tree(b)
    record = remote(server, bucket, "team/", state=True)[f"{STATE}/record.jsonl"].decode()
    entries = {e["path"]: e for e in map(json.loads, record.splitlines()) if "path" in e}
    assert entries["sub/two.bin"]["user"] == "bob" and entries["four.txt"]["user"] == "alice"

    quiet = team(server, a, url, "alice")["summary"]
    assert quiet["uploaded"] == quiet["downloaded"] == quiet["hashed"] == 0 and quiet["bytes"] == 0


def test_first_sync_is_a_union_and_deletes_nothing(server, bucket, tmp_path):
    a, b, url = pair(tmp_path, bucket)
    write(a / "only-a.txt", "a")
    write(b / "only-b.txt", "b")
    write(a / "same.txt", "same bytes")
    write(b / "same.txt", "same bytes")
    write(a / "differs.txt", "alice wrote this")
    write(b / "differs.txt", "bob wrote this!!")
    team(server, a, url, "alice")
    second = team(server, b, url, "bob")
    assert second["summary"]["conflicts"] == 1 and second["summary"]["deleted_local"] == 0
    team(server, a, url, "alice")
    assert tree(a) == tree(b) == remote(server, bucket, "team/")
    files = tree(a)
    assert {"only-a.txt", "only-b.txt", "same.txt", "differs.txt"} <= set(files)
    assert {b"alice wrote this", b"bob wrote this!!"} <= set(files.values())


def test_both_edit_one_file_keeps_both_and_reports_a_conflict(server, bucket, tmp_path):
    a, b, url = pair(tmp_path, bucket)
    write(a / "doc.txt", "the original")
    team(server, a, url, "alice")
    team(server, b, url, "bob")
    write(a / "doc.txt", "alice's edit")
    write(b / "doc.txt", "bob's longer edit")
    team(server, a, url, "alice")
    met = team(server, b, url, "bob")
    assert met["summary"]["conflicts"] == 1
    conflict = next(r for r in met["results"] if r["op"] == "conflict")
    assert "doc.conflict-alice-" in conflict["destination"]
    assert (b / "doc.txt").read_text() == "bob's longer edit"  # nothing overwritten
    beside = [p for p in b.iterdir() if p.name.startswith("doc.conflict-alice-") and p.suffix == ".txt"]
    assert len(beside) == 1 and beside[0].read_text() == "alice's edit"
    team(server, a, url, "alice")
    assert tree(a) == tree(b) == remote(server, bucket, "team/")
    assert {b"alice's edit", b"bob's longer edit"} <= set(tree(a).values())


def test_the_same_edit_on_both_sides_is_no_conflict(server, bucket, tmp_path):
    a, b, url = pair(tmp_path, bucket)
    write(a / "doc.txt", "the original")
    team(server, a, url, "alice")
    team(server, b, url, "bob")
    write(a / "doc.txt", "one fix, made twice")
    write(b / "doc.txt", "one fix, made twice")
    team(server, a, url, "alice")
    second = team(server, b, url, "bob")["summary"]
    assert second["conflicts"] == 0 and second["uploaded"] == second["downloaded"] == 0
    assert tree(a) == tree(b)


@pytest.mark.parametrize("deleter_first", [True, False])
def test_a_deletion_never_removes_an_edit(server, bucket, tmp_path, deleter_first):
    a, b, url = pair(tmp_path, bucket)
    write(a / "x.txt", "shared")
    write(a / "y.txt", "another")  # so that deleting x does not empty the folder (a rail of its own)
    team(server, a, url, "alice")
    team(server, b, url, "bob")
    (a / "x.txt").unlink()
    write(b / "x.txt", "bob's edit of x")
    order = [(a, "alice"), (b, "bob")] if deleter_first else [(b, "bob"), (a, "alice")]
    reports = [team(server, folder, url, user) for folder, user in order]
    assert sum(r["summary"]["kept"] for r in reports) == 1
    team(server, a, url, "alice")
    team(server, b, url, "bob")
    assert (a / "x.txt").read_text() == (b / "x.txt").read_text() == "bob's edit of x"
    assert remote(server, bucket, "team/")["x.txt"] == b"bob's edit of x"


# ---- several people at once ---------------------------------------------------------------

def start(server, folder: Path, url: str, user: str, *extra: str) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "s3ferry", "team-sync", str(folder), url, "--user", user,
                             "--yes", "--json", *extra], env=member_env(server, folder, user), stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def random_edits(rng: random.Random, folder: Path, names: list[str], tag: str) -> set[bytes]:
    """Create, edit (sometimes keeping the size) and delete files; returns the new versions
    still on disk (a version its own author overwrote before syncing was never the sync's)."""
    made: dict[Path, bytes] = {}
    for _ in range(rng.randint(1, 4)):
        name = rng.choice(names)
        path = folder / name
        kind = rng.random()
        if path.exists() and kind < 0.25:
            path.unlink()
            made.pop(path, None)
            continue
        data = f"{tag} {name} {rng.random()}".encode()
        if path.exists() and kind < 0.5:
            data = data[:path.stat().st_size].ljust(path.stat().st_size, b".")
        write(path, data)
        made[path] = data
    return set(made.values())


@pytest.mark.slow  # about 2 minutes a lane here; CI runs slow tests too (scripts/test.sh)
def test_simultaneous_syncs_lose_nothing_20_times(server, bucket, tmp_path):
    a, b, url = pair(tmp_path, bucket)
    names = [f"f{i}.txt" for i in range(6)] + ["sub/g.txt", "sub/h.txt"]
    rng = random.Random(14)
    for round_ in range(20):
        made = random_edits(rng, a, names, f"alice{round_}") | random_edits(rng, b, names, f"bob{round_}")
        runs = [start(server, a, url, "alice"), start(server, b, url, "bob")]
        for run in runs:
            out, err = run.communicate(timeout=300)
            assert run.returncode == 0, (round_, out, err)
        # Every version either member made since their last sync still exists somewhere.
        anywhere = everything_local(a) | everything_local(b) | set(remote(server, bucket, "team/").values()) | \
            set(remote(server, bucket, "team/", state=True).values())
        lost = made - anywhere
        assert not lost, (round_, lost)
    for folder, user in ((a, "alice"), (b, "bob"), (a, "alice")):
        team(server, folder, url, user)
    assert tree(a) == tree(b) == remote(server, bucket, "team/")


def test_two_syncs_at_once_both_finish(server, bucket, tmp_path):
    a, b, url = pair(tmp_path, bucket)
    for i in range(30):
        write(a / f"a{i}.txt", f"alice {i}")
        write(b / f"b{i}.txt", f"bob {i}")
    runs = [start(server, a, url, "alice"), start(server, b, url, "bob")]
    for run in runs:
        out, err = run.communicate(timeout=300)
        assert run.returncode == 0, (out, err)
    # Whoever went first has not seen the other's files yet: one more turn each.
    team(server, a, url, "alice")
    team(server, b, url, "bob")
    assert tree(a) == tree(b) == remote(server, bucket, "team/")
    assert len(tree(a)) == 60


# ---- crashes -----------------------------------------------------------------------------

@pytest.mark.keeps_temporary  # SIGKILL cannot clean up: the temporaries of the killed run stay
@pytest.mark.parametrize("direction", ["up", "down"])
def test_a_sigkilled_sync_converges_when_run_again(server, bucket, tmp_path, direction):
    a, b, url = pair(tmp_path, bucket)
    for i in range(200):
        random_file(a / f"d{i % 7}" / f"f{i:03d}.bin", 200 + i, seed=i)
    if direction == "down":
        team(server, a, url, "alice")
    folder, user = (a, "alice") if direction == "up" else (b, "bob")
    run = start(server, folder, url, user, "-c", "2")
    seen = 0
    assert run.stdout is not None
    for line in run.stdout:
        seen += '"op"' in line
        if seen == 40:
            break
    run.send_signal(signal.SIGKILL)
    run.wait(timeout=60)
    again = team(server, folder, url, user)
    assert again["summary"]["conflicts"] == 0
    assert tree(folder) == tree(a) == remote(server, bucket, "team/")
    assert not [p for p in folder.rglob("*.s3ferry*tmp")], "temporary files left behind"
    team(server, b, url, "bob")
    assert tree(b) == tree(a)


# ---- safety rails --------------------------------------------------------------------------

def test_dry_run_changes_nothing(server, bucket, tmp_path):
    a, _b, url = pair(tmp_path, bucket)
    write(a / "x.txt", "x")
    plan = team(server, a, url, "alice", "--dry-run")
    assert [r["op"] for r in plan["results"]] == ["upload (dry run)"]
    assert remote(server, bucket, "team/") == {} and remote(server, bucket, "team/", state=True) == {}
    assert not (a / STATE).exists()
    team(server, a, url, "alice")
    (a / "x.txt").unlink()
    write(a / "y.txt", "y")
    plan = team(server, a, url, "alice", "--dry-run", "--max-delete", "100")
    assert sorted(r["op"] for r in plan["results"]) == ["delete-remote (dry run)", "upload (dry run)"]
    assert remote(server, bucket, "team/") == {"x.txt": b"x"}


def test_an_empty_side_with_a_baseline_is_refused(server, bucket, tmp_path):
    a, _b, url = pair(tmp_path, bucket)
    for i in range(3):
        write(a / f"x{i}.txt", "x")
    team(server, a, url, "alice")
    for i in range(3):
        (a / f"x{i}.txt").unlink()
    refused = team(server, a, url, "alice", ok=False)
    assert refused["code"] == 1 and "local folder is empty" in refused["stderr"]
    assert len(remote(server, bucket, "team/")) == 3


def test_max_delete_is_a_share_of_the_tree(server, bucket, tmp_path):
    a, _b, url = pair(tmp_path, bucket)
    for i in range(4):
        write(a / f"x{i}.txt", f"x{i}")
    team(server, a, url, "alice")
    for i in range(3):
        (a / f"x{i}.txt").unlink()
    refused = team(server, a, url, "alice", ok=False)
    assert refused["code"] == 1 and "--max-delete" in refused["stderr"]
    assert len(remote(server, bucket, "team/")) == 4
    team(server, a, url, "alice", "--max-delete", "80")
    assert set(remote(server, bucket, "team/")) == {"x3.txt"}


def test_deletions_without_a_terminal_need_yes(server, bucket, tmp_path):
    a, _b, url = pair(tmp_path, bucket)
    for i in range(4):
        write(a / f"x{i}.txt", f"x{i}")
    team(server, a, url, "alice")
    (a / "x0.txt").unlink()
    done = run_cli(server, "team-sync", str(a), url, "--user", "alice", stdin=subprocess.DEVNULL)
    assert done.returncode == 1 and "--yes" in done.stderr and "Traceback" not in done.stderr
    assert "x0.txt" in remote(server, bucket, "team/")


@pytest.mark.parametrize("answer, kept", [("n", True), ("y", False)])
def test_deletions_ask_on_a_terminal(server, bucket, tmp_path, answer, kept):
    a, _b, url = pair(tmp_path, bucket)
    for i in range(4):
        write(a / f"x{i}.txt", f"x{i}")
    team(server, a, url, "alice")
    (a / "x0.txt").unlink()
    write(a / "new.txt", "new")
    done = on_terminal(server, ["team-sync", str(a), url, "--user", "alice"], answer)
    assert done.returncode == 0, done.stderr
    assert "Delete 0 local file(s)" in done.stderr and "1 object(s)" in done.stderr
    assert ("x0.txt" in remote(server, bucket, "team/")) is kept
    assert remote(server, bucket, "team/")["new.txt"] == b"new"  # the rest of the sync ran either way


def test_ignore_file_and_reserved_keys(server, bucket, tmp_path):
    a, b, url = pair(tmp_path, bucket)
    write(a / ".s3ferryignore", "*.scratch\n")
    write(a / "keep.txt", "k")
    write(a / "junk.scratch", "j")
    team(server, a, url, "alice")
    assert set(remote(server, bucket, "team/")) == {"keep.txt"}
    team(server, b, url, "bob")
    assert set(tree(b)) == {"keep.txt"}  # the state under the prefix never arrives as data
    state = remote(server, bucket, "team/", state=True)
    assert f"{STATE}/record.jsonl" in state and f"{STATE}/store.json" in state


def test_store_probe_records_what_the_store_honours(server, bucket, tmp_path):
    a, _b, url = pair(tmp_path, bucket)
    write(a / "x.txt", "x")
    team(server, a, url, "alice")
    found = json.loads(remote(server, bucket, "team/", state=True)[f"{STATE}/store.json"])
    assert found["put_if_none_match"] and found["put_if_match"]
    # Ceph RGW 16.2 overwrites on a conditional CompleteMultipartUpload and ignores a
    # conditional DeleteObject; moto honours both (DESIGN.md's table and this session's probe).
    assert found["complete_if_none_match"] is (server.name == "moto")
    assert found["delete_if_match"] is (server.name == "moto")


# ---- reset ---------------------------------------------------------------------------------

def test_reset_asks_then_removes_state_on_both_sides(server, bucket, tmp_path):
    a, _b, url = pair(tmp_path, bucket)
    write(a / "x.txt", "x")
    team(server, a, url, "alice")
    assert (a / STATE).is_dir() and remote(server, bucket, "team/", state=True)

    piped = run_cli(server, "reset", str(a), url, stdin=subprocess.DEVNULL)
    assert piped.returncode == 2 and "--yes" in piped.stderr
    assert (a / STATE).is_dir()

    assert interactive_reset(server, a, url, "n").returncode == 1
    assert (a / STATE).is_dir() and remote(server, bucket, "team/", state=True)

    assert interactive_reset(server, a, url, "y").returncode == 0
    assert not (a / STATE / "baseline.sqlite").exists()
    assert remote(server, bucket, "team/", state=True) == {}
    assert tree(a) == {"x.txt": b"x"} and remote(server, bucket, "team/") == {"x.txt": b"x"}  # data untouched


def interactive_reset(server, folder: Path, url: str, answer: str) -> subprocess.CompletedProcess[str]:
    return on_terminal(server, ["reset", str(folder), url], answer)


def on_terminal(server, args: list[str], answer: str) -> subprocess.CompletedProcess[str]:
    """The CLI with a terminal (a pty) as stdin, answering its confirmation."""
    leader, follower = pty.openpty()
    try:
        process = subprocess.Popen([sys.executable, "-m", "s3ferry", *args], env=server.env(),
                                   stdin=follower, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(0.1)
        os.write(leader, f"{answer}\n".encode())
        out, err = process.communicate(timeout=120)
    finally:
        os.close(leader)
        os.close(follower)
    return subprocess.CompletedProcess(process.args, process.returncode, out, err)
