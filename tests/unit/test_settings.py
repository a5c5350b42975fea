"""Config precedence: flag > S3FERRY_* > config file > AWS_* / profile > default; secrets masked."""

import pytest

from s3ferry.core.settings import ConfigFile, config_path, parse_config_file, resolve, s3ferry_level, show_json, show_lines
from s3ferry.core.errors import ConfigError

SECRET = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"


def test_each_level_wins_over_the_ones_below():
    file = ConfigFile("/cfg.toml", {"endpoint_url": "http://file:1", "region": "file-region", "concurrency": 7})
    env = {"S3FERRY_ENDPOINT_URL": "http://env:1", "AWS_ENDPOINT_URL": "http://aws:1", "AWS_REGION": "aws-region",
           "AWS_DEFAULT_REGION": "aws-default"}
    flags = {"endpoint_url": "http://flag:1", "region": None, "concurrency": None}
    settings = resolve(flags, env, file, {"region": "profile-region"}, "dev")
    assert (settings["endpoint_url"].value, settings["endpoint_url"].source) == ("http://flag:1", "--endpoint-url")
    assert (settings["region"].value, settings["region"].source) == ("file-region", "config file /cfg.toml")
    assert settings["concurrency"].value == 7
    assert settings["part_size"].source == "default"
    # Peel the levels off one at a time.
    settings = resolve({}, env, file)
    assert settings["endpoint_url"].source == "env S3FERRY_ENDPOINT_URL"
    settings = resolve({}, {k: v for k, v in env.items() if not k.startswith("S3FERRY")}, file)
    assert settings["endpoint_url"].source == "config file /cfg.toml"
    settings = resolve({}, {"AWS_ENDPOINT_URL": "http://aws:1", "AWS_DEFAULT_REGION": "aws-default"}, None,
                       {"region": "profile-region", "endpoint_url": "http://profile:1"}, "dev")
    assert settings["endpoint_url"].source == "env AWS_ENDPOINT_URL"
    assert settings["region"].source == "env AWS_DEFAULT_REGION"
    settings = resolve({}, {}, None, {"region": "profile-region"}, "dev")
    assert (settings["region"].value, settings["region"].source) == ("profile-region", "profile dev")
    assert settings["endpoint_url"].source == "unset"


def test_aws_layer_is_left_to_botocore():
    settings = resolve({"part_size": "16MiB"}, {"AWS_REGION": "eu-west-1", "S3FERRY_PROFILE": "p"},
                       ConfigFile("/c", {"concurrency": 3}))
    assert s3ferry_level(settings) == {"part_size": "16MiB", "profile": "p", "concurrency": 3}


def test_secrets_are_never_shown():
    env = {"AWS_ACCESS_KEY_ID": "AKIAIOSFODNN7EXAMPLE", "AWS_SECRET_ACCESS_KEY": SECRET, "AWS_SESSION_TOKEN": "tok" * 20}
    settings = resolve({}, env)
    text = "\n".join(show_lines(settings)) + repr(show_json(settings))
    assert SECRET not in text and "tok" * 20 not in text and "AKIAIOSFODNN7EXAMPLE" not in text
    assert "MPLE" in text and "set, hidden" in text
    assert settings["secret_access_key"].source == "env AWS_SECRET_ACCESS_KEY"
    from_profile = resolve({}, {}, None, {"aws_secret_access_key": SECRET}, "ci")
    assert from_profile["secret_access_key"].source == "profile ci" and SECRET not in from_profile["secret_access_key"].shown


def test_part_memory_comes_from_the_flag_the_environment_or_the_file():
    file = ConfigFile("/c.toml", {"part_memory": "128MiB"})
    assert (resolve({}, {}, None)["part_memory"].value, resolve({}, {}, None)["part_memory"].source) == ("48MiB", "default")
    assert s3ferry_level(resolve({}, {}, file))["part_memory"] == "128MiB"
    assert s3ferry_level(resolve({}, {"S3FERRY_PART_MEMORY": "1GiB"}, file))["part_memory"] == "1GiB"
    assert s3ferry_level(resolve({"part_memory": "20MiB"}, {"S3FERRY_PART_MEMORY": "1GiB"}, file))["part_memory"] == "20MiB"
    assert "part_memory" not in s3ferry_level(resolve({}, {}, None))  # the default is Config's own


def test_config_file_parsing():
    parsed = parse_config_file('endpoint_url = "http://x:1"\npart_size = "16MiB"\nconcurrency = 4\n', "/c.toml")
    assert parsed.values == {"endpoint_url": "http://x:1", "part_size": "16MiB", "concurrency": 4}
    for text, message in [("nonsense = 1", "unknown setting"), ("secret_access_key = 'x'", "AWS profile"),
                          ("concurrency = [1]", "string or a number"), ("= =", "not valid TOML")]:
        with pytest.raises(ConfigError, match=message):
            parse_config_file(text, "/c.toml")


def test_config_path():
    assert config_path("/x.toml", {"S3FERRY_CONFIG": "/y"}, "/home/u") == ("/x.toml", True)
    assert config_path(None, {"S3FERRY_CONFIG": "/y"}, "/home/u") == ("/y", True)
    assert config_path(None, {"XDG_CONFIG_HOME": "/xdg"}, "/home/u") == ("/xdg/s3ferry/config.toml", False)
    assert config_path(None, {}, "/home/u") == ("/home/u/.config/s3ferry/config.toml", False)


def test_a_profile_named_by_s3ferry_supplies_the_credentials():
    """As botocore does: Session(profile=...) skips the AWS_* credential variables."""
    env = {"AWS_SECRET_ACCESS_KEY": SECRET, "AWS_ACCESS_KEY_ID": "AKIAENVENVENVENV"}
    named = resolve({"profile": "ci"}, env, None, {"aws_secret_access_key": "x" * 40}, "ci")
    assert named["secret_access_key"].source == "profile ci"
    by_aws = resolve({}, {**env, "AWS_PROFILE": "ci"}, None, {"aws_secret_access_key": "x" * 40}, "ci")
    assert by_aws["secret_access_key"].source == "env AWS_SECRET_ACCESS_KEY"
