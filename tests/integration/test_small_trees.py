"""Trees of small files (issue 13, helper objects): a get's local work goes several files per
worker-thread hop (a put's small read none: it is cheaper on the event loop), and a tree put or get on the lean engine never builds botocore's client
(check_bucket lists one key instead of sending HeadBucket)."""

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
    # Each file's write/rename (get) once; a small put reads its file on the event loop, no hop.
    assert sum(hops) == FILES
