"""put and get against real servers (moto and Ceph): bytes, ETags, layout, directories."""

from __future__ import annotations

import asyncio
import os

import pytest

import s3ferry
from s3ferry.core.config import META_PART_SIZE, MiB
from s3ferry.core.etag import etag_of_bytes, normalize
from s3ferry.core.results import Verdict

from helpers import Collect, boto3_multipart, md5_file, random_file, run_cli




def test_small_file_single_put_round_trip(server, bucket, tmp_path):
    src = random_file(tmp_path / "small.bin", 100_000)
    summary = asyncio.run(s3ferry.put(src, f"s3://{bucket}/a/small.bin", config=server.config()))
    assert summary.ok and summary.files == 1
    head = server.client().head_object(Bucket=bucket, Key="a/small.bin")
    assert normalize(head["ETag"]) == md5_file(src)
    assert head["ContentType"] == "application/octet-stream"
    out = tmp_path / "out.bin"
    assert asyncio.run(s3ferry.get(f"s3://{bucket}/a/small.bin", out, config=server.config())).ok
    assert out.read_bytes() == src.read_bytes()


@pytest.mark.parametrize("size", [12 * MiB + 7, 15 * MiB])  # ragged tail, exact multiple
def test_multipart_round_trip_and_etag_equals_server(server, bucket, tmp_path, size):
    src = random_file(tmp_path / "mp.bin", size, seed=size)
    progress = Collect()
    config = server.config(part_size=5 * MiB, multipart_threshold=5 * MiB, max_concurrency=4)
    assert asyncio.run(s3ferry.put(src, f"s3://{bucket}/mp.bin", config=config, progress=progress)).ok
    expected = etag_of_bytes(src.read_bytes(), 5 * MiB)
    head = server.client().head_object(Bucket=bucket, Key="mp.bin")
    assert normalize(head["ETag"]) == expected == progress.results[0].etag
    assert progress.results[0].verdict is Verdict.MATCH
    assert head["Metadata"][META_PART_SIZE] == str(5 * MiB)

    progress.results.clear()
    out = tmp_path / "dl" / "mp.bin"
    assert asyncio.run(s3ferry.get(f"s3://{bucket}/mp.bin", out, config=server.config(), progress=progress)).ok
    assert md5_file(out) == md5_file(src)
    assert progress.results[0].verdict is Verdict.MATCH and progress.results[0].detail == "metadata"
    assert not list(out.parent.glob(".*s3ferry.tmp"))


def test_edge_sizes_round_trip(server, bucket, tmp_path):
    """Zero bytes, exactly the threshold, exactly N x part size, one byte over."""
    sizes = {"zero": 0, "threshold": 5 * MiB, "two-parts": 10 * MiB, "over": 10 * MiB + 1}
    folder = tmp_path / "edge"
    for name, size in sizes.items():
        random_file(folder / name, size, seed=size)
    config = server.config(part_size=5 * MiB, multipart_threshold=5 * MiB)
    assert asyncio.run(s3ferry.put(folder, f"s3://{bucket}/edge/", config=config)).files == 4
    s3 = server.client()
    for name, size in sizes.items():
        data = (folder / name).read_bytes()
        expected = etag_of_bytes(data, 5 * MiB if size >= 5 * MiB else None)
        assert normalize(s3.head_object(Bucket=bucket, Key=f"edge/{name}")["ETag"]) == expected
    out = tmp_path / "back"
    summary = asyncio.run(s3ferry.get(f"s3://{bucket}/edge/", out, config=server.config()))
    assert summary.ok and summary.files == 4
    for name in sizes:
        assert (out / name).read_bytes() == (folder / name).read_bytes()


def test_directory_round_trip_with_awkward_names(server, bucket, tmp_path):
    names = ["plain.txt", "with space.txt", "plus+sign.txt", "per%25cent.txt", "ünïcødé/ファイル.txt",
             "deep/a/b/c/d.txt", "a-b.txt", "a/x.txt", "a.txt"]
    src = tmp_path / "tree"
    for index, name in enumerate(names):
        random_file(src / name, 1000 + index * 37, seed=index)
    summary = asyncio.run(s3ferry.put(src, f"s3://{bucket}/tree/", config=server.config()))
    assert summary.ok and summary.files == len(names)
    listed = {o["Key"] for o in server.client().list_objects_v2(Bucket=bucket)["Contents"]}
    assert listed == {f"tree/{n}" for n in names}
    out = tmp_path / "out"
    assert asyncio.run(s3ferry.get(f"s3://{bucket}/tree/", out, config=server.config())).files == len(names)
    for name in names:
        assert (out / name).read_bytes() == (src / name).read_bytes()


def test_get_without_trailing_slash_finds_the_prefix(server, bucket, tmp_path):
    random_file(tmp_path / "t" / "x", 10)
    asyncio.run(s3ferry.put(tmp_path / "t", f"s3://{bucket}/p/", config=server.config()))
    summary = asyncio.run(s3ferry.get(f"s3://{bucket}/p", tmp_path / "o", config=server.config()))
    assert summary.files == 1 and (tmp_path / "o" / "x").read_bytes() == (tmp_path / "t" / "x").read_bytes()


def test_wrong_layout_metadata_is_a_mismatch_and_leaves_nothing(server, bucket, tmp_path):
    """An object whose recorded part size is wrong but plausible: the download must fail
    verification, twice, and leave neither the file nor a temporary behind."""
    data = random_file(tmp_path / "src", 20 * MiB).read_bytes()
    boto3_multipart(server.client(), bucket, "liar", data, 5 * MiB, Metadata={META_PART_SIZE: str(6 * MiB)})
    out = tmp_path / "dl" / "liar"
    out.parent.mkdir()
    result = run_cli(server, "get", f"s3://{bucket}/liar", str(out))
    assert result.returncode == 3, result.stderr
    assert "liar" in result.stderr and "ETag" in result.stderr and "Traceback" not in result.stderr
    assert os.listdir(out.parent) == []


@pytest.mark.parametrize("part_mib, how", [(6, "guessed: "), (8, "guessed from the ranges: ")])
def test_foreign_multipart_object_verifies_on_get(server, bucket, tmp_path, part_mib, how):
    """A multipart object with no s3ferry metadata: moto answers HeadObject(PartNumber=1),
    Ceph does not, and there the part size is guessed: from the fetched ranges when the
    uploader used our range size, else from the downloaded file."""
    data = random_file(tmp_path / "src", 20 * MiB).read_bytes()
    boto3_multipart(server.client(), bucket, "plain", data, part_mib * MiB)
    result = run_cli(server, "get", f"s3://{bucket}/plain", str(tmp_path / "out"), "--json", "--require-verify")
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "out").read_bytes() == data
    assert '"verdict": "match"' in result.stdout
    if server.name == "ceph":
        assert how in result.stdout
