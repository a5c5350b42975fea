"""Issue 11, "Nothing lost": typos, symlinks, odd keys, signals, short reads, outages and
encrypted buckets. Each test drives the real CLI (or the public API) against a real server,
and each failed on the code before the fix (see /work/plan/notes-safe.md)."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest

import s3ferry
from s3ferry.core.config import MiB

from faultproxy import FaultProxy
from helpers import Collect, md5_file, proxy_in_front, random_file, signalled

moto_only = pytest.mark.parametrize("server", ["moto"], indirect=True)
TMP_GLOB = "*.s3ferry.tmp"


def cli(server, tmp_path: Path, *args: str, endpoint: str | None = None, timeout: float = 300,
        **kwargs) -> subprocess.CompletedProcess[str]:
    """The real CLI, with its caches inside the test's folder (never the user's)."""
    return subprocess.run([sys.executable, "-m", "s3ferry", *args], env=_env(server, tmp_path, endpoint),
                          capture_output=True, text=True, timeout=timeout, **kwargs)


def start(server, tmp_path: Path, *args: str, endpoint: str | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen([sys.executable, "-m", "s3ferry", *args], env=_env(server, tmp_path, endpoint),
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _env(server, tmp_path: Path, endpoint: str | None) -> dict[str, str]:
    env = {**server.env(), "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    if endpoint is not None:
        env["S3FERRY_ENDPOINT_URL"] = endpoint
    return env


def no_traceback(result: subprocess.CompletedProcess[str]) -> None:
    assert "Traceback" not in result.stderr and "internal error" not in result.stderr, result.stderr


def keys(server, bucket: str, prefix: str = "") -> set[str]:
    paginator = server.client().get_paginator("list_objects_v2")
    return {o["Key"] for page in paginator.paginate(Bucket=bucket, Prefix=prefix) for o in page.get("Contents", [])}


def uploads(server, bucket: str) -> list[dict]:
    return server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def put_objects(server, bucket: str, objects: dict[str, bytes]) -> None:
    s3 = server.client()
    for key, body in objects.items():
        s3.put_object(Bucket=bucket, Key=key, Body=body)


def files_under(root: Path) -> set[str]:
    return {p.relative_to(root).as_posix() for p in root.rglob("*") if p.is_file() or p.is_symlink()}


def temporaries(root: Path) -> list[Path]:
    return [p for p in root.rglob(TMP_GLOB)]


# ---- 1. a mistyped sync source deletes nothing ---------------------------------------------

@moto_only
def test_sync_from_missing_local_folder_deletes_nothing(server, bucket, tmp_path):
    put_objects(server, bucket, {f"data/f{i}": b"x" * i for i in range(5)})
    result = cli(server, tmp_path, "sync", str(tmp_path / "typo"), f"s3://{bucket}/data/", "--delete", "--no-trash")
    no_traceback(result)
    assert result.returncode in (4, 7), result.stderr
    assert "typo" in result.stderr
    assert keys(server, bucket) == {f"data/f{i}" for i in range(5)}


@moto_only
def test_sync_from_a_file_is_refused(server, bucket, tmp_path):
    put_objects(server, bucket, {"data/a": b"a"})
    (tmp_path / "plain.txt").write_text("not a folder")
    result = cli(server, tmp_path, "sync", str(tmp_path / "plain.txt"), f"s3://{bucket}/data/", "--delete")
    no_traceback(result)
    assert result.returncode in (4, 7), result.stderr
    assert keys(server, bucket) == {"data/a"}


@moto_only
def test_sync_from_empty_prefix_keeps_local_files(server, bucket, tmp_path):
    dest = tmp_path / "data"
    for i in range(3):
        random_file(dest / f"f{i}.bin", 100, seed=i)
    result = cli(server, tmp_path, "sync", f"s3://{bucket}/typo/", str(dest), "--delete")
    no_traceback(result)
    assert result.returncode != 0 and "--allow-empty-source" in result.stderr, result.stderr
    assert files_under(dest) == {"f0.bin", "f1.bin", "f2.bin"}
    allowed = cli(server, tmp_path, "sync", f"s3://{bucket}/typo/", str(dest), "--delete",
                  "--allow-empty-source", "--force")
    assert allowed.returncode == 0, allowed.stderr
    assert files_under(dest) == set()


@moto_only
def test_sync_refuses_to_delete_most_of_the_destination(server, bucket, tmp_path):
    """--max-delete takes a share (default 50%) as rclone bisync does; --force overrides."""
    put_objects(server, bucket, {f"data/f{i}": b"x" for i in range(10)})
    src = tmp_path / "src"
    for i in range(4):  # 6 of the 10 objects would go: 60%
        (src / f"f{i}").parent.mkdir(parents=True, exist_ok=True)
        (src / f"f{i}").write_bytes(b"x")
    refused = cli(server, tmp_path, "sync", str(src), f"s3://{bucket}/data/", "--delete", "--no-trash")
    no_traceback(refused)
    assert refused.returncode != 0 and "--force" in refused.stderr, refused.stderr
    assert len(keys(server, bucket, "data/")) == 10
    share = cli(server, tmp_path, "sync", str(src), f"s3://{bucket}/data/", "--delete", "--no-trash",
                "--max-delete", "70%")
    assert share.returncode == 0, share.stderr
    assert keys(server, bucket, "data/") == {f"data/f{i}" for i in range(4)}


@moto_only
def test_sync_max_delete_refuses_a_bad_percentage(server, bucket, tmp_path):
    (tmp_path / "src").mkdir()
    result = cli(server, tmp_path, "sync", str(tmp_path / "src"), f"s3://{bucket}/data/", "--delete",
                 "--max-delete", "150%")
    no_traceback(result)
    assert result.returncode == 2, result.stderr


# ---- 2. symlinks ------------------------------------------------------------------------------

@moto_only
def test_put_of_a_tree_with_a_symlink_loop_uploads_each_file_once(server, bucket, tmp_path):
    root = tmp_path / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_text("a")
    (root / "sub" / "b.txt").write_text("b")
    (root / "sub" / "up").symlink_to("..")
    (root / "loop").symlink_to("loop")  # a link to itself
    result = cli(server, tmp_path, "put", str(root), f"s3://{bucket}/p/")
    no_traceback(result)
    assert keys(server, bucket) == {"p/a.txt", "p/sub/b.txt"}
    assert "up" in result.stderr  # the skipped loop is named


@moto_only
def test_put_follows_file_symlinks_unless_told_not_to(server, bucket, tmp_path):
    root = tmp_path / "tree"
    root.mkdir()
    (root / "a.txt").write_text("a")
    (root / "link.txt").symlink_to("a.txt")
    result = cli(server, tmp_path, "put", str(root), f"s3://{bucket}/p/")
    assert result.returncode == 0, result.stderr
    assert keys(server, bucket) == {"p/a.txt", "p/link.txt"}
    result = cli(server, tmp_path, "put", str(root), f"s3://{bucket}/q/", "--no-follow-symlinks")
    assert result.returncode == 0, result.stderr
    assert keys(server, bucket, "q/") == {"q/a.txt"}


@moto_only
def test_a_directory_reached_twice_is_walked_once(server, bucket, tmp_path):
    root = tmp_path / "tree"
    (root / "real").mkdir(parents=True)
    (root / "real" / "x.txt").write_text("x")
    (root / "alias").symlink_to("real")
    result = cli(server, tmp_path, "put", str(root), f"s3://{bucket}/p/")
    no_traceback(result)
    assert keys(server, bucket) == {"p/real/x.txt"}  # "alias" (first in order) is the link: skipped


@moto_only
def test_sync_delete_never_reaches_through_a_symlinked_folder(server, bucket, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "precious.txt").write_text("keep me")
    put_objects(server, bucket, {f"src/f{i}": b"x" for i in range(3)} | {"src/ext/new.txt": b"new"})
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "ext").symlink_to(outside)
    result = cli(server, tmp_path, "sync", f"s3://{bucket}/src/", str(dest), "--delete")
    no_traceback(result)
    assert (outside / "precious.txt").read_text() == "keep me"
    assert not (outside / "new.txt").exists()  # never written through the link either
    assert (dest / "f0").exists()


@moto_only
def test_get_never_writes_through_a_symlinked_folder(server, bucket, tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    put_objects(server, bucket, {"p/ok.txt": b"ok", "p/ext/new.txt": b"new"})
    dest = tmp_path / "dest"
    dest.mkdir()
    (dest / "ext").symlink_to(outside)
    result = cli(server, tmp_path, "get", f"s3://{bucket}/p/", str(dest))
    no_traceback(result)
    assert result.returncode != 0 and "ext/new.txt" in result.stderr, result.stderr
    assert list(outside.iterdir()) == []
    assert (dest / "ok.txt").read_bytes() == b"ok"


# ---- 3. SSE-KMS / SSE-C: ETags that are not MD5s ----------------------------------------------

@pytest.fixture
def kms_proxy(server):
    with proxy_in_front(server) as proxy:
        proxy.set_fault("opaque_etag")
        yield proxy


@moto_only
def test_multipart_put_into_a_kms_bucket_is_unverifiable_not_failed(server, bucket, tmp_path, kms_proxy):
    src = random_file(tmp_path / "big.bin", 12 * MiB, seed=3)
    result = cli(server, tmp_path, "put", str(src), f"s3://{bucket}/big.bin", "--part-size", "5MiB",
                 "--json", endpoint=kms_proxy.url)
    no_traceback(result)
    assert result.returncode == 0, result.stderr
    assert '"unverifiable"' in result.stdout
    assert kms_proxy.stats.faults("opaque_etag")
    # Each part was sent once: an opaque part ETag is no reason to send it again.
    puts = [r for r in kms_proxy.stats.log if r.method == "PUT" and "partNumber" in r.path]
    assert len(puts) == 3, [r.path for r in puts]
    assert "big.bin" in keys(server, bucket)
    # With --require-verify, an opaque ETag fails the put (exit 3), and no upload is left.
    strict = cli(server, tmp_path, "put", str(src), f"s3://{bucket}/strict.bin", "--part-size", "5MiB",
                 "--require-verify", endpoint=kms_proxy.url)
    assert strict.returncode == 3, strict.stderr
    assert uploads(server, bucket) == []


@moto_only
def test_kms_copy_never_deletes_the_destination(server, bucket, tmp_path, kms_proxy):
    data = os.urandom(12 * MiB)
    s3 = server.client()
    from helpers import boto3_multipart
    boto3_multipart(s3, bucket, "src/obj", data, 5 * MiB)
    s3.put_object(Bucket=bucket, Key="dst/obj", Body=b"old")
    result = cli(server, tmp_path, "sync", f"s3://{bucket}/src/", f"s3://{bucket}/dst/", "--part-size", "5MiB",
                 endpoint=kms_proxy.url)
    no_traceback(result)
    assert "dst/obj" in keys(server, bucket), result.stderr
    assert s3.get_object(Bucket=bucket, Key="dst/obj")["Body"].read() == data
    assert result.returncode == 0, result.stderr


# ---- 4. keys that map to one path ------------------------------------------------------------

@moto_only
def test_get_refuses_keys_that_map_to_one_path(server, bucket, tmp_path):
    put_objects(server, bucket, {"p/a/b": b"plain", "p/a//b": b"double", "p/a/./b": b"dot", "p/c/": b"not empty",
                                 "p/ok": b"ok"})
    dest = tmp_path / "out"
    result = cli(server, tmp_path, "get", f"s3://{bucket}/p/", str(dest))
    no_traceback(result)
    assert result.returncode != 0, result.stderr
    for odd in ("p/a//b", "p/a/./b", "p/c/"):
        assert odd in result.stderr, (odd, result.stderr)
    assert (dest / "a" / "b").read_bytes() == b"plain"
    assert (dest / "ok").read_bytes() == b"ok"
    assert temporaries(dest) == []


@moto_only
def test_sync_down_never_deletes_a_file_an_odd_key_maps_to(server, bucket, tmp_path):
    put_objects(server, bucket, {"p/keep": b"keep", "p/x//y": b"remote"})
    dest = tmp_path / "dest"
    (dest / "x").mkdir(parents=True)
    (dest / "keep").write_bytes(b"keep")
    (dest / "x" / "y").write_bytes(b"mine")
    result = cli(server, tmp_path, "sync", f"s3://{bucket}/p/", str(dest), "--delete", "--force")
    no_traceback(result)
    assert result.returncode != 0 and "x//y" in result.stderr, result.stderr
    assert (dest / "x" / "y").read_bytes() == b"mine"


@moto_only
def test_verify_never_reads_outside_its_folder(server, bucket, tmp_path):
    outside = tmp_path / "etc" / "secret"
    outside.parent.mkdir()
    outside.write_bytes(b"secret")
    root = tmp_path / "root"
    root.mkdir()
    put_objects(server, bucket, {"p/" + str(outside): b"secret"})  # p//tmp/.../etc/secret
    result = cli(server, tmp_path, "verify", str(root), f"s3://{bucket}/p/", "--json")
    no_traceback(result)
    assert result.returncode != 0, result.stdout
    assert '"match"' not in result.stdout


# ---- 5. deleted files stay deleted; an empty get says so --------------------------------------

@moto_only
def test_get_of_a_prefix_leaves_the_trash_out(server, bucket, tmp_path):
    put_objects(server, bucket, {"p/a.txt": b"a", "p/.s3ferry-trash/20260101T000000Z/old.txt": b"old"})
    dest = tmp_path / "out"
    result = cli(server, tmp_path, "get", f"s3://{bucket}/p/", str(dest))
    assert result.returncode == 0, result.stderr
    assert files_under(dest) == {"a.txt"}


@moto_only
@pytest.mark.parametrize("where", ["typo/", "typo"])
def test_get_of_an_empty_prefix_says_nothing_matched(server, bucket, tmp_path, where):
    put_objects(server, bucket, {"data/a.txt": b"a"})
    result = cli(server, tmp_path, "get", f"s3://{bucket}/{where}", str(tmp_path / "out"))
    no_traceback(result)
    assert result.returncode == 4, result.stderr
    assert "typo" in result.stderr


# ---- 6. the hash cache never remembers bytes it did not send ----------------------------------

class EditAfterUpload(Collect):
    """Rewrites a file (same size, other bytes) as soon as its upload reports back: after the
    transfer, before sync can store the file's stat in the hash cache."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path

    def finished(self, result) -> None:  # type: ignore[no-untyped-def]
        super().finished(result)
        if result.source == str(self.path) and result.op == "put":
            self.path.write_bytes(b"B" * self.path.stat().st_size)


@moto_only
def test_a_file_edited_during_its_upload_is_sent_again(server, bucket, tmp_path):
    src = tmp_path / "src"
    src.mkdir()
    target = src / "edited.txt"
    target.write_bytes(b"A" * 1000)
    cache = tmp_path / "cache.sqlite"
    url = f"s3://{bucket}/p/"
    first = asyncio.run(s3ferry.sync(src, url, config=server.config(), progress=EditAfterUpload(target),
                                     cache_path=cache))
    assert first.ok
    second = asyncio.run(s3ferry.sync(src, url, config=server.config(), cache_path=cache))
    assert second.copied == 1, second
    body = server.client().get_object(Bucket=bucket, Key="p/edited.txt")["Body"].read()
    assert body == b"B" * 1000


# ---- 7. SIGTERM and SIGHUP are Ctrl-C -----------------------------------------------------------

def _stall_parts(proxy: FaultProxy) -> None:
    # Part 2 is held forever: the upload exists, and the process waits on it. Wait on the stall
    # being taken (injected), not on its record, which is written only when the client gives up.
    proxy.set_fault("stall", stall_seconds=None, match=lambda method, target: "partNumber=2" in target)


def _wait_for(predicate, process: subprocess.Popen[str], what: str) -> None:
    end = time.monotonic() + 120
    while not predicate():
        if process.poll() is not None:
            raise AssertionError(f"ended before {what}: {process.communicate()}")
        if time.monotonic() > end:
            process.kill()
            raise AssertionError(f"never {what}")
        time.sleep(0.05)


@moto_only
@pytest.mark.parametrize(("sig", "code"), [(signal.SIGTERM, 143), (signal.SIGHUP, 129)])
def test_sigterm_and_sighup_abort_the_upload(server, bucket, tmp_path, sig, code):
    src = random_file(tmp_path / "big.bin", 16 * MiB, seed=7)
    with proxy_in_front(server) as proxy:
        _stall_parts(proxy)
        process = start(server, tmp_path, "put", str(src), f"s3://{bucket}/big.bin", "--part-size", "5MiB",
                        "-c", "2", endpoint=proxy.url)
        _wait_for(lambda: proxy.injected("stall"), process, "a part was in flight")
        returncode, _, stderr = signalled(process, sig)
    assert returncode == code, stderr
    assert "Traceback" not in stderr
    assert uploads(server, bucket) == []


@moto_only
def test_sigterm_with_keep_partial_keeps_the_upload(server, bucket, tmp_path):
    src = random_file(tmp_path / "big.bin", 16 * MiB, seed=7)
    with proxy_in_front(server) as proxy:
        _stall_parts(proxy)
        process = start(server, tmp_path, "put", str(src), f"s3://{bucket}/big.bin", "--part-size", "5MiB",
                        "-c", "2", "--keep-partial", endpoint=proxy.url)
        _wait_for(lambda: proxy.injected("stall"), process, "a part was in flight")
        returncode, _, stderr = signalled(process, signal.SIGTERM)
    assert returncode == 143, stderr
    kept = uploads(server, bucket)
    for upload in kept:  # the bucket fixture insists on none left
        server.client().abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    assert len(kept) == 1


@moto_only
def test_sigterm_during_a_get_leaves_no_temporary_file(server, bucket, tmp_path):
    s3 = server.client()
    s3.put_object(Bucket=bucket, Key="big.bin", Body=os.urandom(12 * MiB))
    dest = tmp_path / "out"
    with proxy_in_front(server) as proxy:
        proxy.set_fault("stall", stall_seconds=None, methods={"GET"},
                        match=lambda method, target: "big.bin" in target and "list-type" not in target)
        process = start(server, tmp_path, "get", f"s3://{bucket}/big.bin", str(dest / "big.bin"),
                        "--part-size", "5MiB", endpoint=proxy.url)
        _wait_for(lambda: proxy.injected("stall"), process, "a range was in flight")
        returncode, _, stderr = signalled(process, signal.SIGTERM)
    assert returncode == 143, stderr
    assert temporaries(tmp_path) == [] and not (dest / "big.bin").exists()


# ---- 8. Ctrl-C while CreateMultipartUpload is in flight ---------------------------------------

@moto_only
@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM])
def test_interrupt_during_create_leaves_no_upload(server, bucket, tmp_path, sig):
    src = random_file(tmp_path / "big.bin", 12 * MiB, seed=8)
    with proxy_in_front(server) as proxy:
        # The store creates the upload; its reply is held back.
        proxy.set_fault("stall_response", stall_seconds=None, methods={"POST"},
                        # botocore sends "?uploads", the lean path the canonical "?uploads="
                        match=lambda method, target: target.endswith(("?uploads", "?uploads=")))
        process = start(server, tmp_path, "put", str(src), f"s3://{bucket}/big.bin", "--part-size", "5MiB",
                        endpoint=proxy.url)
        _wait_for(lambda: uploads(server, bucket), process, "the upload was created")
        time.sleep(0.2)  # the reply is held by the proxy, so this is the state until the signal
        returncode, _, stderr = signalled(process, sig)
    assert returncode in (130, 143), stderr
    assert "Traceback" not in stderr
    assert uploads(server, bucket) == []


# ---- 9. a short or cut read is a network failure ----------------------------------------------

@moto_only
@pytest.mark.parametrize("mode", ["short_body", "truncate", "reset_response"])
def test_a_cut_body_is_a_network_failure(server, bucket, tmp_path, mode):
    server.client().put_object(Bucket=bucket, Key="obj", Body=os.urandom(2 * MiB))
    with proxy_in_front(server) as proxy:
        proxy.set_fault(mode, methods={"GET"})
        result = cli(server, tmp_path, "get", f"s3://{bucket}/obj", str(tmp_path / "out" / "obj"),
                     "--max-attempts", "2", endpoint=proxy.url)
    no_traceback(result)
    assert result.returncode in (1, 6), result.stderr
    assert "local I/O" not in result.stderr and "verification" not in result.stderr
    assert not (tmp_path / "out" / "obj").exists() and temporaries(tmp_path) == []


@moto_only
def test_keep_partial_keeps_the_temporary_file_on_a_short_body(server, bucket, tmp_path):
    server.client().put_object(Bucket=bucket, Key="obj", Body=os.urandom(12 * MiB))
    dest = tmp_path / "out" / "obj"
    with proxy_in_front(server) as proxy:
        proxy.set_fault("short_body", methods={"GET"})
        result = cli(server, tmp_path, "get", f"s3://{bucket}/obj", str(dest), "--part-size", "5MiB",
                     "--max-attempts", "2", "--keep-partial", "-c", "1", endpoint=proxy.url)
    no_traceback(result)
    assert result.returncode in (1, 6), result.stderr
    kept = temporaries(tmp_path)
    for path in kept:  # the suite leaves no temporary file behind
        path.unlink()
    assert len(kept) == 1, result.stderr


# ---- 10. a single read is never more than the kernel gives -----------------------------------

@moto_only
def test_single_put_reads_until_the_range_is_complete(server, bucket, tmp_path, monkeypatch):
    """Linux's read/pread return at most ~2 GiB at a time; here at most 1 MiB."""
    src = random_file(tmp_path / "f.bin", 3 * MiB + 5, seed=10)
    real = os.pread
    monkeypatch.setattr(os, "pread", lambda fd, size, offset: real(fd, min(size, MiB), offset))
    summary = asyncio.run(s3ferry.put(src, f"s3://{bucket}/f.bin", config=server.config(multipart_threshold=64 * MiB)))
    assert summary.ok, summary
    etag = server.client().head_object(Bucket=bucket, Key="f.bin")["ETag"].strip('"')
    assert etag == md5_file(src)


# ---- 11. one unreadable or vanished item does not end a tree put ------------------------------

class RemoveWhenFirstDone(Collect):
    def __init__(self, *paths: Path) -> None:
        super().__init__()
        self.paths = paths

    def finished(self, result) -> None:  # type: ignore[no-untyped-def]
        super().finished(result)
        for path in self.paths:
            if path.is_dir():
                for child in path.iterdir():
                    child.unlink()
                path.rmdir()
            elif path.exists():
                path.unlink()


@moto_only
def test_put_of_a_tree_goes_on_past_vanished_files_and_folders(server, bucket, tmp_path):
    root = tmp_path / "tree"
    for i in range(300):  # more than one walk batch, so the last ones are stat'ed later
        random_file(root / "a" / f"f{i:03d}", 10, seed=i)
    random_file(root / "b" / "g", 10, seed=1)
    gone_file, gone_dir = root / "a" / "f299", root / "b"
    progress = RemoveWhenFirstDone(gone_file, gone_dir)
    summary = asyncio.run(s3ferry.put(root, f"s3://{bucket}/p/", config=server.config(max_concurrency=1),
                                      progress=progress))
    assert not summary.ok and summary.exit_code != 0
    assert len(keys(server, bucket, "p/a/")) == 299
    failures = [r for r in progress.results if r.error]
    assert any("f299" in r.error for r in failures) and any("tree/b" in r.error for r in failures), failures


# ---- 12. which statuses are retried ---------------------------------------------------------

@moto_only
def test_429_is_retried(server, bucket, tmp_path):
    src = random_file(tmp_path / "f.bin", 1000, seed=12)
    with proxy_in_front(server) as proxy:
        proxy.set_fault("status", status=429, code="TooManyRequests", methods={"PUT"}, limit=2)
        result = cli(server, tmp_path, "put", str(src), f"s3://{bucket}/f.bin", endpoint=proxy.url)
    assert result.returncode == 0, result.stderr
    assert proxy.stats.injected["status"] == 2


@moto_only
def test_a_skewed_clock_fails_at_once(server, bucket, tmp_path):
    src = random_file(tmp_path / "f.bin", 1000, seed=12)
    with proxy_in_front(server) as proxy:
        proxy.set_fault("status", status=403, code="RequestTimeTooSkewed", methods={"PUT"})
        result = cli(server, tmp_path, "put", str(src), f"s3://{bucket}/f.bin", endpoint=proxy.url)
    no_traceback(result)
    assert result.returncode != 0
    assert proxy.stats.injected["status"] == 1
    assert "clock" in result.stderr.lower() or "RequestTimeTooSkewed" in result.stderr


# ---- 13. a short outage does not fail a long run --------------------------------------------

class Outage:
    """The endpoint refuses connections (the listening socket is closed) for ``seconds``,
    then comes back on the same port."""

    def __init__(self, server) -> None:
        url = urlsplit(server.endpoint_url)
        self.upstream = (url.hostname or "127.0.0.1", url.port or 80)
        self.proxy = FaultProxy(*self.upstream).start()
        self.port = self.proxy.port
        self.url = self.proxy.url

    def refuse_for(self, seconds: float) -> threading.Thread:
        def run() -> None:
            self.proxy.stop()
            time.sleep(seconds)
            self.proxy = FaultProxy(*self.upstream, port=self.port).start()
        thread = threading.Thread(target=run)
        thread.start()
        return thread

    def stop(self) -> None:
        self.proxy.stop()


@pytest.mark.parametrize("server", ["moto", "ceph"], indirect=True)
def test_sync_rides_out_an_outage(server, bucket, tmp_path):
    src = tmp_path / "src"
    for i in range(120):
        random_file(src / f"d{i % 6}" / f"f{i:03d}", 2000 + i, seed=i)
    outage = Outage(server)
    try:
        process = start(server, tmp_path, "sync", str(src), f"s3://{bucket}/p/", "--json", "-c", "2",
                        endpoint=outage.url)
        assert process.stdout is not None
        seen, thread = 0, None
        for line in process.stdout:
            seen += '"op"' in line
            if seen == 10 and thread is None:
                thread = outage.refuse_for(8)
        stderr = process.stderr.read() if process.stderr else ""
        process.wait(timeout=300)
        if thread is not None:
            thread.join()
    finally:
        outage.stop()
    assert thread is not None, "the sync ended before the outage"
    assert process.returncode == 0, stderr
    assert len(keys(server, bucket, "p/")) == 120


@moto_only
def test_retry_for_bounds_the_outage_ridden_out(server, bucket, tmp_path):
    src = random_file(tmp_path / "f.bin", 1000, seed=13)
    outage = Outage(server)
    try:
        thread = outage.refuse_for(30)
        time.sleep(0.5)
        result = cli(server, tmp_path, "put", str(src), f"s3://{bucket}/f.bin", "--retry-for", "2s",
                     endpoint=outage.url)
        thread.join()
    finally:
        outage.stop()
    no_traceback(result)
    assert result.returncode == 6, result.stderr


@moto_only
def test_a_tree_retries_its_failed_items_once_more_at_the_end(server, bucket, tmp_path):
    src = tmp_path / "src"
    for i in range(12):
        random_file(src / f"f{i:03d}", 100 + i, seed=i)
    with proxy_in_front(server) as proxy:
        # f005's PUT fails every attempt of the first pass (2), then the store recovers.
        proxy.set_fault("status", status=503, methods={"PUT"}, limit=2,
                        match=lambda method, target: target.split("?")[0].endswith("/p/f005"))
        result = cli(server, tmp_path, "put", str(src), f"s3://{bucket}/p/", "--max-attempts", "2",
                     "--retry-for", "0", endpoint=proxy.url)
    no_traceback(result)
    assert proxy.stats.injected["status"] == 2
    assert result.returncode == 0, result.stderr
    assert "error" not in result.stderr  # the first pass's failure is not reported
    assert len(keys(server, bucket, "p/")) == 12


# ---- 14. platforms without posix_fallocate (macOS) -----------------------------------------

@moto_only
def test_get_works_without_posix_fallocate(server, bucket, tmp_path, monkeypatch):
    data = os.urandom(3 * MiB)
    server.client().put_object(Bucket=bucket, Key="obj", Body=data)
    monkeypatch.delattr(os, "posix_fallocate")
    out = tmp_path / "obj"
    summary = asyncio.run(s3ferry.get(f"s3://{bucket}/obj", out, config=server.config()))
    assert summary.ok, summary
    assert out.read_bytes() == data
