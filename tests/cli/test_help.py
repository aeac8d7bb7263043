"""What an operator reads in ``--help``: every command's text, rendered, never docstring markup."""

from __future__ import annotations

import typer
from typer.testing import CliRunner

from prefect_virustotal.cli import ExitCode, app

runner = CliRunner()


def _commands(group: typer.Typer, prefix: list[str]) -> list[list[str]]:
    found = [[*prefix, str(c.name or c.callback.__name__)] for c in group.registered_commands if c.callback]
    for sub in group.registered_groups:
        if sub.typer_instance is not None:
            found += _commands(sub.typer_instance, [*prefix, str(sub.name)])
    return found


def test_every_commands_help_is_rendered_text() -> None:
    commands = _commands(app, [])
    assert ["lookup"] in commands and ["collection", "sync"] in commands
    for command in commands:
        if command == ["setup"]:
            continue  # parses its own options (argparse); its help is tested in test_setup.py
        result = runner.invoke(app, [*command, "--help"], terminal_width=100)
        assert result.exit_code == ExitCode.OK, (command, result.output)
        # reStructuredText literals (``x``) are a docstring's, not an operator's.
        assert "``" not in result.output, (command, result.output)
    assert "``" not in runner.invoke(app, ["--help"], terminal_width=100).output
