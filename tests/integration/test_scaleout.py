"""Scale-out (issue 16): `sync --cluster` shards a migration over Dask workers on 127.0.0.1.

Run as a user runs it (the CLI in a subprocess) against the moto server: a 2-worker local
cluster copies 2,000 objects with every key and ETag equal and a report that says so; a worker
SIGKILLed mid-run still ends in a complete, verified copy with the retried shards reported; a
re-run moves nothing. Objects are tiny: this is about shards, not bytes.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from helpers import run_cli

pytest.importorskip("distributed")
psutil = pytest.importorskip("psutil")

MOTO_ONLY = pytest.mark.parametrize("server", ["moto"], indirect=True)


def seed(s3, bucket: str, prefix: str, count: int) -> None:
    """``count`` tiny objects in 20 folders, plus top-level keys and awkward names."""
    names = [f"d{i % 20:02d}/f{i:05d}.bin" for i in range(count - 4)]
    names += ["top.txt", "a b+c%d.txt", "d07/€uro/ü.bin", "z//double.bin"]

    def put(index_name: tuple[int, str]) -> None:
        index, name = index_name
        s3.put_object(Bucket=bucket, Key=prefix + name, Body=f"{index}:{name}".encode() * (1 + index % 7))

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(put, enumerate(names)))


def objects(s3, bucket: str, prefix: str) -> dict[str, str]:
    """key below the prefix -> ETag."""
    found = {}
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"][len(prefix):]] = item["ETag"].strip('"')
    return found


def migrate(server, bucket: str, report: Path, *extra: str, cluster: str = "local:2") -> dict:
    done = run_cli(server, "sync", f"s3://{bucket}/src/", f"s3://{bucket}/dst/", "--cluster", cluster,
                   "--report", str(report), *extra)
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return json.loads(report.read_text())


@MOTO_ONLY
def test_two_workers_migrate_2000_objects_then_a_rerun_moves_nothing(server, bucket, tmp_path):
    s3 = server.client()
    seed(s3, bucket, "src/", 2000)
    report = migrate(server, bucket, tmp_path / "first.json")

    source, copy = objects(s3, bucket, "src/"), objects(s3, bucket, "dst/")
    assert len(source) == 2000 and copy == source
    assert report["complete"] and report["verified"] and report["exit_code"] == 0
    totals = report["totals"]
    assert totals["objects"] == totals["copied"] == totals["etag_match"] == 2000 and totals["failed"] == 0
    assert totals["shards"] > 2  # more shards than workers: the fast one takes more
    assert sum(shard["objects"] for shard in report["shards"]) == 2000
    assert {shard["status"] for shard in report["shards"]} == {"done"}

    again = migrate(server, bucket, tmp_path / "again.json")
    assert again["verified"] and again["totals"]["copied"] == 0 and again["totals"]["bytes"] == 0
    assert again["totals"]["skipped"] == again["totals"]["etag_match"] == 2000
    assert objects(s3, bucket, "dst/") == source


def spawned_workers(process: subprocess.Popen[str]) -> list:
    """The Dask worker processes of a running CLI (its spawned multiprocessing children)."""
    try:
        children = psutil.Process(process.pid).children(recursive=True)
    except psutil.NoSuchProcess:
        return []
    workers = []
    for child in children:
        try:
            if "spawn_main" in " ".join(child.cmdline()):
                workers.append(child)
        except psutil.Error:
            continue
    return workers


@MOTO_ONLY
def test_a_worker_killed_mid_run_ends_complete_with_retried_shards(server, bucket, tmp_path):
    s3 = server.client()
    seed(s3, bucket, "src/", 2000)
    path = tmp_path / "report.json"
    process = subprocess.Popen([sys.executable, "-m", "s3ferry", "sync", f"s3://{bucket}/src/",
                                f"s3://{bucket}/dst/", "--cluster", "local:2", "--report", str(path)],
                               env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        victim = None
        deadline = time.monotonic() + 240
        while process.poll() is None and time.monotonic() < deadline:
            workers = spawned_workers(process)
            copied = s3.list_objects_v2(Bucket=bucket, Prefix="dst/", MaxKeys=1000).get("KeyCount", 0)
            if len(workers) == 2 and copied >= 100:
                victim = workers[0]
                break
            time.sleep(0.05)
        assert victim is not None, f"the migration ended before a worker could be killed: {process.poll()}"
        os.kill(victim.pid, signal.SIGKILL)
        _, stderr = process.communicate(timeout=300)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, stderr
    assert "Traceback" not in stderr
    report = json.loads(path.read_text())
    assert objects(s3, bucket, "dst/") == objects(s3, bucket, "src/")
    assert report["complete"] and report["verified"] and report["totals"]["etag_match"] == 2000
    assert report["retried_shards"], report["totals"]
    for number in report["retried_shards"]:
        shard = report["shards"][number]
        assert shard["status"] == "done" and shard["attempts"] >= 2 and shard["retries"][0]["cause"]


@MOTO_ONLY
def test_local_trees_up_and_down_on_a_shared_file_system(server, bucket, tmp_path):
    """Workers on one machine share its file system: a tree sharded by folder goes up, comes
    back down sharded by prefix, byte for byte; a re-run moves nothing."""
    tree, back = tmp_path / "tree", tmp_path / "back"
    for index in range(150):
        path = tree / f"d{index % 12:02d}" / ("sub/" if index % 5 == 0 else "") / f"f{index:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%d" % index * (1 + index % 9))
    (tree / "top.txt").write_text("top")
    up = run_cli(server, "sync", str(tree), f"s3://{bucket}/up/", "--cluster", "local:2", "--report",
                 str(tmp_path / "up.json"))
    assert up.returncode == 0, up.stderr
    report = json.loads((tmp_path / "up.json").read_text())
    assert report["verified"] and report["totals"]["copied"] == 151 and report["totals"]["shards"] > 2
    down = run_cli(server, "sync", f"s3://{bucket}/up/", str(back), "--cluster", "local:2", "--report",
                   str(tmp_path / "down.json"))
    assert down.returncode == 0, down.stderr
    files = sorted(p.relative_to(tree) for p in tree.rglob("*") if p.is_file())
    assert files == sorted(p.relative_to(back) for p in back.rglob("*") if p.is_file())
    assert all((tree / f).read_bytes() == (back / f).read_bytes() for f in files)
    again = run_cli(server, "sync", str(tree), f"s3://{bucket}/up/", "--cluster", "local:2", "--report",
                    str(tmp_path / "again.json"))
    assert again.returncode == 0, again.stderr
    totals = json.loads((tmp_path / "again.json").read_text())["totals"]
    assert totals["copied"] == 0 and totals["skipped"] == totals["etag_match"] == 151
    # The workers remembered what they sent and fetched: the re-run proves every file unchanged
    # from the hash cache, as a one-process re-run does, and reads none of them.
    assert totals["hashed"] == 0, totals


@MOTO_ONLY
def test_manifest_replaces_the_listing(server, bucket, tmp_path):
    s3 = server.client()
    seed(s3, bucket, "src/", 60)
    chosen = sorted(objects(s3, bucket, "src/"))[::3]
    manifest = tmp_path / "manifest.csv"
    from urllib.parse import quote_plus
    manifest.write_text("".join(f"{bucket},{quote_plus('src/' + key, safe='/')}\n" for key in chosen))
    report = migrate(server, bucket, tmp_path / "r.json", "--manifest", str(manifest))
    assert sorted(objects(s3, bucket, "dst/")) == chosen
    assert report["verified"] and report["totals"]["copied"] == len(chosen)


@MOTO_ONLY
def test_an_external_scheduler_and_worker(server, bucket, tmp_path):
    """The deployment the README shows: `dask scheduler` and `dask worker` started by hand."""
    s3 = server.client()
    seed(s3, bucket, "src/", 120)
    scheduler_file = tmp_path / "scheduler.json"
    env = {**server.env(), "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    started = [subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_scheduler", "--host", "127.0.0.1",
                                 "--port", "0", "--no-dashboard", "--scheduler-file", str(scheduler_file)],
                                env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)]
    try:
        deadline = time.monotonic() + 60
        while not scheduler_file.exists() and time.monotonic() < deadline:
            time.sleep(0.1)
        address = json.loads(scheduler_file.read_text())["address"]
        assert address.startswith("tcp://127.0.0.1:")
        started.append(subprocess.Popen([sys.executable, "-m", "distributed.cli.dask_worker", address,
                                         "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard"],
                                        env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        report = migrate(server, bucket, tmp_path / "r.json", cluster=address)
        assert report["verified"] and report["totals"]["copied"] == 120
        assert objects(s3, bucket, "dst/") == objects(s3, bucket, "src/")
    finally:
        for process in reversed(started):
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()


@pytest.mark.parametrize("cluster, code", [("local:0", 2), ("bogus", 2), ("local:x", 2),
                                           ("tcp://127.0.0.1:1", 6)])
@MOTO_ONLY
def test_bad_cluster_is_one_line_with_its_exit_code(server, bucket, tmp_path, cluster, code):
    done = run_cli(server, "sync", f"s3://{bucket}/src/", f"s3://{bucket}/dst/", "--cluster", cluster,
                   "--report", str(tmp_path / "r.json"))
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


@pytest.mark.parametrize("args, code", [
    (("s3://no-such-bucket-here/src/", "s3://{bucket}/dst/"), 4),
    (("s3://{bucket}/src/", "s3://no-such-bucket-here/dst/"), 4),
    (("{tmp}", "{tmp}/out"), 2),
    (("{tmp}/missing", "s3://{bucket}/dst/"), 4),
    (("{tmp}", "s3://{bucket}/dst/", "--manifest", "{tmp}/bad.csv"), 2),
    (("s3://{bucket}/src/", "s3://{bucket}/dst/", "--max-delete", "3"), 2),
    (("s3://{bucket}/src/", "s3://{bucket}/dst/", "--manifest", "{tmp}/missing.csv"), 4),
    (("s3://{bucket}/src/", "s3://{bucket}/dst/", "--manifest", "{tmp}/bad.csv"), 2),
])
@MOTO_ONLY
def test_bad_migration_input_starts_no_cluster(server, bucket, tmp_path, args, code):
    filled = [a.format(bucket=bucket, tmp=tmp_path) for a in args]
    (tmp_path / "bad.csv").write_text(f"{bucket},src/a\nother-bucket,src/b\n")
    done = run_cli(server, "sync", *filled, "--cluster", "local:2", "--report", str(tmp_path / "r.json"))
    assert done.returncode == code, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


@MOTO_ONLY
def test_report_and_manifest_need_a_cluster(server, bucket, tmp_path):
    done = run_cli(server, "sync", f"s3://{bucket}/src/", f"s3://{bucket}/dst/", "--report", str(tmp_path / "r"))
    assert done.returncode == 2 and "--cluster" in done.stderr


# ---- the same shards on local worker processes, without Dask (the runner issue 13 wires to --workers) ----

def run_migrate(server, bucket, **options):
    import asyncio

    from s3ferry import api

    return asyncio.run(api.migrate(f"s3://{bucket}/src/", f"s3://{bucket}/dst/", config=server.config(), **options))


@MOTO_ONLY
def test_local_process_engine_runs_the_same_shards(server, bucket):
    s3 = server.client()
    seed(s3, bucket, "src/", 200)
    report = run_migrate(server, bucket, cluster="local:2", engine="processes")
    assert report.verified and report.totals()["copied"] == 200 and len(report.records) > 2
    assert objects(s3, bucket, "dst/") == objects(s3, bucket, "src/")
    assert len({r.worker for r in report.finals()}) == 2  # both processes took shards
    again = run_migrate(server, bucket, cluster="local:2", engine="processes")
    assert again.verified and again.totals()["copied"] == 0 and again.totals()["skipped"] == 200


@MOTO_ONLY
def test_local_process_engine_survives_a_killed_worker(server, bucket):
    s3 = server.client()
    seed(s3, bucket, "src/", 400)
    killed = []

    def kill_one(result, report):
        # After the first shard, with others in flight: SIGKILL a pool process, which breaks
        # the pool; its shards (and the pool's others) come back as retries on a new pool.
        if not killed:
            workers = [c for c in psutil.Process().children(recursive=True)
                       if "spawn_main" in " ".join(c.cmdline())]
            os.kill(workers[0].pid, signal.SIGKILL)
            killed.append(workers[0].pid)

    report = run_migrate(server, bucket, cluster="local:2", engine="processes", on_shard=kill_one)
    assert killed and report.verified and report.exit_code == 0, report.as_dict()
    assert report.retried and all(report.records[n].final.ok for n in report.retried)
    assert objects(s3, bucket, "dst/") == objects(s3, bucket, "src/")
    # No process of the broken pool outlives the engine (a survivor can hang on a queue lock
    # its killed sibling held, and would idle on forever).
    left = [c for c in psutil.Process().children(recursive=True) if "spawn_main" in " ".join(c.cmdline())]
    assert left == [], [c.pid for c in left]


@MOTO_ONLY
def test_ctrl_c_stops_the_workers_and_leaves_no_multipart_upload(server, bucket, tmp_path):
    """Ctrl-C of the driver mid-upload: the cluster's workers cancel their shards, which abort
    their multipart uploads before the workers exit (the bucket fixture checks none is left)."""
    from helpers import interrupt_when, random_file

    tree = tmp_path / "tree"
    for index in range(24):
        random_file(tree / f"d{index % 8}" / f"big{index:02d}.bin", 11 * 1024 * 1024, seed=index)
    s3 = server.client()
    process = subprocess.Popen([sys.executable, "-m", "s3ferry", "sync", str(tree), f"s3://{bucket}/up/",
                                "--cluster", "local:2", "--part-size", "5MiB", "--report", str(tmp_path / "r.json")],
                               env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_when(process, lambda: bool(s3.list_multipart_uploads(Bucket=bucket).get("Uploads")))
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    report = json.loads((tmp_path / "r.json").read_text())
    assert not report["complete"] and report["error"]


def test_closing_a_local_cluster_cancels_its_running_shards(tmp_path):
    """A Dask worker thread is not interrupted when its worker closes: the engine's worker
    plugin cancels the shard so that it cleans up (aborts uploads) instead of being killed."""
    import scaleout_helpers

    from s3ferry.core.shards import Migration, ShardSpec
    from s3ferry.scale.dask import DaskEngine

    mark = str(tmp_path / "mark")
    engine = DaskEngine(None, 1)
    try:
        engine.client.submit(scaleout_helpers.waiting_shard, ShardSpec(0, Migration("s3://a/b/", "s3://a/c/", None)),
                             1, mark)
        deadline = time.monotonic() + 120
        while not Path(mark + ".started").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        assert Path(mark + ".started").exists()
    finally:
        engine.close()
    assert Path(mark).read_text() == "cancelled"
