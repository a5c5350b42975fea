"""The per-object shortcuts of the small-file paths (issue 13): batched hash-cache writes and
lookups, results a job producer decides on the spot, one worker-thread hop per small get and
per single PUT. Each keeps the guarantee of the path it shortcuts."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import anyio
import pytest

from s3ferry.core.config import DOWNLOAD_CHUNK, Config
from s3ferry.core.errors import SourceChangedError, UnsafeKeyError
from s3ferry.core.locations import S3Location
from s3ferry.core.results import Summary, TransferResult, Verdict
from s3ferry.core.sync_plan import Action, Item, Step
from s3ferry.core.md5lanes import Md5
from s3ferry.local import hashcache, lanes
from s3ferry.local.hashcache import HashCache
from s3ferry.ops import get as get_ops
from s3ferry.ops import get_small
from s3ferry.ops import put as put_ops
from s3ferry.ops.jobs import run_jobs
from s3ferry.ops.remote import RemoteObject
from s3ferry.ops.sync_judge import vouched


def _rows(db: Path) -> int:
    with sqlite3.connect(db) as conn:
        return conn.execute("SELECT count(*) FROM known_etags").fetchone()[0]


# ---- the hash cache -------------------------------------------------------------------------

def test_remembered_rows_are_known_at_once_and_written_in_batches(tmp_path):
    files = []
    for i in range(hashcache.WRITE_BATCH + 6):
        f = tmp_path / f"f{i}"
        f.write_bytes(b"x")
        files.append(f)
    db = tmp_path / "cache.sqlite"
    cache = HashCache(db)
    for f in files[:3]:
        cache.remember(f, os.stat(f), "etag")
    assert _rows(db) == 0  # queued, not yet written
    assert cache.knows(files[0], os.stat(files[0]), "etag")  # a lookup sees the queue
    assert _rows(db) == 3
    for f in files[3:]:
        cache.remember(f, os.stat(f), "etag")
    assert _rows(db) == 3 + hashcache.WRITE_BATCH  # a full batch went out in one transaction
    cache.close()
    assert _rows(db) == len(files)  # the rest on close
    with HashCache(db) as again:
        assert all(again.knows(f, os.stat(f), "etag") for f in files)


# ---- sync: cache lookups a batch at a time -------------------------------------------------

class _Judge:
    """ContentJudge's batch lookup, recorded: which files were asked, in which batches."""

    def __init__(self, known: set[str]):
        self.cache = object()
        self.known_names = known
        self.batches: list[list[str]] = []

    async def known(self, pairs):
        self.batches.append([path.name for path, _ in pairs])
        return [path.name in self.known_names for path, _ in pairs]


def _step(action: Action, key: str) -> Step:
    item = Item(key, 1, 0.0, '"0cc175b9c0f1b6a831c399e269772661"')
    return Step(action, key, item, item, "same size")


async def _drain(judge, steps, batch):
    async def produce():
        for step in steps:
            yield step
    return [(step.key, hit) async for step, hit in vouched(judge, produce(), lambda s: (Path(s.key), "etag"), batch)]


def test_vouched_batches_compare_steps_and_passes_the_others_through():
    steps = [_step(Action.COMPARE, "a"), _step(Action.COPY, "b"), _step(Action.COMPARE, "c"),
             _step(Action.COMPARE, "d"), _step(Action.COMPARE, "e")]
    judge = _Judge({"a", "d"})
    out = anyio.run(_drain, judge, steps, 2)
    assert judge.batches == [["a", "c"], ["d", "e"]]
    assert sorted(out) == [("a", True), ("b", False), ("c", False), ("d", True), ("e", False)]
    assert out[0] == ("b", False)  # a copy is not held back behind a batch of lookups


def test_vouched_without_a_cache_looks_nothing_up():
    judge = _Judge({"a"})
    judge.cache = None
    out = anyio.run(_drain, judge, [_step(Action.COMPARE, "a")], 8)
    assert out == [("a", False)] and judge.batches == []


def test_known_stats_each_file_and_misses_changed_or_missing_ones(tmp_path):
    from s3ferry.ops.sync_judge import ContentJudge

    same, changed = tmp_path / "same", tmp_path / "changed"
    for f in (same, changed):
        f.write_bytes(b"a")
    etag = hashlib.md5(b"a").hexdigest()
    with HashCache(tmp_path / "cache.sqlite") as cache:
        for f in (same, changed):
            cache.remember(f, os.stat(f), etag)
        changed.write_bytes(b"b")
        judge = ContentJudge.__new__(ContentJudge)
        judge.cache = cache
        pairs = [(same, f'"{etag}"'), (changed, f'"{etag}"'), (tmp_path / "gone", f'"{etag}"'), (same, None)]
        assert anyio.run(judge.known, pairs) == [True, False, False, False]


# ---- run_jobs: results decided by the producer -------------------------------------------------

def test_run_jobs_counts_a_ready_result_without_running_it():
    ran = []

    async def job() -> TransferResult:
        ran.append(1)
        return TransferResult("get", "s", "d", 5, verdict=Verdict.MATCH)

    async def jobs():
        yield TransferResult("skip", "s", "d", 7, verdict=Verdict.MATCH)
        yield job

    ctx = SimpleNamespace(config=Config(), progress=SimpleNamespace(finished=lambda r: None))
    summary = anyio.run(run_jobs, ctx, jobs(), Summary("sync"))
    assert ran == [1] and summary.files == 2


# ---- get: one hop per small object -------------------------------------------------------------

def _obj(size: int, etag: str) -> RemoteObject:
    return RemoteObject(S3Location("b", "k"), size, f'"{etag}"', None)


def test_one_request_takes_only_small_single_put_objects():
    ctx = SimpleNamespace(config=Config(part_size=8 << 20))
    md5 = "0" * 32
    assert get_small.one_request(ctx, _obj(DOWNLOAD_CHUNK, md5))
    assert get_small.one_request(ctx, _obj(0, md5))
    assert not get_small.one_request(ctx, _obj(DOWNLOAD_CHUNK + 1, md5))  # held whole: more than streaming holds
    assert not get_small.one_request(SimpleNamespace(config=Config(part_size=5 << 20)), _obj(6 << 20, md5))
    assert not get_small.one_request(ctx, _obj(10, md5 + "-1"))  # a multipart ETag: layout rules
    assert not get_small.one_request(ctx, RemoteObject(S3Location("b", "k"), 10, "", None))  # no ETag


def _write_small(*args):
    """write_small's lane job run alone, as a batch of one runs it."""
    md5 = Md5()
    return lanes.drive_one(md5, get_small.write_small(md5, *args))


def test_small_write_installs_a_verified_file_with_the_object_mtime(tmp_path):
    dest = tmp_path / "sub" / "f"
    data = [b"hello ", b"world"]
    digest = hashlib.md5(b"hello world").digest()
    stamp = datetime(2020, 1, 2, tzinfo=UTC)
    with HashCache(tmp_path / "cache.sqlite") as cache:
        got, installed = _write_small(get_ops.temp_path(dest), dest, data, digest, stamp,
                                              (tmp_path, "sub/f"), cache)
        assert (got, installed) == (digest, True)
        assert dest.read_bytes() == b"hello world" and os.stat(dest).st_mtime == stamp.timestamp()
        assert not get_ops.temp_path(dest).exists()
        assert cache.knows(dest, os.stat(dest), digest.hex())


def test_small_write_keeps_a_mismatch_in_the_temporary_file_only(tmp_path):
    dest = tmp_path / "f"
    got, installed = _write_small(get_ops.temp_path(dest), dest, [b"flipped"], b"\0" * 16, None, None, None)
    assert not installed and got == hashlib.md5(b"flipped").digest()
    assert not dest.exists() and get_ops.temp_path(dest).read_bytes() == b"flipped"  # for the judge
    get_ops.temp_path(dest).unlink()  # what _download_small does after judging


def test_small_write_refuses_a_link_out_of_the_root_before_creating_anything(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (root / "sub").symlink_to(outside)
    dest = root / "sub" / "f"
    with pytest.raises(UnsafeKeyError):
        _write_small(get_ops.temp_path(dest), dest, [b"x"], None, None, (root, "sub/f"), None)
    assert list(outside.iterdir()) == []


def test_small_write_leaves_no_temporary_file_when_the_write_fails(tmp_path, monkeypatch):
    dest = tmp_path / "f"

    def broken(*args):
        raise OSError(28, "No space left on device")
        yield b""  # a lane job, which fails at its first step

    monkeypatch.setattr(get_small.fileio, "write_job", broken)
    with pytest.raises(OSError):
        _write_small(get_ops.temp_path(dest), dest, [b"x"], None, None, None, None)
    assert list(tmp_path.iterdir()) == []


# ---- put: one hop per single PUT ---------------------------------------------------------------

def test_open_and_read_reads_a_single_put_and_only_opens_a_multipart_file(tmp_path):
    small = tmp_path / "small"
    small.write_bytes(b"abc")
    fd, info, whole = put_ops._open_and_read(small, threshold=4, crc=False)
    try:
        assert info.st_size == 3 and whole is not None
        data, digest, crc = whole
        assert bytes(data) == b"abc" and digest == hashlib.md5(b"abc").digest() and crc is None
    finally:
        os.close(fd)
    fd, info, whole = put_ops._open_and_read(small, threshold=3, crc=False)  # at the threshold: multipart
    os.close(fd)
    assert whole is None


def test_open_and_read_closes_the_file_when_the_read_fails(tmp_path, monkeypatch):
    f = tmp_path / "f"
    f.write_bytes(b"abc")
    opened = []
    real_open = os.open

    def tracking_open(*args, **kwargs):
        fd = real_open(*args, **kwargs)
        opened.append(fd)
        return fd

    def changed(fd, before):
        raise SourceChangedError("file changed while it was being uploaded")

    monkeypatch.setattr(put_ops.fileio.os, "open", tracking_open)
    monkeypatch.setattr(put_ops.fileio, "read_whole", changed)
    with pytest.raises(SourceChangedError):
        put_ops._open_and_read(f, threshold=100, crc=False)
    with pytest.raises(OSError):
        os.fstat(opened[0])  # closed
