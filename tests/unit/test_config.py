import dataclasses

import pytest

from s3ferry.core.config import Config, MiB, parse_size
from s3ferry.core.errors import ConfigError


def test_defaults():
    config = Config()
    assert config.part_size == 8 * MiB and config.max_concurrency == 16
    assert config.pool_size >= config.max_concurrency


@pytest.mark.parametrize("changes, message", [
    ({"part_size": 4 * MiB}, "part size"),
    ({"max_concurrency": 0}, "concurrency"),
    ({"max_attempts": 0}, "attempts"),
    ({"read_timeout": 0}, "timeouts"),
    ({"checksum": "sha1024"}, "checksum"),
    ({"addressing_style": "sideways"}, "addressing"),
    ({"endpoint_url": "localhost:9000"}, "endpoint"),
    ({"multipart_threshold": 6 * 1024 * MiB}, "threshold"),
])
def test_bad_values_are_clear_errors(changes, message):
    with pytest.raises(ConfigError, match=message):
        Config(**changes)


def test_frozen_and_replace_validates():
    config = Config()
    with pytest.raises(dataclasses.FrozenInstanceError):
        config.part_size = 1  # type: ignore[misc]
    assert config.replace(max_concurrency=4).max_concurrency == 4
    with pytest.raises(ConfigError):
        config.replace(part_size=1)


@pytest.mark.parametrize("text, value", [("8MiB", 8 * MiB), ("8m", 8 * MiB), ("5242880", 5242880),
                                         ("1.5GiB", 1536 * MiB), ("64KiB", 65536)])
def test_parse_size(text, value):
    assert parse_size(text) == value


@pytest.mark.parametrize("text", ["", "MiB", "8XB", "-1M", "eight"])
def test_parse_size_rejects(text):
    with pytest.raises(ConfigError):
        parse_size(text)
