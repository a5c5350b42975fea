"""Issue 12, item 5: --help reads right. Flags show no `<bool>` value, arguments read
SOURCE DESTINATION, and every command's help has two or three examples. The help is rendered
by the real entry point in a subprocess, 120 columns wide, as a person would see it."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

TRANSFERS = ["put", "get", "verify", "sync"]
COMMANDS = [[c] for c in TRANSFERS] + [["uploads", "ls"], ["uploads", "abort"], ["uploads", "lifecycle"]]


def help_text(*command: str) -> str:
    env = {**os.environ, "COLUMNS": "120", "TERM": "dumb"}
    done = subprocess.run([sys.executable, "-m", "s3ferry", *command, "--help"], env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_shows_no_bool_metavar(command):
    text = help_text(*command)
    assert "<bool>" not in text, text


@pytest.mark.parametrize("command", TRANSFERS)
def test_arguments_read_source_destination(command):
    text = help_text(command)
    usage = next(line for line in text.splitlines() if "Usage:" in line)
    assert re.search(rf"s3ferry {command} \[OPTIONS\] SOURCE DESTINATION\s*$", usage), usage
    assert "{source}" not in text and "{destination}" not in text


@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_help_has_two_or_three_examples(command):
    text = help_text(*command)
    examples = re.findall(rf"^\W*s3ferry {' '.join(command)} \S", text, flags=re.MULTILINE)
    assert 2 <= len(examples) <= 3, text


def test_sync_delete_is_a_flag_in_the_help_and_on_the_command_line():
    text = help_text("sync")
    row = next(line for line in text.splitlines() if "--delete " in line and "--max-delete" not in line)
    assert "<" not in row.split("--delete", 1)[1].split("Remove")[0], row
