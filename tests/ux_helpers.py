"""Helpers for the tests of what a person sees (issue 12): the CLI's text and JSON."""

from __future__ import annotations

import json
import os
import pty
import re
import select
import subprocess
import sys
from pathlib import Path
from typing import Any

from helpers import random_file

MiB = 1024 * 1024


def text_lines(text: str) -> list[str]:
    """The non-blank lines, right-stripped."""
    return [line.rstrip() for line in text.splitlines() if line.strip()]


def json_output(stdout: str) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """(the per-item objects, the summary) of a ``--json`` run."""
    objects = [json.loads(line) for line in text_lines(stdout)]
    assert objects and "summary" in objects[-1], stdout
    return objects[:-1], objects[-1]["summary"]


def make_tree(root: Path, sizes: dict[str, int]) -> Path:
    """Files of the given sizes (relative path -> bytes), distinct random contents."""
    for seed, (name, size) in enumerate(sorted(sizes.items())):
        random_file(root / name, size, seed=seed + 1)
    return root


def keys_of(server: Any, bucket: str, prefix: str = "") -> dict[str, str]:
    """key -> ETag of every object under ``prefix`` (boto3, independent of s3ferry)."""
    found: dict[str, str] = {}
    for page in server.client().get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
        for item in page.get("Contents", []):
            found[item["Key"]] = item["ETag"].strip('"')
    return found


def run_with_tty(server: Any, *args: str, columns: int = 120, timeout: float = 300) -> tuple[int, str, str]:
    """Run the CLI with stderr on a pseudo-terminal (as in a real terminal) and stdout on a
    pipe; returns (exit code, stdout, everything written to the terminal)."""
    leader, follower = pty.openpty()
    env = {**server.env(), "COLUMNS": str(columns), "TERM": "xterm-256color"}
    env.pop("NO_COLOR", None)
    process = subprocess.Popen([sys.executable, "-m", "s3ferry", *args], env=env, stdout=subprocess.PIPE,
                               stderr=follower, text=True)
    os.close(follower)
    captured = bytearray()
    try:
        while True:
            ready, _, _ = select.select([leader], [], [], timeout)
            if not ready:
                raise AssertionError(f"no output for {timeout} s: {captured[-2000:]!r}")
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            captured += chunk
        stdout = process.stdout.read() if process.stdout else ""
        code = process.wait(timeout=timeout)
    finally:
        os.close(leader)
        if process.poll() is None:
            process.kill()
    return code, stdout, captured.decode("utf-8", "replace")


def bar_frames(terminal: str) -> list[str]:
    """The progress bar's frames: rich redraws the line after each carriage return or erase."""
    plain = terminal.replace("\x1b[2K", "\r")
    frames = []
    for piece in plain.replace("\n", "\r").split("\r"):
        text = _strip_ansi(piece).strip()
        if text:
            frames.append(text)
    return frames


def _strip_ansi(text: str) -> str:
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", text)
