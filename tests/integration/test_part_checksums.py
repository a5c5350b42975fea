"""--checksum crc32|crc32c on multipart uploads: a COMPOSITE upload, whose Complete must list
every part's checksum beside its ETag (AWS refuses Complete otherwise: "The upload was created
using a crc32c checksum. The complete request must include the checksum for each part").

moto 5.2.5 keeps part checksums but does not enforce that rule, so a proxy in front of the
store captures each Complete body, and the test checks it part by part against CRCs computed
here. Ceph Pacific (16.2) has no additional checksums: it ignores them, and the lane checks
that sending them breaks nothing.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import re
from pathlib import Path

import pytest
from awscrt import checksums as crt
from helpers import Collect, boto3_multipart, proxy_in_front, random_file, run_cli

import s3ferry
from s3ferry.core.config import MiB
from s3ferry.core.results import Verdict

PART = 5 * MiB
SIZE = 2 * PART + 4321  # three parts, ragged tail
CRC = {"crc32": crt.crc32, "crc32c": crt.crc32c}


def _is_complete(method: str, target: str) -> bool:
    return method == "POST" and "uploadId=" in target


def _expected(data: bytes, mode: str, part_size: int = PART) -> dict[int, str]:
    """Each part's base64 CRC, as S3 spells it."""
    return {n: base64.b64encode(CRC[mode](data[o:o + part_size]).to_bytes(4, "big")).decode()
            for n, o in enumerate(range(0, len(data), part_size), start=1)}


def _listed(body: bytes, mode: str) -> dict[int, str | None]:
    """Part number -> the checksum Complete listed for it (None: none)."""
    member = f"Checksum{mode.upper()}"
    found = {}
    for part in re.findall(rb"<Part>(.*?)</Part>", body):
        number = int(re.search(rb"<PartNumber>(\d+)</PartNumber>", part).group(1))
        value = re.search(rf"<{member}>([^<]*)</{member}>".encode(), part)
        found[number] = value.group(1).decode() if value else None
    return found


@pytest.fixture
def proxied(server):
    with proxy_in_front(server) as proxy:
        proxy.capture(_is_complete)
        yield proxy, dataclasses.replace(server, endpoint_url=proxy.url)


def _completes(proxy) -> list[bytes]:
    return [body for method, target, body in proxy.bodies if _is_complete(method, target)]


def _put(server, src: Path, url: str, **config):
    progress = Collect()
    summary = asyncio.run(s3ferry.put(src, url, progress=progress, config=server.config(
        part_size=PART, multipart_threshold=PART, **config)))
    return summary, progress.results


@pytest.mark.parametrize("mode", ["crc32", "crc32c"])
def test_a_composite_put_lists_every_parts_checksum_in_complete(server, proxied, bucket, tmp_path, mode):
    proxy, via = proxied
    src = random_file(tmp_path / "f.bin", SIZE, seed=7)
    summary, results = _put(via, src, f"s3://{bucket}/f.bin", checksum=mode)
    assert summary.ok, results
    assert results[0].verdict is Verdict.MATCH
    [body] = _completes(proxy)
    assert _listed(body, mode) == _expected(src.read_bytes(), mode)


def test_put_without_checksum_lists_none(server, proxied, bucket, tmp_path):
    proxy, via = proxied
    src = random_file(tmp_path / "f.bin", SIZE, seed=8)
    summary, _ = _put(via, src, f"s3://{bucket}/f.bin")
    assert summary.ok
    [body] = _completes(proxy)
    assert b"<Checksum" not in body


def test_put_from_stdin_lists_every_parts_checksum(server, proxied, bucket, tmp_path):
    proxy, via = proxied
    src = random_file(tmp_path / "f.bin", SIZE, seed=9)
    with src.open("rb") as stdin:
        proc = run_cli(via, "put", "-", f"s3://{bucket}/s.bin", "--checksum", "crc32c", "--part-size", "5MiB",
                       "--addressing-style", "path", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    [body] = _completes(proxy)
    assert _listed(body, "crc32c") == _expected(src.read_bytes(), "crc32c")


def test_a_streamed_copy_lists_every_parts_checksum(server, proxied, bucket, tmp_path):
    """Two endpoints (the proxy and the store itself) make the copy stream through us."""
    proxy, via = proxied
    src = random_file(tmp_path / "f.bin", SIZE, seed=10)
    server.client().put_object(Bucket=bucket, Key="src.bin", Body=src.read_bytes())
    progress = Collect()
    summary = asyncio.run(s3ferry.cp(f"s3://{bucket}/src.bin", f"s3://{bucket}/dst.bin", progress=progress,
                                     config=via.config(part_size=PART, multipart_threshold=PART, checksum="crc32"),
                                     source_endpoint_url=server.endpoint_url))
    assert summary.ok, progress.results
    [body] = _completes(proxy)
    assert _listed(body, "crc32") == _expected(src.read_bytes(), "crc32")


def test_a_server_side_part_copy_lists_the_stores_part_checksums(server, proxied, bucket, tmp_path):
    if server.name == "ceph":
        pytest.skip("Ceph Pacific ignores HeadObject(PartNumber): a foreign multipart source's layout is "
                    "unknown there, so the copy is one CopyObject, with no parts to list")
    proxy, via = proxied
    src = random_file(tmp_path / "f.bin", SIZE, seed=11)
    # A multipart source: the copy keeps its layout, part by part (UploadPartCopy).
    boto3_multipart(server.client(), bucket, "src.bin", src.read_bytes(), PART)
    progress = Collect()
    summary = asyncio.run(s3ferry.cp(f"s3://{bucket}/src.bin", f"s3://{bucket}/dst.bin", progress=progress,
                                     config=via.config(part_size=PART, multipart_threshold=PART, checksum="crc32c")))
    assert summary.ok, progress.results
    [body] = _completes(proxy)
    # The bytes never pass through s3ferry: Complete lists the CRCs UploadPartCopy's replies
    # carry (AWS: CopyPartResult.ChecksumCRC32C). moto 5.2.5 and Ceph Pacific send none, and
    # then there is nothing to list (they do not ask for it either).
    assert _listed(body, "crc32c") == {1: None, 2: None, 3: None}
    assert server.client().head_object(Bucket=bucket, Key="dst.bin")["ContentLength"] == SIZE


def test_a_resumed_upload_lists_the_kept_parts_checksums(server, proxied, bucket, tmp_path):
    """Part 2 fails for good on the first run (kept for a resume); the second run keeps parts
    1 and 3 and must still list their checksums."""
    proxy, via = proxied
    src = random_file(tmp_path / "f.bin", SIZE, seed=12)
    proxy.set_fault("status", status=500, match=lambda method, target: method == "PUT" and "partNumber=2" in target)
    summary, results = _put(via, src, f"s3://{bucket}/r.bin", checksum="crc32", keep_partial=True, max_attempts=1)
    assert not summary.ok
    proxy.clear()
    summary, results = _put(via, src, f"s3://{bucket}/r.bin", checksum="crc32", keep_partial=True)
    assert summary.ok, results
    assert "resumed: 2 of 3" in results[0].detail
    [body] = _completes(proxy)
    assert _listed(body, "crc32") == _expected(src.read_bytes(), "crc32")


def test_a_part_checksum_the_store_echoes_wrong_fails_loudly(server, proxied, bucket, tmp_path):
    if server.name == "ceph":
        pytest.skip("Ceph Pacific echoes no part checksums")
    proxy, via = proxied
    proxy.set_fault("other_checksum", methods={"PUT"}, match=lambda method, target: "partNumber=2" in target)
    src = random_file(tmp_path / "f.bin", SIZE, seed=13)
    summary, results = _put(via, src, f"s3://{bucket}/w.bin", checksum="crc32", max_attempts=2)
    assert not summary.ok
    assert "part 2" in results[0].error and "CRC32" in results[0].error, results[0].error
    assert _completes(proxy) == []
    assert proxy.injected("other_checksum") >= 2  # retried, as a part ETag mismatch is


def test_a_small_put_from_stdin_sends_the_objects_checksum(server, bucket, tmp_path):
    """One PUT: the whole object's CRC32C, computed by s3ferry (botocore cannot checksum the
    memoryview body itself; the lean path used to send none)."""
    src = random_file(tmp_path / "f.bin", 100_000, seed=14)
    with src.open("rb") as stdin:
        proc = run_cli(server, "put", "-", f"s3://{bucket}/s.bin", "--checksum", "crc32c",
                       "--addressing-style", "path", stdin=stdin)
    assert proc.returncode == 0, proc.stderr
    if server.name == "moto":
        head = server.client().head_object(Bucket=bucket, Key="s.bin", ChecksumMode="ENABLED")
        assert head["ChecksumCRC32C"] == _expected(src.read_bytes(), "crc32c")[1]


@pytest.mark.parametrize("mode", ["crc32", "crc32c"])
def test_a_single_put_of_a_file_and_of_a_tree_sends_each_objects_checksum(server, bucket, tmp_path, mode):
    """A file below the multipart threshold, alone and in a tree: one PUT carrying the object's
    CRC, computed by s3ferry (the PUT used to fail: botocore cannot checksum a memoryview)."""
    one = random_file(tmp_path / "one.bin", 300_000, seed=15)
    tree = tmp_path / "tree"
    tree.mkdir()
    files = [random_file(tree / f"f{i}.bin", size, seed=16 + i) for i, size in enumerate((10, 70_000, 200_000))]
    for source, dest in ((one, f"s3://{bucket}/one.bin"), (tree, f"s3://{bucket}/tree/")):
        proc = run_cli(server, "put", str(source) + ("/" if source.is_dir() else ""), dest, "--checksum", mode,
                       "--addressing-style", "path")
        assert proc.returncode == 0, proc.stderr
    if server.name == "moto":  # Ceph pacific keeps no additional checksums
        member = "ChecksumCRC32" if mode == "crc32" else "ChecksumCRC32C"
        for path, key in [(one, "one.bin")] + [(f, f"tree/{f.name}") for f in files]:
            head = server.client().head_object(Bucket=bucket, Key=key, ChecksumMode="ENABLED")
            assert head[member] == _expected(path.read_bytes(), mode)[1]
