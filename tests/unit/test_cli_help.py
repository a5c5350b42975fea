"""Every command's --help renders (rich markup in help texts once crashed `uploads ls --help`)."""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from s3ferry.cli.app import app

COMMANDS = [[], ["put"], ["get"], ["verify"], ["sync"], ["bench"], ["demo"], ["uploads"],
            ["uploads", "ls"], ["uploads", "abort"], ["uploads", "lifecycle"]]


@pytest.mark.parametrize("command", COMMANDS, ids=lambda c: " ".join(c) or "top")
def test_help_renders(command):
    result = CliRunner().invoke(app, [*command, "--help"])
    assert result.exit_code == 0, result.output
    assert "Usage" in result.output and "Error" not in result.output
