"""The README's "What you see" transcript is what the CLI prints, example by example: each
`$` line runs (s3ferry against the moto server, anything else in bash) and its output must
match the lines under it, up to timings and rates (and the order of concurrent verdicts).

`python tests/integration/test_readme.py` prints a fresh transcript against an embedded
server, to paste into the README after a deliberate change of the output."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
from helpers import random_file  # noqa: E402

MiB = 1024 * 1024
BUCKET = "bucket"
SECTION = "### What you see"


def readme_transcript() -> list[tuple[str, list[str]]]:
    """(command, expected output lines) of each `$` line in the section's console blocks."""
    text = (ROOT / "README.md").read_text()
    if SECTION not in text:
        return []
    section = text[text.index(SECTION):]
    section = section[:section.index("\n## ", 1)] if "\n## " in section[1:] else section
    steps: list[tuple[str, list[str]]] = []
    for block in re.findall(r"```console\n(.*?)```", section, flags=re.S):
        for line in block.splitlines():
            if line.startswith("$ "):
                steps.append((line[2:], []))
            elif steps:
                steps[-1][1].append(line)
    return steps


def make_files(where: Path) -> None:
    """The files the transcript starts from (the README shows what they do, not their bytes)."""
    for seed, name in enumerate(("a.jpg", "b.jpg", "c.jpg"), start=1):
        random_file(where / "photos" / name, 1 * MiB + seed, seed=seed)
    random_file(where / "big.iso", 12 * MiB, seed=9)


def run_step(command: str, cwd: Path, env: dict[str, str]) -> list[str]:
    if command.startswith("s3ferry "):
        argv = [sys.executable, "-m", "s3ferry", *shlex.split(command)[1:]]
        done = subprocess.run(argv, cwd=cwd, env=env, capture_output=True, text=True, timeout=300)
    else:
        done = subprocess.run(["bash", "-c", command], cwd=cwd, env=env, capture_output=True, text=True, timeout=60)
    return [line.rstrip() for line in (done.stdout + done.stderr).splitlines()]


def normalize(lines: list[str]) -> list[str]:
    """Timings and rates vary run to run; verdicts of concurrent pairs come in any order."""
    out = [re.sub(r"\d+\.\d+ s\b", "T s", re.sub(r"\d+\.\d+ MiB/s", "R MiB/s", line)) for line in lines]
    body = [line for line in out if not re.match(r"^\w+( \(dry run\))?: ", line)]
    tail = [line for line in out if re.match(r"^\w+( \(dry run\))?: ", line)]
    return sorted(body) + tail


@pytest.mark.parametrize("server", ["moto"], indirect=True)
def test_readme_transcript_matches_the_cli(server, tmp_path):
    steps = readme_transcript()
    assert len(steps) >= 6, steps
    s3 = server.client()
    s3.create_bucket(Bucket=BUCKET)
    try:
        make_files(tmp_path)
        for command, expected in steps:
            got = run_step(command, tmp_path, server.env())
            assert normalize(got) == normalize(expected), (command, got)
    finally:
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=BUCKET):
            for item in page.get("Contents", []):
                s3.delete_object(Bucket=BUCKET, Key=item["Key"])
        s3.delete_bucket(Bucket=BUCKET)


def record(commands: list[str]) -> None:
    """Print a transcript of ``commands`` run against a fresh embedded server."""
    import tempfile

    import boto3

    from s3ferry.tools.embedded import moto_server

    with moto_server() as local, tempfile.TemporaryDirectory() as tmp:
        env = {**__import__("os").environ, **local.env()}
        boto3.client("s3", endpoint_url=local.endpoint_url, aws_access_key_id=local.access_key,
                     aws_secret_access_key=local.secret_key, region_name="us-east-1").create_bucket(Bucket=BUCKET)
        make_files(Path(tmp))
        for command in commands:
            print(f"$ {command}")
            for line in run_step(command, Path(tmp), env):
                print(line)


if __name__ == "__main__":
    record([command for command, _ in readme_transcript()] or [
        "s3ferry put ./photos s3://bucket/photos/",
        "s3ferry put big.iso s3://bucket/isos/ --part-size 5MiB",
        "s3ferry verify big.iso s3://bucket/isos/big.iso",
        "echo more >> photos/b.jpg; rm photos/c.jpg; echo new > photos/d.jpg",
        "s3ferry verify ./photos s3://bucket/photos/",
        "s3ferry sync ./photos s3://bucket/photos/ --delete --dry-run",
        "s3ferry sync ./photos s3://bucket/photos/ --delete",
    ])
