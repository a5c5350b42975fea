"""Trees of small files (issue 13, helper objects): a get's local work goes several files per
worker-thread hop (a small put reads on the event loop, no hop), and a tree put or get on the lean engine never builds botocore's client; on
the default path with credentials in the environment, the CLI does not even import botocore's
session and client machinery or aiohttp (store/environ.py)."""

from __future__ import annotations

import asyncio
import hashlib
import os

from s3ferry.core.locations import parse_s3_url
from s3ferry.core.results import NoProgress
from s3ferry.ops import batched
from s3ferry.ops.context import Context
from s3ferry.ops.trees import get_path, put_path
from s3ferry.store.s3 import open_store
from helpers import run_cli

FILES = 40


def test_a_small_tree_round_trips_in_batched_hops_without_a_botocore_client(server, bucket, tmp_path, monkeypatch):
    source = tmp_path / "src"
    source.mkdir()
    bodies = {f"f{i:03d}.bin": os.urandom(1000 + i) for i in range(FILES)}
    for name, body in bodies.items():
        (source / name).write_bytes(body)
    hops: list[int] = []
    real = batched._run_all
    monkeypatch.setattr(batched, "_run_all", lambda calls: (hops.append(len(calls)), real(calls))[1])

    async def main() -> tuple[int, int, bool]:
        async with open_store(server.config()) as store:
            ctx = Context(store, server.config(), NoProgress())
            put = await put_path(ctx, source, parse_s3_url(f"s3://{bucket}/tree/"))
            got = await get_path(ctx, parse_s3_url(f"s3://{bucket}/tree/"), tmp_path / "out", into_folder=True)
            return put.exit_code, got.exit_code, getattr(store.client, "built", True)

    put_code, get_code, built = asyncio.run(main())
    assert (put_code, get_code) == (0, 0)
    if server.engine in (None, "lean"):  # the default engine
        assert not built  # every request of a small tree went on the lean path
    out = tmp_path / "out"
    assert {p.name: hashlib.md5(p.read_bytes()).digest() for p in out.iterdir()} == \
        {name: hashlib.md5(body).digest() for name, body in bodies.items()}  # no temporary file left
    # Each file's write/rename (get) once; a small put reads and hashes its file on the event
    # loop (with MD5 lanes, side by side with the other files of the same loop pass), no hop.
    assert sum(hops) == FILES


# What a light start never imports (~0.4 CPU-s of start-up, benchmarks/profile.md).
HEAVY = ("aiohttp", "aiobotocore", "botocore.session", "botocore.client", "botocore.auth", "tenacity")


def _imported(stderr: str) -> set[str]:
    """Module names from Python's -X importtime lines (PYTHONPROFILEIMPORTTIME)."""
    return {line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")}


def test_a_tree_put_and_get_start_without_botocores_session_or_aiohttp(server, bucket, tmp_path):
    source = tmp_path / "src"
    source.mkdir()
    for i in range(5):
        (source / f"f{i}.bin").write_bytes(os.urandom(2000 + i))
    env = {**server.env(), "PYTHONPROFILEIMPORTTIME": "1", "AWS_CONFIG_FILE": str(tmp_path / "none")}
    put = run_cli(server, "put", str(source), f"s3://{bucket}/light/", env=env)
    got = run_cli(server, "get", f"s3://{bucket}/light/", str(tmp_path / "out"), env=env)
    assert (put.returncode, got.returncode) == (0, 0), put.stderr[-2000:] + got.stderr[-2000:]
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == sorted(p.name for p in source.iterdir())
    heavy = {m for m in _imported(put.stderr) | _imported(got.stderr) if m.startswith(HEAVY)}
    if server.engine is None and server.http is None:  # the default path: lean engine, raw HTTP
        assert heavy == set()
    else:
        assert heavy  # the check can see them: other paths do import them


def test_a_light_start_builds_botocores_session_for_a_request_only_it_sends(server, bucket, tmp_path):
    (tmp_path / "one").write_bytes(b"x" * 100)
    env = {**server.env(), "PYTHONPROFILEIMPORTTIME": "1", "AWS_CONFIG_FILE": str(tmp_path / "none")}
    assert run_cli(server, "put", str(tmp_path / "one"), f"s3://{bucket}/one", env=env).returncode == 0
    tagged = run_cli(server, "stat", f"s3://{bucket}/one", env=env)
    assert tagged.returncode == 0, tagged.stderr[-2000:]
    assert "botocore.client" in _imported(tagged.stderr)  # GetObjectTagging: botocore's client, built late
    removed = run_cli(server, "rm", f"s3://{bucket}/one", env=env)
    assert removed.returncode == 0, removed.stderr[-2000:]
    assert "Contents" not in server.client().list_objects_v2(Bucket=bucket, Prefix="one")
