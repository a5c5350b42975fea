"""Measure s3ferry as it runs when installed: with its modules compiled to bytecode.

pip compiles a package's modules when it installs it, and every peer here (aws-cli, boto3,
s3fs, ...) was installed that way. s3ferry under test is an editable install from src/, whose
bytecode is written on first import, unless PYTHONDONTWRITEBYTECODE is set (some shells and
CI runners set it): then every CLI run compiles every module again, ~0.1-0.3 CPU-s that no
installed copy pays. The benchmarks call :func:`as_installed` first.
"""

from __future__ import annotations

import compileall
import os
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"


def as_installed() -> None:
    """Compile s3ferry's modules now, and let the measured processes keep bytecode."""
    os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
    compileall.compile_dir(str(SRC), quiet=1)
