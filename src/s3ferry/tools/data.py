"""Test data for the demo and the benchmark sweep."""

from __future__ import annotations

import os
from pathlib import Path

_RANDOM_BLOCK = 8 * 1024 * 1024


def write_random(path: Path, size: int) -> None:
    """Incompressible bytes, so no store or link can flatter the figures by compressing."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "wb") as handle:
        left = size
        while left:
            block = min(left, _RANDOM_BLOCK)
            handle.write(os.urandom(block))
            left -= block
