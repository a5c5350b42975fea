"""Fault matrix (issue #5): every fault mode of tests/faultproxy.py x {multipart put, single
PUT, multipart get}, through a FaultProxy in front of a real server.

Every case ends in one of two states, and nothing in between:
  * the transfer finished, byte-identical and verified; or
  * it failed cleanly: one line naming the object, a non-zero exit code, no file (and no
    temporary) at the destination, no incomplete multipart upload on the server (checked on
    the real server, not through the proxy), and never a wrong object under the key.
A bounded number of faults (``limit``) must be absorbed by the retries; faults on every
request must end in a clean failure (unless the mode cannot apply to any request of the
operation, e.g. ``flip`` only touches GET bodies: then it must succeed).
"""

from __future__ import annotations

import asyncio
import os
import uuid
from pathlib import Path

import pytest

import s3ferry
from s3ferry.core.config import META_PART_SIZE, MiB
from s3ferry.core.etag import etag_of_bytes, normalize
from s3ferry.core.results import Verdict

from faultproxy import FaultProxy
from helpers import Collect, proxy_in_front, random_file, run_cli

PART = 5 * MiB
BIG = 12 * MiB + 123  # three parts, ragged tail
SMALL = 100_000
MODES = ["status-503", "status-500", "reset_request", "reset_response", "truncate", "stall", "flip"]
OPS = ["put-multipart", "put-single", "get-multipart"]


# ---- fixtures ---------------------------------------------------------------------------

@pytest.fixture(scope="module")
def files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("fault-src")
    return {"put-multipart": random_file(folder / "big.bin", BIG, seed=1),
            "put-single": random_file(folder / "small.bin", SMALL, seed=2),
            "get-multipart": random_file(folder / "remote.bin", BIG, seed=3)}


@pytest.fixture(scope="module")
def moto_proxy(moto):
    with proxy_in_front(moto) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def ceph_proxy(ceph):
    with proxy_in_front(ceph) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def remote():
    """Per lane, a bucket holding the object the get cases download (read-only for them)."""
    seeded: dict = {}
    yield seeded
    for name, server in seeded.values():
        s3 = server.client()
        s3.delete_object(Bucket=name, Key="remote.bin")
        s3.delete_bucket(Bucket=name)


def remote_bucket(server, remote: dict, src: Path) -> str:
    if server.name not in remote:
        name = f"t-get-{uuid.uuid4().hex[:12]}"
        server.client().create_bucket(Bucket=name)
        config = server.config(part_size=PART, multipart_threshold=PART)
        assert asyncio.run(s3ferry.put(src, f"s3://{name}/remote.bin", config=config)).ok
        remote[server.name] = (name, server)
    return remote[server.name][0]


@pytest.fixture
def proxy(server, request):
    """The proxy in front of this lane, with no rule and fresh stats; cleared after."""
    proxy = request.getfixturevalue(f"{server.name}_proxy")
    proxy.clear()
    proxy.reset_stats()
    yield proxy
    proxy.clear()
    assert proxy.stats.errors == [], proxy.stats.errors


moto_only = pytest.mark.parametrize("server", ["moto"], indirect=True)


def fault(proxy: FaultProxy, mode: str, **rule) -> None:
    if mode.startswith("status-"):
        proxy.set_fault("status", status=int(mode.split("-")[1]), **rule)
    elif mode == "stall":
        proxy.set_fault("stall", stall_seconds=None, **rule)  # forever: only the read timeout ends it
    else:
        proxy.set_fault(mode, **rule)


def proxied(proxy: FaultProxy, attempts: int):
    return s3ferry.Config(endpoint_url=proxy.url, addressing_style="path", part_size=PART,
                          multipart_threshold=PART, max_concurrency=4, max_attempts=attempts,
                          read_timeout=1.0, connect_timeout=1.0)


def uploads(server, bucket: str) -> list:
    return server.client().list_multipart_uploads(Bucket=bucket).get("Uploads", [])


def stored(server, bucket: str, key: str) -> bytes | None:
    s3 = server.client()
    try:
        return s3.get_object(Bucket=bucket, Key=key)["Body"].read()
    except s3.exceptions.NoSuchKey:
        return None


def leftovers(folder: Path) -> list[str]:
    return sorted(os.listdir(folder)) if folder.exists() else []


# ---- checks -----------------------------------------------------------------------------

def check_put(server, bucket, key, src: Path, ok: bool, failure_line: str | None) -> None:
    left = uploads(server, bucket)
    for upload in left:  # so that an expected failure here does not also fail the teardown
        server.client().abort_multipart_upload(Bucket=bucket, Key=upload["Key"], UploadId=upload["UploadId"])
    assert left == [], "incomplete multipart upload left behind"
    body = stored(server, bucket, key)
    if ok:
        assert body == src.read_bytes()
        return
    assert failure_line is not None
    assert "\n" not in failure_line.strip() and key in failure_line, failure_line
    assert "TaskGroup" not in failure_line and "sub-exception" not in failure_line, failure_line
    # A failed put may have been stored by the server before the reply was lost, but never wrong.
    assert body is None or body == src.read_bytes()


def check_get(out: Path, src: Path, ok: bool, failure_line: str | None) -> None:
    if ok:
        assert out.read_bytes() == src.read_bytes()
        assert leftovers(out.parent) == [out.name]
        return
    assert failure_line is not None
    assert "\n" not in failure_line.strip() and "remote.bin" in failure_line, failure_line
    assert "TaskGroup" not in failure_line and "sub-exception" not in failure_line, failure_line
    assert leftovers(out.parent) == [], "a file or temporary was left at the destination"


def expected_etag(op: str, src: Path) -> str:
    return etag_of_bytes(src.read_bytes(), None if op == "put-single" else PART)


# ---- bounded faults: retries absorb them ------------------------------------------------

# Where a bounded fault lands: "spread" hits every 2nd eligible request (parts, ranges), the
# others the multipart control requests, whose loss is the hard case (the server acted on it).
# (status and reset_request never reach the server: the "spread" cases cover them.)
BOUNDED = [(op, mode, "spread") for op in OPS for mode in MODES] + [
    ("put-multipart", mode, "create") for mode in ("reset_response", "truncate", "stall")] + [
    ("put-multipart", mode, "complete") for mode in ("reset_response", "stall")]


def _where(where: str, op: str, mode: str) -> dict:
    if where == "spread":
        if op == "get-multipart" and mode == "flip":
            # Verification re-fetches once: one silent corruption is recovered, a second
            # in the re-fetch is a clean failure (see the every-request test).
            return {"every": 2, "limit": 1}
        return {"limit": 2} if op == "put-single" else {"every": 2, "limit": 2}
    if where == "create":
        return {"limit": 2, "match": lambda method, target: method == "POST" and "uploadId=" not in target}
    return {"limit": 2, "match": lambda method, target: method == "POST" and "uploadId=" in target}


@moto_only
@pytest.mark.parametrize("op,mode,where", BOUNDED, ids=["-".join(case) for case in BOUNDED])
def test_bounded_faults_are_retried_to_success(server, request, remote, proxy, files, tmp_path, op, mode, where):
    result, _, _ = run_bounded_case(server, request, remote, proxy, files[op], tmp_path, op, mode, where,
                                    proxied(proxy, attempts=4))
    if mode == "flip" and op.startswith("get") and proxy.injected("flip"):
        assert "re-fetched" in result.detail  # caught by verification, fetched again
    applicable = not (mode == "flip" and op.startswith("put")) and not (mode == "truncate" and op == "put-single")
    assert proxy.injected() > 0 or not applicable


def run_bounded_case(server, request, remote, proxy, src, tmp_path, op, mode, where, config):
    """One transfer through a proxy injecting a bounded number of faults: it must succeed,
    verified, with the right bytes on the other side. Returns (result, bucket, key)."""
    # puts get a fresh bucket (checked for orphaned uploads); gets share a seeded one
    bucket = remote_bucket(server, remote, src) if op.startswith("get") else request.getfixturevalue("bucket")
    rule = _where(where, op, mode)
    if op.startswith("get"):
        rule["methods"] = {"GET"}  # the ranged data GETs, not the HEAD
    fault(proxy, mode, **rule)
    progress = Collect()
    out = tmp_path / "dl" / "remote.bin"
    key = f"k/{src.name}"
    if op.startswith("put"):
        summary = asyncio.run(s3ferry.put(src, f"s3://{bucket}/{key}", config=config, progress=progress))
    else:
        out.parent.mkdir()
        summary = asyncio.run(s3ferry.get(f"s3://{bucket}/remote.bin", out, config=config, progress=progress))
    [result] = progress.results
    assert summary.ok, (summary.errors, proxy.stats.faults())
    assert result.verdict is Verdict.MATCH and normalize(result.etag) == expected_etag(op, src)
    if op.startswith("put"):
        check_put(server, bucket, key, src, True, None)
    else:
        check_get(out, src, True, None)
    return result, bucket, key


# ---- faults on every request: a clean failure -------------------------------------------

# When every reply is lost, CreateMultipartUpload has created uploads whose ids never reached
# us, and the listing that would find them is lost too: no client can clean that up (a bucket
# lifecycle rule, AbortIncompleteMultipartUpload, is the backstop). A bounded loss is cleaned
# up (test_bounded_faults_are_retried_to_success[put-multipart-*-create]).
LOST_CREATE = pytest.mark.xfail(strict=True, reason="protocol limit: every reply to CreateMultipartUpload "
                                "and to the listing is lost, so the created uploads cannot be found")
EVERY = [pytest.param(op, mode, id=f"{op}-{mode}",
                      marks=[LOST_CREATE] if op == "put-multipart" and mode in ("reset_response", "truncate") else [])
         for op in OPS for mode in MODES]


@moto_only
@pytest.mark.parametrize("op,mode", EVERY)
def test_faults_on_every_request_fail_cleanly(server, request, remote, proxy, files, tmp_path, op, mode):
    """Through the real CLI (exit code, one stderr line, no traceback) for the multipart
    operations; a stall needs a read timeout the CLI does not expose, so it runs in-process,
    as does the single PUT (the same checks on the summary, minus the interpreter start)."""
    src = files[op]
    # puts get a fresh bucket (checked for orphaned uploads); gets share a seeded one
    bucket = remote_bucket(server, remote, src) if op.startswith("get") else request.getfixturevalue("bucket")
    fault(proxy, mode, **({"methods": {"GET"}} if op.startswith("get") else {}))
    out = tmp_path / "dl" / "remote.bin"
    out.parent.mkdir()
    key = f"k/{src.name}"
    if mode == "stall" or op == "put-single":
        progress = Collect()
        config = proxied(proxy, attempts=2)
        if op.startswith("put"):
            summary = asyncio.run(s3ferry.put(src, f"s3://{bucket}/{key}", config=config, progress=progress))
        else:
            summary = asyncio.run(s3ferry.get(f"s3://{bucket}/remote.bin", out, config=config, progress=progress))
        [result] = progress.results
        ok, line, code = summary.ok, result.error, summary.exit_code
    else:
        sizes = ["--part-size", "5MiB", "--max-attempts", "2", "--endpoint-url", proxy.url,
                 "--addressing-style", "path", "-c", "4"]
        if op.startswith("put"):
            cli = run_cli(server, "put", str(src), f"s3://{bucket}/{key}", *sizes, timeout=120)
        else:
            cli = run_cli(server, "get", f"s3://{bucket}/remote.bin", str(out), *sizes, timeout=120)
        assert "Traceback" not in cli.stderr, cli.stderr
        ok, code = cli.returncode == 0, cli.returncode
        errors = [line for line in cli.stderr.splitlines() if line.strip()]
        line = errors[0] if errors else None
        if not ok:
            assert len(errors) == 1 and line.startswith("error: "), cli.stderr
        else:
            assert errors == [], cli.stderr
    # A fault that fires on every attempt fails the transfer; one that cannot touch the
    # operation's requests (flip only alters GET bodies: for a put, at most the listing of
    # open uploads) leaves it to succeed.
    applies = proxy.injected() > 0 and not (mode == "flip" and op.startswith("put"))
    assert ok is not applies, (line, proxy.stats.faults())
    if not ok:
        assert code not in (0, None)
    if op.startswith("put"):
        check_put(server, bucket, key, src, ok, line)
    else:
        check_get(out, src, ok, line)
        if mode == "flip":
            assert code == 3 and "ETag" in line  # verification caught it, twice


# ---- a cheap Ceph lane: the two hardest modes against a production implementation --------

CEPH_CASES = [("put-multipart", "reset_response", "complete"), ("put-multipart", "reset_response", "create"),
              ("get-multipart", "flip", "spread"), ("get-multipart", "truncate", "spread")]


@pytest.mark.ceph
@pytest.mark.parametrize("server", ["ceph"], indirect=True)
@pytest.mark.parametrize("op,mode,where", CEPH_CASES, ids=["-".join(case) for case in CEPH_CASES])
def test_ceph_bounded_faults(server, request, remote, proxy, files, tmp_path, op, mode, where):
    config = proxied(proxy, attempts=4).replace(read_timeout=5.0)
    _, bucket, key = run_bounded_case(server, request, remote, proxy, files[op], tmp_path, op, mode, where, config)
    assert proxy.injected() > 0
    if op.startswith("put"):
        head = server.client().head_object(Bucket=bucket, Key=key)
        assert head["Metadata"][META_PART_SIZE] == str(PART)


@moto_only
def test_listing_failure_in_a_recursive_get_is_one_line(server, remote, proxy, files, tmp_path):
    """The listing itself keeps failing: one line with the cause (not the task group's
    wrapper, not an internal error), a non-zero exit, nothing written."""
    bucket = remote_bucket(server, remote, files["get-multipart"])
    proxy.set_fault("status", match=lambda method, target: method == "GET" and "list-type=2" in target)
    out = tmp_path / "out"
    cli = run_cli(server, "get", f"s3://{bucket}/", str(out), "--max-attempts", "2", "--endpoint-url", proxy.url)
    errors = [line for line in cli.stderr.splitlines() if line.strip()]
    assert cli.returncode == 1 and len(errors) == 1 and "SlowDown" in errors[0], cli.stderr
    assert "Traceback" not in cli.stderr and "internal error" not in cli.stderr
    assert leftovers(out) == []


def test_a_part_damaged_on_its_way_up_is_sent_again(server, bucket, tmp_path):
    """One UploadPart body gets a flipped byte between client and store. Ceph checks
    Content-MD5 and answers BadDigest; moto keeps the damaged bytes and echoes their MD5 as
    the part ETag. Either way the part is sent again and the object verifies."""
    src = random_file(tmp_path / "up.bin", 12 * MiB + 3, seed=12)
    with proxy_in_front(server) as proxy:
        proxy.set_fault("flip_request", methods={"PUT"}, limit=1, match=lambda method, target: "partNumber=2" in target)
        progress = Collect()
        config = server.config(part_size=5 * MiB, multipart_threshold=5 * MiB, max_attempts=3).replace(
            endpoint_url=proxy.url)
        summary = asyncio.run(s3ferry.put(src, f"s3://{bucket}/up.bin", config=config, progress=progress))
        assert proxy.injected("flip_request") == 1
    assert summary.ok, summary.errors
    assert progress.results[0].verdict is Verdict.MATCH
    check_put(server, bucket, "up.bin", src, True, None)
