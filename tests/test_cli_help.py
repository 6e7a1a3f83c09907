"""`lht --help` and each subcommand's help say what it does."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

LHT = str(Path(sys.executable).parent / "lht")
COMMANDS = ["sync", "add", "status", "jobs", "prune", "devorg", "report", "login", "logout"]


def _help(*args: str) -> str:
    result = subprocess.run([LHT, *args, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_top_level_help_lists_every_command_with_a_summary() -> None:
    text = _help()
    assert "lht keeps a warehouse in step with a Salesforce org" in text
    listed = text.split("Commands:", 1)[1].splitlines()
    for command in COMMANDS:
        line = next((entry for entry in listed if entry.strip().startswith(command + " ")), "")
        assert len(line.split(None, 1)[-1]) > 20, f"`lht {command}` has no summary in `lht --help`"


@pytest.mark.parametrize("command", COMMANDS)
def test_each_subcommand_help_describes_it_and_its_options(command: str) -> None:
    text = _help(command)
    usage, _, rest = text.partition("\n\n")
    assert usage.startswith(f"Usage: lht {command}")
    assert len(rest.split("Options:", 1)[0].strip()) > 30, f"`lht {command} --help` does not say what it does"
    assert "--help" in text
