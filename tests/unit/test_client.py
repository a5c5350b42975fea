"""The client factory: profile errors, region default, and the endpoint-resolution cache."""

from __future__ import annotations

import json

import anyio
import botocore.session
import pytest

from s3ferry.store.client import UNREAD_ENDPOINT_PARAMS, open_client
from s3ferry.core.config import Config
from s3ferry.core.errors import ConfigError


def _references(node: object, found: set[str]) -> set[str]:
    if isinstance(node, dict):
        if isinstance(node.get("ref"), str):
            found.add(node["ref"])
        for value in node.values():
            _references(value, found)
    elif isinstance(node, list):
        for value in node:
            _references(value, found)
    elif isinstance(node, str) and "{" in node:  # templates such as "{Bucket}.s3..."
        found.update(part.split("}")[0].split("#")[0] for part in node.split("{")[1:])
    return found


def test_cache_drops_only_parameters_the_s3_ruleset_never_reads() -> None:
    ruleset = botocore.session.get_session().get_component("data_loader").load_service_model(
        "s3", "endpoint-rule-set-1")
    params = set(ruleset["parameters"])
    read = _references(ruleset["rules"], set())
    assert UNREAD_ENDPOINT_PARAMS <= params  # still parameters, so the filter is not a no-op
    assert not UNREAD_ENDPOINT_PARAMS & read, json.dumps(sorted(UNREAD_ENDPOINT_PARAMS & read))
    assert {"Bucket", "Region", "Endpoint"} <= read  # the scan does find what is read


def test_unknown_profile_is_a_config_error(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "credentials"))

    async def main() -> None:
        async with open_client(Config(profile="nope")):
            pass

    with pytest.raises(ConfigError, match="nope"):
        anyio.run(main)


def test_region_from_profile_else_us_east_1(tmp_path, monkeypatch) -> None:
    (tmp_path / "config").write_text("[profile p]\nregion = eu-west-3\n")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "config"))
    monkeypatch.delenv("AWS_REGION", raising=False)
    monkeypatch.delenv("AWS_DEFAULT_REGION", raising=False)

    async def region(config: Config) -> str:
        async with open_client(config) as client:
            return client.meta.region_name

    assert anyio.run(region, Config(profile="p")) == "eu-west-3"
    assert anyio.run(region, Config(profile="p", region="ap-south-1")) == "ap-south-1"
    assert anyio.run(region, Config(endpoint_url="http://127.0.0.1:9")) == "us-east-1"


def test_keys_share_one_endpoint_resolution() -> None:
    async def main() -> tuple[list[str], int]:
        async with open_client(Config(endpoint_url="http://127.0.0.1:9", region="us-east-1")) as client:
            ruleset = client._ruleset_resolver._provider.ruleset
            evaluate, runs = ruleset.evaluate, []
            ruleset.evaluate = lambda params: runs.append(params) or evaluate(params)
            operation = client.meta.service_model.operation_model("GetObject")
            urls = [(await client._resolve_endpoint_ruleset(operation, {"Bucket": "bk", "Key": key}, {}))[0]
                    for key in ("a/1", "b/2", "c/3")]
            return urls, len(runs)

    urls, runs = anyio.run(main)
    assert urls == ["http://127.0.0.1:9/bk"] * 3
    assert runs == 1  # the ruleset ran for the first key only
