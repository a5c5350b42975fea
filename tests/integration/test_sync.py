"""sync against real servers: content-exact, cached, deletes to trash, dry runs, filters."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from s3ferry.store.s3 import open_store
from s3ferry.ops.context import Context
from s3ferry.local.hashcache import HashCache
from s3ferry.core.locations import S3Location
from s3ferry.ops.sync import SyncOptions, load_filter, sync
from s3ferry.core.sync_plan import RULES

from helpers import random_file


def run_sync(server, source, dest, cache_path: Path, **options):
    excludes, includes = options.pop("excludes", []), options.pop("includes", [])
    root = source if isinstance(source, Path) else None

    async def go():
        async with open_store(server.config()) as store:
            with HashCache(cache_path) as cache:
                opts = SyncOptions(rule=RULES[options.pop("rule", "content")], cache=cache,
                                   keys=load_filter(root, excludes, includes), **options)
                return await sync(Context(store, server.config()), source, dest, opts)

    return asyncio.run(go())


def make_tree(root: Path, count: int) -> None:
    for index in range(count):
        random_file(root / f"d{index % 20:02d}" / f"f{index:05d}.bin", 100 + index % 700, seed=index)


def remote_keys(server, bucket: str, prefix: str = "") -> set[str]:
    paginator = server.client().get_paginator("list_objects_v2")
    return {o["Key"] for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])}


def test_sync_up_then_noop_then_same_size_change(server, bucket, tmp_path):
    count = 2000 if server.name == "ceph" else 300
    src, cache = tmp_path / "src", tmp_path / "cache.sqlite"
    make_tree(src, count)
    dest = S3Location(bucket, "mirror/")
    first, stats = run_sync(server, src, dest, cache)
    assert first.ok and stats.copied == count
    assert len(remote_keys(server, bucket, "mirror/")) == count

    again, stats = run_sync(server, src, dest, cache)
    assert again.ok and again.bytes == 0 and stats.copied == 0 and stats.hashed == 0 and stats.skipped == count

    # Same size, same mtime, different bytes: only a content comparison can see it.
    victim = src / "d03" / "f00003.bin"
    before = os.stat(victim)
    data = bytearray(victim.read_bytes())
    data[0] ^= 0xFF
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))
    changed, stats = run_sync(server, src, dest, cache)
    assert stats.copied == 1 and stats.hashed == 1
    body = server.client().get_object(Bucket=bucket, Key="mirror/d03/f00003.bin")["Body"].read()
    assert body == bytes(data)
    # The rules that trust size or mtime miss it, as aws s3 sync does.
    data[1] ^= 0xFF
    victim.write_bytes(bytes(data))
    os.utime(victim, ns=(before.st_atime_ns, before.st_mtime_ns))
    _, stats = run_sync(server, src, dest, cache, rule="mtime")
    assert stats.copied == 0


def test_delete_moves_to_trash_and_dry_run_changes_nothing(server, bucket, tmp_path):
    src, cache = tmp_path / "src", tmp_path / "cache.sqlite"
    make_tree(src, 10)
    dest = S3Location(bucket, "p/")
    run_sync(server, src, dest, cache)
    (src / "d01" / "f00001.bin").unlink()
    random_file(src / "new.bin", 50)
    before = remote_keys(server, bucket)

    _, stats = run_sync(server, src, dest, cache, delete=True, trash=".s3ferry-trash/t1/", dry_run=True)
    assert remote_keys(server, bucket) == before and stats.deleted == 0

    _, stats = run_sync(server, src, dest, cache, delete=True, trash=".s3ferry-trash/t1/")
    after = remote_keys(server, bucket)
    assert "p/d01/f00001.bin" not in after and "p/.s3ferry-trash/t1/d01/f00001.bin" in after
    assert "p/new.bin" in after and stats.deleted == 1

    # A further sync never treats the trash as part of the tree.
    _, stats = run_sync(server, src, dest, cache, delete=True, trash=".s3ferry-trash/t2/")
    assert stats.deleted == 0 and stats.copied == 0


def test_max_delete_refuses(server, bucket, tmp_path):
    src, cache = tmp_path / "src", tmp_path / "cache.sqlite"
    make_tree(src, 6)
    run_sync(server, src, S3Location(bucket, ""), cache)
    for path in list((src / "d00").iterdir()) + list((src / "d01").iterdir()):
        path.unlink()
    summary, stats = run_sync(server, src, S3Location(bucket, ""), cache, delete=True, max_delete=1)
    assert not summary.ok and stats.deleted == 0 and len(remote_keys(server, bucket)) == 6


def test_excludes_and_ignore_file(server, bucket, tmp_path):
    src, cache = tmp_path / "src", tmp_path / "cache.sqlite"
    for name in ("keep.txt", "skip.tmp", "build/out.o", "logs/a.log", "logs/keep.log"):
        random_file(src / name, 10)
    (src / ".s3ferryignore").write_text("build/\n*.log\n!keep.log\n")
    run_sync(server, src, S3Location(bucket, ""), cache, excludes=["*.tmp"])
    assert remote_keys(server, bucket) == {"keep.txt", "logs/keep.log"}


def test_sync_down_and_noop(server, bucket, tmp_path):
    src, cache = tmp_path / "src", tmp_path / "cache.sqlite"
    make_tree(src, 40)
    random_file(src / "big.bin", 12 * 1024 * 1024, seed=9)
    run_sync(server, src, S3Location(bucket, "t/"), cache)
    out = tmp_path / "out"
    summary, stats = run_sync(server, S3Location(bucket, "t/"), out, cache)
    assert summary.ok and stats.copied == 41
    for path in src.rglob("*"):
        if path.is_file():
            assert (out / path.relative_to(src)).read_bytes() == path.read_bytes()
    again, stats = run_sync(server, S3Location(bucket, "t/"), out, cache)
    assert again.bytes == 0 and stats.copied == 0 and stats.hashed == 0
    (out / "extra.bin").write_bytes(b"x")
    _, stats = run_sync(server, S3Location(bucket, "t/"), out, cache, delete=True)
    assert not (out / "extra.bin").exists() and stats.deleted == 1


def test_no_deletes_after_a_failed_transfer(server, bucket, tmp_path):
    """As rclone does: when part of the source could not be copied, the extras stay."""
    s3 = server.client()
    s3.put_object(Bucket=bucket, Key="t/good.txt", Body=b"good")
    s3.put_object(Bucket=bucket, Key="t/../../escape", Body=b"evil")  # refused: a failed transfer
    out = tmp_path / "out"
    out.mkdir()
    (out / "extra.bin").write_bytes(b"x")
    summary, stats = run_sync(server, S3Location(bucket, "t/"), out, tmp_path / "cache.sqlite", delete=True)
    assert not summary.ok and stats.deleted == 0
    assert (out / "extra.bin").exists() and (out / "good.txt").read_bytes() == b"good"
    assert any("not deleting 1 extra" in error for error in summary.errors)
    assert not (tmp_path / "escape").exists()
