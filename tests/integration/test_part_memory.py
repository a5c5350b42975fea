"""--part-memory (S3FERRY_PART_MEMORY, the config file's part_memory): the bytes of part buffers a
run holds at once, which bounds the parts in flight whatever -c says."""

from __future__ import annotations

import json

import pytest

from s3ferry.core.config import MiB

from helpers import md5_file, proxy_in_front, random_file, run_cli
from test_config_cmd import clean_env, show

PART = 5 * MiB
PARTS = 8
STALL = 2.0  # seconds each UploadPart is held at the proxy: every part begun meanwhile is in flight at once


def test_config_show_names_part_memory_and_its_source(tmp_path):
    env = clean_env(tmp_path)
    assert show(env)["part_memory"] == {"value": "48MiB", "source": "default"}
    assert show({**env, "S3FERRY_PART_MEMORY": "1GiB"})["part_memory"] == \
        {"value": "1GiB", "source": "env S3FERRY_PART_MEMORY"}
    assert show(env, "--part-memory", "256MiB")["part_memory"] == {"value": "256MiB", "source": "--part-memory"}


def _put_counting_connections(server, bucket, tmp_path, *flags: str, env: dict[str, str] | None = None) -> int:
    """A put of PARTS parts with -c 16 whose UploadParts the proxy holds for STALL seconds:
    the connections the client opened are the parts it had in flight at once (plus one or two
    for HeadBucket, Create and Complete)."""
    src = random_file(tmp_path / "src.bin", PARTS * PART, seed=3)
    with proxy_in_front(server) as proxy:
        proxy.set_fault("stall", stall_seconds=STALL, methods=["PUT"], match=lambda _method, target: "partNumber=" in target)
        result = run_cli(server, "put", str(src), f"s3://{bucket}/src.bin", "--endpoint-url", proxy.url,
                         "--part-size", "5MiB", "-c", "16", "--json", *flags, env={**server.env(), **(env or {})})
        connections = proxy.stats.connections
    assert result.returncode == 0, result.stderr
    line = json.loads(result.stdout.splitlines()[0])
    assert line["verdict"] == "match" and line["etag"].endswith(f"-{PARTS}")
    got = tmp_path / "back.bin"
    assert run_cli(server, "get", f"s3://{bucket}/src.bin", str(got), "--quiet").returncode == 0
    assert md5_file(got) == md5_file(src)
    return connections


@pytest.mark.parametrize("server", ["moto"], indirect=True)
@pytest.mark.parametrize(("flags", "env"), [(("--part-memory", "20MiB"), {}), ((), {"S3FERRY_PART_MEMORY": "20MiB"})],
                         ids=["flag", "env"])
def test_part_memory_bounds_the_parts_in_flight(server, bucket, tmp_path, flags, env):
    # 20 MiB: room for 4 parts of 5 MiB, so at most 4 UploadParts at once although -c is 16.
    assert _put_counting_connections(server, bucket, tmp_path, *flags, env=env) <= 4 + 2


@pytest.mark.parametrize("server", ["moto"], indirect=True)
def test_the_default_part_memory_lets_all_eight_parts_go_at_once(server, bucket, tmp_path):
    # 48 MiB: room for 9 parts of 5 MiB; what the proxy counts is the parts in flight.
    assert _put_counting_connections(server, bucket, tmp_path) >= PARTS
