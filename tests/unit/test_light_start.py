"""store/environ.light_start: the start without botocore's session only where the environment
settles what botocore's own chain would resolve; anything else goes the full way."""

from __future__ import annotations

import asyncio

import pytest

from s3ferry.core.config import Config
from s3ferry.store.environ import light_start

URL = "http://127.0.0.1:9000"
CREDS = {"AWS_ACCESS_KEY_ID": "AK", "AWS_SECRET_ACCESS_KEY": "SK"}


def _env(tmp_path, **extra: str) -> dict[str, str]:
    return {"AWS_CONFIG_FILE": str(tmp_path / "missing"), **CREDS, **extra}


def _config(**changes: object) -> Config:
    return Config(**{"endpoint_url": URL, "engine": "lean", "http": "raw", **changes})


def test_env_credentials_and_no_config_file_start_light(tmp_path):
    light = light_start(_config(), _env(tmp_path, AWS_SESSION_TOKEN="TOK"))
    assert light is not None and light.region == "us-east-1"
    frozen = asyncio.run(light.credentials.get_frozen_credentials())
    assert (frozen.access_key, frozen.secret_key, frozen.token) == ("AK", "SK", "TOK")


@pytest.mark.parametrize("changes", [
    {"profile": "work"},  # an explicit profile removes botocore's env provider
    {"http": "aiohttp"},
    {"engine": "botocore"},
    {"endpoint_url": "https://127.0.0.1:9000"},
    {"endpoint_url": None},  # AWS itself: botocore's endpoint rules
])
def test_what_only_botocore_serves_goes_the_full_way(tmp_path, changes):
    assert light_start(_config(**changes), _env(tmp_path)) is None


@pytest.mark.parametrize("extra", [
    {"AWS_ACCESS_KEY_ID": ""},
    {"AWS_SECRET_ACCESS_KEY": ""},
    {"HTTP_PROXY": "http://proxy:3128"},
    {"all_proxy": "http://proxy:3128"},
    {"AWS_USE_FIPS_ENDPOINT": "true"},
    {"AWS_USE_DUALSTACK_ENDPOINT": "TRUE"},
    {"AWS_CREDENTIAL_EXPIRATION": "2030-01-01T00:00:00Z"},
    {"AWS_PROFILE": "nowhere"},  # a named profile without a config file: botocore decides
])
def test_environments_botocore_must_resolve_go_the_full_way(tmp_path, extra):
    assert light_start(_config(), _env(tmp_path, **extra)) is None


def test_region_order_is_botocores(tmp_path):
    conf = tmp_path / "config"
    conf.write_text("[default]\nregion = eu-west-3\n[profile other]\nregion = ap-south-1\n")
    env = _env(tmp_path, AWS_CONFIG_FILE=str(conf))
    assert light_start(_config(), env).region == "eu-west-3"
    assert light_start(_config(), {**env, "AWS_PROFILE": "other"}).region == "ap-south-1"
    assert light_start(_config(), {**env, "AWS_DEFAULT_REGION": "us-west-2"}).region == "us-west-2"
    assert light_start(_config(region="sa-east-1"), env).region == "sa-east-1"


@pytest.mark.parametrize("section", [
    "use_fips_endpoint = true\n",
    "use_dualstack_endpoint = true\n",
    "s3 =\n  use_accelerate_endpoint = true\n",
    "s3 =\n  use_arn_region = true\n",
])
def test_a_config_file_that_redirects_goes_the_full_way(tmp_path, section):
    conf = tmp_path / "config"
    conf.write_text(f"[default]\n{section}")
    assert light_start(_config(), _env(tmp_path, AWS_CONFIG_FILE=str(conf))) is None


def test_an_unreadable_config_file_goes_the_full_way(tmp_path):
    conf = tmp_path / "config"
    conf.write_text("[default\nregion = x\n")
    assert light_start(_config(), _env(tmp_path, AWS_CONFIG_FILE=str(conf))) is None


def test_a_profile_only_the_credentials_file_knows_goes_the_full_way(tmp_path):
    conf = tmp_path / "config"
    conf.write_text("[default]\nregion = eu-west-3\n")
    assert light_start(_config(), _env(tmp_path, AWS_CONFIG_FILE=str(conf), AWS_PROFILE="ci")) is None
