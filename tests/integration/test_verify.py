"""verify against real servers: objects uploaded by other tools (plain boto3, no s3ferry
metadata) verify as match on both lanes; on Ceph (no PartNumber support) by guessing."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest

import s3ferry
from s3ferry.core.config import MiB
from s3ferry.core.results import Verdict

from helpers import Collect, boto3_multipart, random_file, run_cli

SIZE = 40 * MiB


def upload_like_another_tool(server, bucket: str, key: str, path: Path, part_size: int) -> None:
    """Upload as another tool would: plain multipart calls, no metadata."""
    boto3_multipart(server.client(), bucket, key, path.read_bytes(), part_size)


def verify(server, local, remote, **config):
    progress = Collect()
    summary = asyncio.run(s3ferry.verify(local, remote, config=server.config(**config), progress=progress))
    return summary, progress.results


@pytest.fixture(scope="module")
def big_file(tmp_path_factory) -> Path:
    return random_file(tmp_path_factory.mktemp("verify") / "big.bin", SIZE, seed=40)


@pytest.mark.parametrize("part_mib", [5, 15, 8])
def test_foreign_multipart_object_verifies_as_match(server, bucket, big_file, part_mib):
    upload_like_another_tool(server, bucket, "big.bin", big_file, part_mib * MiB)
    summary, results = verify(server, big_file, f"s3://{bucket}/big.bin")
    assert summary.exit_code == 0 and summary.ok, results
    [result] = results
    assert result.verdict is Verdict.MATCH and result.op == "verify"
    assert result.detail.startswith(f"layout: {part_mib} MiB × ")
    if server.name == "ceph":  # no PartNumber support: found by guessing
        assert result.detail.endswith(", guessed")

    proc = run_cli(server, "verify", str(big_file), f"s3://{bucket}/big.bin", "--addressing-style", "path", "--json")
    assert proc.returncode == 0, proc.stderr
    line = json.loads(proc.stdout.splitlines()[0])
    assert line["verdict"] == "match" and line["op"] == "verify"


def test_changed_byte_is_a_mismatch(server, bucket, tmp_path):
    src = random_file(tmp_path / "f.bin", 12 * MiB + 5, seed=7)
    config = server.config(part_size=5 * MiB, multipart_threshold=5 * MiB)
    assert asyncio.run(s3ferry.put(src, f"s3://{bucket}/f.bin", config=config)).ok
    upload_like_another_tool(server, bucket, "foreign.bin", src, 5 * MiB)
    summary, results = verify(server, src, f"s3://{bucket}/f.bin")
    assert summary.exit_code == 0 and results[0].detail.endswith(", from metadata")

    data = bytearray(src.read_bytes())
    data[6 * MiB] ^= 0x01
    src.write_bytes(bytes(data))
    summary, results = verify(server, src, f"s3://{bucket}/f.bin")
    assert results[0].verdict is Verdict.MISMATCH and summary.exit_code == 3

    proc = run_cli(server, "verify", str(src), f"s3://{bucket}/f.bin", "--addressing-style", "path")
    assert proc.returncode == 3
    # one verdict line on stdout, as sha256sum -c prints it; nothing repeated on stderr
    verdicts = [line for line in proc.stdout.splitlines() if line.startswith("mismatch ")]
    assert len(verdicts) == 1 and "f.bin" in verdicts[0]
    assert "mismatch" not in proc.stderr

    # A foreign object: moto tells the layout (PartNumber=1), so it is a mismatch; Ceph does
    # not, and no guessed layout matches: unverifiable, never a match, same exit code.
    summary, results = verify(server, src, f"s3://{bucket}/foreign.bin")
    expected = Verdict.MISMATCH if server.name == "moto" else Verdict.UNVERIFIABLE
    assert results[0].verdict is expected and summary.exit_code == 3


def test_missing_local_and_missing_remote(server, bucket, tmp_path):
    src = random_file(tmp_path / "s.bin", 1000, seed=1)
    assert asyncio.run(s3ferry.put(src, f"s3://{bucket}/s.bin", config=server.config())).ok
    summary, results = verify(server, src, f"s3://{bucket}/s.bin")
    assert results[0].verdict is Verdict.MATCH and results[0].detail == "layout: single PUT"

    summary, results = verify(server, src, f"s3://{bucket}/other.bin")
    assert results[0].verdict is Verdict.MISSING_REMOTE and summary.exit_code == 4

    src.unlink()
    summary, results = verify(server, src, f"s3://{bucket}/s.bin")
    assert results[0].verdict is Verdict.MISSING_LOCAL and summary.exit_code == 4
    proc = run_cli(server, "verify", str(src), f"s3://{bucket}/s.bin", "--addressing-style", "path", "--json")
    assert proc.returncode == 4
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert lines[0]["verdict"] == "missing-local" and lines[-1]["summary"]["exit_code"] == 4


def test_recursive_verify_reports_exactly_the_altered_and_the_missing(server, bucket, tmp_path):
    folder = tmp_path / "tree"
    for i in range(500):
        random_file(folder / f"d{i % 7}" / f"f{i:03}.bin", 1000 + i, seed=i)
    assert asyncio.run(s3ferry.put(folder, f"s3://{bucket}/tree/", config=server.config())).files == 500

    summary, results = verify(server, folder, f"s3://{bucket}/tree/")
    assert summary.exit_code == 0 and len(results) == 500
    assert {r.verdict for r in results} == {Verdict.MATCH}

    altered = folder / "d3" / "f010.bin"
    data = bytearray(altered.read_bytes())
    data[100] ^= 0xFF
    altered.write_bytes(bytes(data))
    (folder / "d5" / "f250.bin").unlink()

    proc = run_cli(server, "verify", str(folder), f"s3://{bucket}/tree/", "--addressing-style", "path", "--json")
    assert proc.returncode == 3, proc.stderr
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    summary_line = lines.pop()["summary"]
    assert summary_line["failed"] == 2
    bad = sorted((r["verdict"], Path(r["source"]).name) for r in lines if r["verdict"] != "match")
    assert bad == [("mismatch", "f010.bin"), ("missing-local", "f250.bin")]
    assert len(lines) == 500
    assert len(proc.stderr.strip().splitlines()) == 2  # one line per failing pair

    # an extra local file is missing on the remote side
    random_file(folder / "extra.bin", 10, seed=3)
    summary, results = verify(server, folder, f"s3://{bucket}/tree/")
    assert sorted(r.verdict.value for r in results if r.verdict is not Verdict.MATCH) == \
        ["mismatch", "missing-local", "missing-remote"]


def test_get_of_foreign_multipart_object_verifies_by_guessing(server, bucket, big_file, tmp_path):
    """No metadata, and on Ceph no PartNumber support: the download used to end unverifiable."""
    upload_like_another_tool(server, bucket, "big.bin", big_file, 15 * MiB)
    progress = Collect()
    out = tmp_path / "out.bin"
    summary = asyncio.run(s3ferry.get(f"s3://{bucket}/big.bin", out, config=server.config(require_verify=True),
                                      progress=progress))
    assert summary.ok and summary.exit_code == 0, summary.errors
    [result] = progress.results
    assert result.verdict is Verdict.MATCH
    if server.name == "ceph":
        assert result.detail == "guessed: parts of 15 MiB"
    assert out.read_bytes() == big_file.read_bytes()
    assert not list(tmp_path.glob(".*s3ferry.tmp"))
