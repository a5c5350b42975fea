"""Every command's --help renders (rich markup in help texts once crashed `uploads ls --help`)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from s3ferry.cli.app import app

COMMANDS = [[], ["put"], ["get"], ["verify"], ["sync"], ["bench"], ["demo"], ["uploads"],
            ["uploads", "ls"], ["uploads", "abort"], ["uploads", "lifecycle"],
            ["ls"], ["du"], ["stat"], ["rm"], ["cat"], ["cp"], ["mv"], ["presign"], ["config"], ["config", "show"]]
NEW_COMMANDS = ["ls", "du", "stat", "rm", "cat", "cp", "mv", "presign"]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_renders(command):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output and "Error" not in result.output


@pytest.mark.parametrize("command", NEW_COMMANDS)
def test_new_commands_show_examples(command):
    result = CliRunner().invoke(app, [command, "--help"])
    assert result.exit_code == 0 and "Examples" in result.output and f"s3ferry {command}" in result.output
