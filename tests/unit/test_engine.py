"""The engine switch: Config.engine, --engine / S3FERRY_ENGINE, one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from s3ferry.core.config import DEFAULT_ENGINE, Config
from s3ferry.core.errors import ConfigError


def test_default_engine_is_lean() -> None:
    assert Config().engine == DEFAULT_ENGINE == "lean"


def test_unknown_engine_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="engine must be lean or botocore"):
        Config(engine="fast")  # type: ignore[arg-type]


@pytest.mark.parametrize("how", ["option", "env"])
def test_cli_rejects_an_unknown_engine_in_one_line(tmp_path, how: str) -> None:
    src = tmp_path / "f.txt"
    src.write_text("x")
    args = ["--engine", "fast"] if how == "option" else []
    env = {**os.environ, "S3FERRY_ENGINE": "fast"} if how == "env" else dict(os.environ)
    done = subprocess.run([sys.executable, "-m", "s3ferry", "put", str(src), "s3://b/k", *args],
                          check=False, env=env, capture_output=True, text=True)
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == ["error: engine must be lean or botocore, got 'fast'"]
