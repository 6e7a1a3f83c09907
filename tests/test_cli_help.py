"""`lht --help` and each command's help (as a user types them) say what the command does and
describe every option; no command is left out."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import click
import pytest

from lht.cli import cli

LHT = str(Path(sys.executable).parent / "lht")
#: The commands the README documents: one missing from `lht --help` fails here.
COMMANDS = {
    "add",
    "devorg",
    "docs",
    "jobs",
    "login",
    "logout",
    "merge",
    "objects",
    "prune",
    "push",
    "remove",
    "report",
    "status",
    "sync",
}
JOBS_COMMANDS = {"abort", "delete", "history", "list", "results", "show"}


def _help(*args: str) -> str:
    result = subprocess.run([LHT, *args, "--help"], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    assert not result.stderr, result.stderr
    return result.stdout


def _flat(text: str) -> str:
    return " ".join(text.split())


def _command(path: tuple[str, ...]) -> click.Command:
    ctx = click.Context(cli)
    command: click.Command = cli
    for name in path:
        assert isinstance(command, click.Group)
        found = command.get_command(ctx, name)
        assert found is not None, f"no command {' '.join(path)}"
        command = found
    return command


def _listed(text: str) -> dict[str, str]:
    """The ``Commands:`` section of a group's help: name -> summary."""
    section = text.split("Commands:", 1)[1]
    return {
        line.split(None, 1)[0]: line.split(None, 1)[1]
        for line in section.splitlines()
        if line.strip()
    }


def test_top_level_help_lists_every_command_with_its_own_summary() -> None:
    text = _help()
    assert "lht keeps a warehouse in step with a Salesforce org" in text
    listed = _listed(text)
    assert set(listed) == COMMANDS == set(cli.list_commands(click.Context(cli)))
    for name, summary in listed.items():
        own = _flat(_command((name,)).help or "")
        assert len(summary) > 20, f"`lht {name}` has no summary in `lht --help`"
        assert own.startswith(summary.removesuffix("...").strip()), (
            f"`lht --help` summarises {name} as {summary!r}"
        )


def test_jobs_help_lists_each_job_command() -> None:
    listed = _listed(_help("jobs"))
    assert set(listed) == JOBS_COMMANDS
    assert all(len(summary) > 10 for summary in listed.values()), listed


@pytest.mark.parametrize(
    "path", sorted([(c,) for c in COMMANDS] + [("jobs", c) for c in JOBS_COMMANDS]), ids=" ".join
)
def test_each_command_help_describes_it_and_every_option(path: tuple[str, ...]) -> None:
    text = _help(*path)
    command = _command(path)
    usage, _, rest = text.partition("\n\n")
    assert usage.startswith(f"Usage: lht {' '.join(path)}")
    description = _flat(rest.split("Options:", 1)[0])
    top_level = len(path) == 1
    assert len(description) > (30 if top_level else 15), (
        f"`lht {' '.join(path)} --help` does not say what it does"
    )
    for argument in (p for p in command.params if isinstance(p, click.Argument)):
        assert argument.human_readable_name in usage, (
            f"the usage omits {argument.human_readable_name}"
        )
        if (
            top_level
        ):  # `lht jobs show JOB_ID` needs no sentence about JOB_ID; `lht sync OBJECTS` does
            assert argument.human_readable_name in description, (
                f"`lht {' '.join(path)} --help` does not explain {argument.human_readable_name}"
            )
    options = _flat(text.split("Options:", 1)[1])
    for option in (p for p in command.params if isinstance(p, click.Option) and not p.hidden):
        assert option.help, f"`lht {' '.join(path)}` option {option.opts[0]} has no help"
        assert all(name in options for name in option.opts), f"{option.opts} missing from the help"
        first_words = " ".join(_flat(option.help).split()[:4])
        assert first_words in options, f"the help of {option.opts[0]} is not shown: {first_words!r}"
    assert "--help" in options
