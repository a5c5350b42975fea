import dataclasses

import pytest

from s3ferry.core.config import Config, MiB, parse_size
from s3ferry.core.errors import ConfigError


def test_defaults():
    config = Config()
    assert config.part_size == 8 * MiB and config.max_concurrency == 48
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


def test_part_budget_is_the_memory_setting_whatever_the_concurrency() -> None:
    assert Config().part_budget == 48 * MiB  # 6 parts of 8 MiB, though 48 may be in flight
    assert Config(max_concurrency=256).part_budget == 48 * MiB
    assert Config(max_concurrency=2).part_budget == 16 * MiB  # never more than -c parts use
    assert Config(part_memory=200 * MiB, max_concurrency=16).part_budget == 128 * MiB  # at most -c parts


def test_part_budget_leaves_room_for_a_few_large_parts() -> None:
    assert Config(part_size=64 * MiB).part_budget == 256 * MiB  # 4 parts of the size chosen
    assert Config(part_size=64 * MiB, max_concurrency=1).part_budget == 64 * MiB


def test_part_memory_below_one_minimum_part_is_refused() -> None:
    with pytest.raises(ConfigError):
        Config(part_memory=MiB)


def test_parts_in_flight_is_the_part_budgets_worth_at_least_one_at_most_c():
    config = Config(part_size=8 * MiB)  # 48 MiB of part memory at defaults
    assert config.parts_in_flight(8 * MiB) == 6
    assert config.parts_in_flight(512 * MiB) == 1  # a huge part still goes, one at a time
    assert Config(max_concurrency=2).parts_in_flight(1 * MiB) == 2  # never more than -c
    assert config.parts_in_flight(0) == config.max_concurrency
