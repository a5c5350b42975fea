"""put, get and cp -r of trees on shards (`--workers N`: local worker processes; `--cluster`:
Dask), run as a user runs them (the CLI in a subprocess) against moto.

A tree command on shards must land every file exactly where the one-process command puts it,
verified by ETag; bad values are one line and exit 2; Ctrl-C and SIGTERM stop the workers,
which abort their multipart uploads and remove their temporary files (the bucket fixture and
the autouse no_temporary_files fixture check both)."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from helpers import interrupt_when, random_file, run_cli
from test_scaleout import objects, seed

MOTO_ONLY = pytest.mark.parametrize("server", ["moto"], indirect=True)


def make_tree(root: Path, count: int = 90) -> Path:
    """Nested folders, an ignore file (sync's alone: put takes it), awkward names, an empty file."""
    for index in range(count):
        path = root / f"d{index % 7:02d}" / ("sub/" if index % 4 == 0 else "") / f"f{index:04d}.bin"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(b"%d|" % index * (1 + index % 11))
    (root / ".s3ferryignore").write_text("*.bin\n")
    (root / "a b+c%d €.txt").write_text("awkward")
    (root / "empty").write_bytes(b"")
    return root


def files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def ok(done: subprocess.CompletedProcess[str]) -> subprocess.CompletedProcess[str]:
    assert done.returncode == 0, done.stderr
    assert "Traceback" not in done.stderr
    return done


def summary(done: subprocess.CompletedProcess[str]) -> dict:
    return json.loads(done.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("server", ["moto", "ceph"], indirect=True)
def test_put_get_and_cp_trees_with_workers_land_where_one_process_puts_them(server, bucket, tmp_path):
    s3 = server.client()
    tree = make_tree(tmp_path / "tree")
    wanted = len(files(tree))
    # put: one process, then two worker processes; the same keys and ETags.
    ok(run_cli(server, "put", str(tree), f"s3://{bucket}/one/"))
    sharded = summary(ok(run_cli(server, "put", str(tree), f"s3://{bucket}/two", "--workers", "2", "--json")))
    assert sharded["verified"] and sharded["summary"]["copied"] == sharded["summary"]["etag_match"] == wanted
    assert sharded["summary"]["shards"] > 2
    one, two = objects(s3, bucket, "one/"), objects(s3, bucket, "two/")
    assert len(one) == wanted and one == two
    # No skip rule: put again copies everything again, as the one-process put does.
    again = summary(ok(run_cli(server, "put", str(tree), f"s3://{bucket}/two/", "--workers", "2", "--json")))
    assert again["summary"]["copied"] == wanted and again["summary"]["skipped"] == 0
    # get: the same files as a one-process get, byte for byte.
    ok(run_cli(server, "get", f"s3://{bucket}/one/", str(tmp_path / "g1")))
    ok(run_cli(server, "get", f"s3://{bucket}/one", str(tmp_path / "g2"), "--workers", "2"))
    assert files(tmp_path / "g1") == files(tmp_path / "g2") == files(tree)
    # cp -r: the same keys and ETags as a one-process cp -r, a folder marker and sync's trash too.
    s3.put_object(Bucket=bucket, Key="one/marker/", Body=b"")
    s3.put_object(Bucket=bucket, Key="one/.s3ferry-trash/t/old.bin", Body=b"old")
    one = objects(s3, bucket, "one/")
    ok(run_cli(server, "cp", "-r", f"s3://{bucket}/one/", f"s3://{bucket}/c1/"))
    done = ok(run_cli(server, "cp", "-r", f"s3://{bucket}/one/", f"s3://{bucket}/c2", "--workers", "2"))
    assert "cp: verified" in done.stdout
    assert objects(s3, bucket, "c1/") == objects(s3, bucket, "c2/") == one


@MOTO_ONLY
def test_auto_keeps_a_small_tree_in_one_process(server, bucket, tmp_path):
    tree = make_tree(tmp_path / "tree", 10)
    done = ok(run_cli(server, "put", str(tree), f"s3://{bucket}/p/", "--workers", "auto"))
    assert "shards" not in done.stdout + done.stderr  # the one-process summary, no worker started
    assert len(objects(server.client(), bucket, "p/")) == len(files(tree))


@pytest.mark.parametrize("args", [
    ("put", "{tree}", "s3://{bucket}/p/", "--workers", "0"),
    ("put", "{tree}", "s3://{bucket}/p/", "--workers", "x"),
    ("put", "{tree}/empty", "s3://{bucket}/p/", "--workers", "2"),
    ("put", "{tree}", "s3://{bucket}/p/", "--workers", "2", "--cluster", "local:2"),
    ("put", "{tree}", "s3://{bucket}/p/", "--workers", "2", "--skip-unchanged"),
    ("get", "s3://{bucket}/one.bin", "{tmp}/out", "--workers", "2"),
    ("cp", "s3://{bucket}/one.bin", "s3://{bucket}/two.bin", "--workers", "2"),
    ("sync", "{tree}", "s3://{bucket}/p/", "--workers", "2", "--delete"),
    ("sync", "{tree}", "s3://{bucket}/p/", "--workers", "2", "--delete", "--max-delete", "3"),
    ("sync", "{tree}", "s3://{bucket}/p/", "--cluster", "local:2", "--delete"),
])
@MOTO_ONLY
def test_bad_workers_values_are_one_line_and_exit_2(server, bucket, tmp_path, args):
    tree = make_tree(tmp_path / "tree", 3)
    server.client().put_object(Bucket=bucket, Key="one.bin", Body=b"1")
    done = run_cli(server, *(a.format(bucket=bucket, tree=tree, tmp=tmp_path) for a in args))
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1, done.stderr


def big_tree(root: Path) -> Path:
    for index in range(12):
        random_file(root / f"d{index % 4}" / f"big{index:02d}.bin", 11 * 1024 * 1024, seed=index)
    return root


@pytest.mark.parametrize("how, code", [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
@MOTO_ONLY
def test_stopping_put_workers_leaves_no_multipart_upload(server, bucket, tmp_path, how, code):
    tree = big_tree(tmp_path / "tree")
    s3 = server.client()
    process = subprocess.Popen([sys.executable, "-m", "s3ferry", "put", str(tree), f"s3://{bucket}/up/",
                                "--workers", "2", "--part-size", "5MiB", "--concurrency", "2"],
                               env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_when(process, lambda: bool(s3.list_multipart_uploads(Bucket=bucket).get("Uploads")), sig=how, code=code)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


@MOTO_ONLY
def test_ctrl_c_of_get_workers_leaves_no_temporary_file(server, bucket, tmp_path):
    tree = big_tree(tmp_path / "tree")
    ok(run_cli(server, "put", str(tree), f"s3://{bucket}/up/", "--part-size", "5MiB"))
    out = tmp_path / "out"
    process = subprocess.Popen([sys.executable, "-m", "s3ferry", "get", f"s3://{bucket}/up/", str(out),
                                "--workers", "2", "--part-size", "5MiB", "--concurrency", "2"],
                               env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    interrupt_when(process, lambda: any(out.rglob("*.s3ferry.tmp")))
    # the no_temporary_files fixture checks tmp_path after the test


@pytest.fixture(scope="module")
def second_moto():
    """Another S3 endpoint (a second moto server) for copies between endpoints."""
    from conftest import Server

    from s3ferry.tools.embedded import moto_server

    with moto_server() as local:
        yield Server("moto2", local.endpoint_url, local.access_key, local.secret_key)


@MOTO_ONLY
def test_a_dask_cluster_copies_between_two_endpoints(server, bucket, second_moto, tmp_path):
    """Source on another endpoint (--source-endpoint-url): the workers stream every object
    through themselves; keys and ETags equal, reported verified; per-object progress reaches
    the driver through Dask's events."""
    import asyncio

    from s3ferry import api

    far = second_moto.client()
    far.create_bucket(Bucket="far")
    seed(far, "far", "src/", 150)
    source = objects(far, "far", "src/")
    done = ok(run_cli(server, "sync", "s3://far/src/", f"s3://{bucket}/synced/", "--cluster", "local:2",
                      "--source-endpoint-url", second_moto.endpoint_url, "--report", str(tmp_path / "r.json")))
    report = json.loads((tmp_path / "r.json").read_text())
    assert report["verified"] and report["totals"]["copied"] == 150, done.stderr
    assert objects(server.client(), bucket, "synced/") == source

    ticks: list[tuple[int, int, int, int]] = []
    copied = asyncio.run(api.migrate("s3://far/src/", f"s3://{bucket}/copied/", cluster="local:2", action="cp",
                                     config=server.config(), source_endpoint_url=second_moto.endpoint_url,
                                     ticks=ticks.append))
    assert copied.verified and copied.totals()["copied"] == 150
    assert objects(server.client(), bucket, "copied/") == source
    # Ticks arrive (the last batch of a shard may come after its result: no exact sum here).
    assert ticks and all(t[2] > 0 for t in ticks) and {t[0] for t in ticks} <= set(copied.records)


@pytest.mark.parametrize("how", [("--workers", "2"), ("--cluster", "local:2")])
@MOTO_ONLY
def test_an_empty_source_prefix_deletes_nothing_on_shards(server, bucket, tmp_path, how):
    """A typo in the source prefix of a sharded sync --delete --force is refused as the
    one-process sync refuses it (exit 4), before any worker starts; the destination is intact."""
    s3 = server.client()
    for index in range(3):
        s3.put_object(Bucket=bucket, Key=f"dst/k{index}", Body=b"keep")
    s3.put_object(Bucket=bucket, Key="src/a", Body=b"a")
    done = run_cli(server, "sync", f"s3://{bucket}/scr/", f"s3://{bucket}/dst/", *how, "--delete", "--force",
                   "--report", str(tmp_path / "r.json")) if how[0] == "--cluster" else \
        run_cli(server, "sync", f"s3://{bucket}/scr/", f"s3://{bucket}/dst/", *how, "--delete", "--force")
    assert done.returncode == 4, done.stderr
    assert "holds no objects" in done.stderr and "Traceback" not in done.stderr
    assert sorted(o["Key"] for o in s3.list_objects_v2(Bucket=bucket, Prefix="dst/")["Contents"]) == \
        ["dst/k0", "dst/k1", "dst/k2"]
