"""GiB-scale behaviour: byte-identical round trip, bounded memory, Ctrl-C cleanup."""

from __future__ import annotations

import asyncio
import filecmp
import subprocess
import sys

import pytest
from helpers import interrupt_when, random_file, run_cli

from s3ferry.core.config import GiB, MiB
from s3ferry.core.etag import normalize
from s3ferry.core.locations import S3Location
from s3ferry.core.results import Verdict
from s3ferry.local.buffers import PartBuffers
from s3ferry.ops.context import Context
from s3ferry.ops.put import upload_file
from s3ferry.ops.trees import put_path
from s3ferry.store.s3 import open_store

RSS_PROBE = ("import resource, subprocess, sys; code = subprocess.run(sys.argv[1:]).returncode; "
             "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, code)")


def peak_rss_mib(server, *args: str) -> float:
    """Peak RSS of one CLI run, measured by a parent whose only child is that run."""
    probe = subprocess.run([sys.executable, "-c", RSS_PROBE, sys.executable, "-m", "s3ferry", *args],
                           env=server.env(), capture_output=True, text=True, timeout=600)
    kib, code = probe.stdout.split()[-2:]
    assert code == "0", probe.stderr
    return int(kib) / 1024


@pytest.mark.slow
def test_one_gib_round_trip_on_ceph(ceph, tmp_path):
    server = ceph
    bucket = "gib-round-trip"
    s3 = server.client()
    s3.create_bucket(Bucket=bucket)
    try:
        src = random_file(tmp_path / "gib.bin", GiB, seed=1)
        put = run_cli(server, "put", str(src), f"s3://{bucket}/gib.bin", "--json")
        assert put.returncode == 0, put.stderr
        assert '"verdict": "match"' in put.stdout
        head = s3.head_object(Bucket=bucket, Key="gib.bin")
        assert normalize(head["ETag"]).endswith("-128")
        out = tmp_path / "back.bin"
        get = run_cli(server, "get", f"s3://{bucket}/gib.bin", str(out), "--json")
        assert get.returncode == 0 and '"verdict": "match"' in get.stdout, get.stderr
        assert filecmp.cmp(src, out, shallow=False)
    finally:
        s3.delete_object(Bucket=bucket, Key="gib.bin")
        assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
        s3.delete_bucket(Bucket=bucket)


@pytest.mark.slow
def test_put_memory_is_bounded_and_flat_in_file_size(ceph, tmp_path):
    s3 = ceph.client()
    s3.create_bucket(Bucket="rss")
    try:
        small = random_file(tmp_path / "256m.bin", 256 * MiB, seed=2)
        large = random_file(tmp_path / "1g.bin", GiB, seed=3)
        options = ("--part-size", "8MiB", "--concurrency", "8", "--quiet")
        rss_small = peak_rss_mib(ceph, "put", str(small), "s3://rss/small", *options)
        rss_large = peak_rss_mib(ceph, "put", str(large), "s3://rss/large", *options)
        print(f"peak RSS: 256 MiB file {rss_small:.0f} MiB, 1 GiB file {rss_large:.0f} MiB")
        assert rss_large < 300
        # Four times the bytes may not cost more memory: allow allocator noise, not growth.
        assert rss_large < rss_small + 32
    finally:
        for key in ("small", "large"):
            s3.delete_object(Bucket="rss", Key=key)
        s3.delete_bucket(Bucket="rss")


def test_part_buffers_stay_within_the_memory_budget(server, bucket, tmp_path):
    """16 requests may be in flight, but the part buffers held at once (lent or free, counted
    by the pool itself at its peak) never exceed the budget: four 5 MiB parts."""
    src = random_file(tmp_path / "40m.bin", 40 * MiB, seed=5)
    config = server.config(part_size=5 * MiB, multipart_threshold=5 * MiB, max_concurrency=16,
                           part_memory=15 * MiB)

    async def put() -> tuple[object, int]:
        async with open_store(config) as store:
            buffers = PartBuffers(config.part_budget)
            result = await upload_file(Context(store, config, buffers=buffers), src,
                                       S3Location(bucket, "40m.bin"))
            return result, buffers.peak

    result, peak = asyncio.run(put())
    assert result.verdict is Verdict.MATCH, result  # type: ignore[attr-defined]
    assert config.part_budget == 20 * MiB  # 15 MiB, raised to room for 4 parts
    assert 5 * MiB < peak <= 20 * MiB  # parts did overlap, within the budget
    head = server.client().head_object(Bucket=bucket, Key="40m.bin")
    assert normalize(head["ETag"]).endswith("-8")


class _Watched(PartBuffers):
    """Records the most bytes reserved at once."""

    most = 0

    async def reserve(self, size: int) -> None:
        await super().reserve(size)
        self.most = max(self.most, self._reserved)


def test_single_puts_above_a_direct_read_count_in_the_part_budget(server, bucket, tmp_path):
    """Ten 3 MiB files go as single PUTs, 16 at a time: their bytes wait for room in the part
    budget (20 MiB) as parts do, instead of 30 MiB read at once; every byte comes back."""
    for n in range(10):
        random_file(tmp_path / "tree" / f"f{n}.bin", 3 * MiB, seed=n)
    config = server.config(part_size=5 * MiB, multipart_threshold=8 * MiB, max_concurrency=16,
                           part_memory=15 * MiB)

    async def put() -> tuple[object, _Watched]:
        async with open_store(config) as store:
            buffers = _Watched(config.part_budget)
            summary = await put_path(Context(store, config, buffers=buffers), tmp_path / "tree",
                                     S3Location(bucket, "tree/"))
            return summary, buffers

    summary, buffers = asyncio.run(put())
    assert summary.ok and summary.verified == 10, summary  # type: ignore[attr-defined]
    assert 3 * MiB <= buffers.most <= 20 * MiB
    assert buffers._reserved == 0


def test_a_failed_part_leaves_the_budget_whole(server, bucket, tmp_path):
    """One part fails while others are being read or sent (and are cancelled): every byte
    reserved comes back, and only reusable buffers are still counted."""
    src = random_file(tmp_path / "40m.bin", 40 * MiB, seed=6)
    config = server.config(part_size=5 * MiB, multipart_threshold=5 * MiB, max_concurrency=8,
                           part_memory=20 * MiB, max_attempts=1)

    async def put() -> tuple[object, PartBuffers]:
        async with open_store(config) as store:
            send = store.upload_part

            async def failing(loc, upload_id, number, *args, **kwargs):  # type: ignore[no-untyped-def]
                if number == 3:
                    raise OSError("disk on fire")
                return await send(loc, upload_id, number, *args, **kwargs)

            store.upload_part = failing  # type: ignore[method-assign]
            buffers = PartBuffers(config.part_budget)
            result = await upload_file(Context(store, config, buffers=buffers), src, S3Location(bucket, "40m.bin"))
            return result, buffers

    result, buffers = asyncio.run(put())
    assert result.error and "disk on fire" in result.error, result  # type: ignore[attr-defined]
    assert buffers._reserved == 0
    assert buffers._held == sum(len(b) for b in buffers._free)
    assert server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []


def test_sigint_aborts_the_multipart_upload(server, bucket, tmp_path):
    src = random_file(tmp_path / "big.bin", 256 * MiB, seed=4)
    s3 = server.client()
    process = subprocess.Popen(
        [sys.executable, "-m", "s3ferry", "put", str(src), f"s3://{bucket}/big.bin", "-c", "1",
         "--part-size", "5MiB"], env=server.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    def part_stored() -> bool:
        uploads = s3.list_multipart_uploads(Bucket=bucket).get("Uploads", [])
        return bool(uploads and s3.list_parts(Bucket=bucket, Key="big.bin",
                                              UploadId=uploads[0]["UploadId"]).get("Parts"))

    interrupt_when(process, part_stored, deadline=60)
    assert s3.list_multipart_uploads(Bucket=bucket).get("Uploads", []) == []
    assert "Contents" not in s3.list_objects_v2(Bucket=bucket)
