"""Hostile text and special files through the command line (issue 15, finding 6): one clear line
and exit 2, markup shown literally, escapes shown escaped, never a traceback or a hang.

What is under test is the command line's handling of its input, so the commands run on their
direct path (no Prefect API, as from a user's shell; ``tests.direct``): the runbook is the same
core code as the flow's (``core.run_triage``), without Prefect's cost per run.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

from prefect_virustotal.cli import ExitCode, app
from prefect_virustotal.cli._common import Target, emulator_settings, runs_direct
from tests.direct import direct_cli  # noqa: F401 - the fixture, used by name below

pytestmark = [
    pytest.mark.usefixtures("direct_cli"),
    pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning"),
]

runner = CliRunner()
RAW_ESCAPE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\x80-\x9f]")


def clean(output: str) -> None:
    assert "Traceback" not in output
    assert not RAW_ESCAPE.search(output), repr(output)


def test_these_commands_run_on_the_direct_path() -> None:
    # --emulator without --record: no flow run, no Prefect server (see the module docstring).
    assert runs_direct(Target(emulator_settings(), emulated=True), record=False)


def test_markup_in_an_indicator_is_shown_literally() -> None:
    result = runner.invoke(app, ["lookup", "[/red]", "--emulator"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "[/red]" in result.output
    clean(result.output)


def test_escapes_in_an_indicator_are_shown_escaped() -> None:
    result = runner.invoke(app, ["lookup", "\x1b[31mevil\x1b[0m\x07", "--emulator"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "\\x1b" in result.output
    clean(result.output)


def special_files(tmp_path: Path) -> dict[str, str]:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    return {"fifo": str(fifo), "dev-zero": "/dev/zero", "directory": str(tmp_path)}


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "directory"])
@pytest.mark.parametrize("where", ["ticket", "attachment", "collection", "rules", "feed"])
def test_special_files_are_refused_before_reading(tmp_path: Path, kind: str, where: str) -> None:
    special = special_files(tmp_path)[kind]
    ticket = tmp_path / "ticket.txt"
    ticket.write_text("nothing to see\n")
    args = {
        "ticket": ["triage", special],
        "attachment": ["triage", str(ticket), special],
        "collection": ["collection", "sync", "case", special],
        "rules": ["retrohunt", special],
        "feed": ["lookup", "--file", special],
    }[where]
    result = runner.invoke(app, [*args, "--emulator"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "not a regular file" in result.output
    clean(result.output)


@pytest.mark.skipif(os.geteuid() == 0, reason="root reads a mode-000 file")
def test_an_unreadable_ticket_is_bad_input(tmp_path: Path) -> None:
    ticket = tmp_path / "ticket.txt"
    ticket.write_text("8.8.8.8\n")
    ticket.chmod(0)
    result = runner.invoke(app, ["triage", str(ticket), "--emulator"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "permission denied" in result.output


def test_latin1_rules_and_random_bytes_are_bad_input(tmp_path: Path) -> None:
    rules = tmp_path / "rules.yar"
    rules.write_bytes('rule caf\xe9 { strings: $a = "\xe9t\xe9" condition: $a }'.encode("latin-1"))
    result = runner.invoke(app, ["retrohunt", str(rules), "--emulator"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "not UTF-8 or UTF-16 text" in result.output
    ticket = tmp_path / "ticket.bin"
    ticket.write_bytes(bytes(range(256)) * 4)
    result = runner.invoke(app, ["triage", str(ticket), "--emulator"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    clean(result.output)


def test_an_oversized_ticket_is_refused_with_the_limit(tmp_path: Path) -> None:
    ticket = tmp_path / "huge.txt"
    with ticket.open("wb") as stream:
        stream.truncate(17 * 1024 * 1024)  # sparse: no 17 MB written
    result = runner.invoke(app, ["triage", str(ticket), "--emulator"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "limit" in result.output


PIECES = [
    "[",
    "]",
    "/",
    "red",
    "bold",
    "\x1b",
    "[31m",
    "\x07",
    "\x00",
    "\u202e",
    "é",
    " ",
    "\n",
    "a",
    "[/red]",
]
hostile_text = st.lists(st.sampled_from(PIECES), max_size=20).map("".join) | st.text(max_size=30)


@settings(
    max_examples=12,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.binary(max_size=200) | hostile_text.map(lambda t: t.encode("utf-8", "surrogatepass")))
def test_any_ticket_text_exits_0_or_2(tmp_path: Path, data: bytes) -> None:
    ticket = tmp_path / "ticket.txt"
    ticket.write_bytes(data)
    result = runner.invoke(app, ["triage", str(ticket), "--emulator", "--expand-budget", "0"])
    assert result.exit_code in (ExitCode.OK, ExitCode.BAD_INPUT), result.output
    clean(result.output)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(name=hostile_text.filter(lambda t: t.strip() and "\x00" not in t and "/" not in t))
def test_any_file_name_exits_2_with_one_clean_line(tmp_path: Path, name: str) -> None:
    result = runner.invoke(app, ["triage", str(tmp_path / f"missing-{name}"), "--emulator"])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    clean(result.output)
    assert "Traceback" not in result.output
