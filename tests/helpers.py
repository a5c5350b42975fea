"""Helpers shared by the integration tests."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path
from typing import Any


def run_cli(server: Any, *args: str, timeout: float = 300, **kwargs) -> subprocess.CompletedProcess[str]:
    """Run the real CLI in a subprocess against ``server``."""
    return subprocess.run([sys.executable, "-m", "s3ferry", *args], env=server.env(), capture_output=True,
                          text=True, timeout=timeout, **kwargs)


def random_file(path: Path, size: int, seed: int = 0) -> Path:
    """Incompressible, reproducible bytes, written in 8 MiB blocks."""
    rng = random.Random(seed)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        left = size
        while left:
            block = min(left, 8 * 1024 * 1024)
            handle.write(rng.randbytes(block))
            left -= block
    return path
