"""Store-side checksums on real servers: put's full-object CRC64NVME switch, and objects whose
ETag is not an MD5 of their bytes (SSE-KMS), judged by the checksum the store keeps.

moto keeps the checksums it is sent (it does not recompute them) and marks SSE-KMS objects as
AWS does; Ceph Pacific ignores both, so there the switch must cost nothing and break nothing.
"""

from __future__ import annotations

import asyncio
import json

import pytest

import s3ferry
from s3ferry.core.checksums import ALGORITHMS
from s3ferry.core.config import MiB
from s3ferry.core.results import Verdict

from helpers import Collect, random_file, run_cli


def _api(call, *args, **config):
    progress = Collect()
    summary = asyncio.run(call(*args, config=config.pop("server").config(**config), progress=progress))
    return summary, progress.results


@pytest.mark.parametrize("size", [1000, 12 * MiB + 5])  # single PUT, multipart
def test_put_sends_the_full_object_crc64nvme(server, bucket, tmp_path, size):
    src = random_file(tmp_path / "f.bin", size, seed=size)
    summary, results = _api(s3ferry.put, src, f"s3://{bucket}/f.bin", server=server, checksum="crc64nvme",
                            part_size=5 * MiB, multipart_threshold=5 * MiB)
    assert summary.ok and results[0].verdict is Verdict.MATCH
    head = server.client().head_object(Bucket=bucket, Key="f.bin", ChecksumMode="ENABLED")
    if server.name == "moto":
        # The store holds the whole object's CRC64NVME (for multipart: combined from the parts').
        assert head["ChecksumCRC64NVME"] == ALGORITHMS["CRC64NVME"].of_file(src)
        assert "CRC64NVME" in results[0].detail
    out = tmp_path / "back.bin"
    summary, results = _api(s3ferry.get, f"s3://{bucket}/f.bin", out, server=server)
    assert summary.ok and out.read_bytes() == src.read_bytes()

    proc = run_cli(server, "put", str(src), f"s3://{bucket}/cli.bin", "--checksum", "crc64nvme",
                   "--addressing-style", "path", "--json")
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.splitlines()[0])["verdict"] == "match"


@pytest.fixture
def moto_only(server):
    if server.name != "moto":
        pytest.skip("SSE-KMS needs a KMS; the Ceph lane has none configured")


def test_sse_kms_objects_are_judged_by_the_store_checksum_never_by_etag(server, bucket, tmp_path, moto_only):
    src = random_file(tmp_path / "k.bin", 3 * MiB, seed=3)
    s3 = server.client()
    s3.put_object(Bucket=bucket, Key="plain", Body=src.read_bytes(), ServerSideEncryption="aws:kms")
    s3.put_object(Bucket=bucket, Key="crc", Body=src.read_bytes(), ServerSideEncryption="aws:kms",
                  ChecksumAlgorithm="CRC64NVME")

    # An SSE-KMS ETag is not an MD5 on AWS, even where it looks like one: never a match by ETag.
    summary, results = _api(s3ferry.verify, src, f"s3://{bucket}/plain", server=server)
    assert results[0].verdict is Verdict.UNVERIFIABLE and "SSE-KMS" in results[0].detail
    assert summary.exit_code == 3

    summary, results = _api(s3ferry.verify, src, f"s3://{bucket}/crc", server=server)
    assert results[0].verdict is Verdict.MATCH and "CRC64NVME" in results[0].detail
    assert summary.exit_code == 0

    out = tmp_path / "dl.bin"
    summary, results = _api(s3ferry.get, f"s3://{bucket}/crc", out, server=server)
    assert summary.ok and results[0].verdict is Verdict.MATCH and "CRC64NVME" in results[0].detail
    assert out.read_bytes() == src.read_bytes()

    data = bytearray(src.read_bytes())
    data[MiB] ^= 1
    src.write_bytes(bytes(data))
    summary, results = _api(s3ferry.verify, src, f"s3://{bucket}/crc", server=server)
    assert results[0].verdict is Verdict.MISMATCH and summary.exit_code == 3


def test_put_into_a_kms_bucket_is_not_mistaken_for_corruption(server, bucket, tmp_path, moto_only):
    """The stored ETag differs from our MD5 because of the encryption, not the bytes: the
    object must stay, and with the CRC64NVME switch the store's checksum proves it."""
    s3 = server.client()
    s3.put_bucket_encryption(Bucket=bucket, ServerSideEncryptionConfiguration={
        "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": "aws:kms"}}]})
    src = random_file(tmp_path / "f.bin", 11 * MiB, seed=11)
    summary, results = _api(s3ferry.put, src, f"s3://{bucket}/plain.bin", server=server,
                            part_size=5 * MiB, multipart_threshold=5 * MiB)
    assert results[0].verdict is Verdict.UNVERIFIABLE, results[0]
    assert s3.head_object(Bucket=bucket, Key="plain.bin")["ContentLength"] == src.stat().st_size

    summary, results = _api(s3ferry.put, src, f"s3://{bucket}/crc.bin", server=server, checksum="crc64nvme",
                            part_size=5 * MiB, multipart_threshold=5 * MiB)
    assert summary.ok and results[0].verdict is Verdict.MATCH and "CRC64NVME" in results[0].detail
