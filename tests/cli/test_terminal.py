"""The terminal is for the answer: quiet logs, options checked first, clean JSON, one endpoint."""

from __future__ import annotations

import json
import os

import pytest
from typer.testing import CliRunner

from prefect_virustotal.cli import ExitCode, app
from tests.conftest import fresh_world
from tests.direct import Ran, cli_batch

pytestmark = pytest.mark.usefixtures("prefect_harness")

runner = CliRunner()
WORLD = fresh_world()  # a seed-0 world (unpickled: built once per process, tests/conftest.py)


CLEAN_DOMAIN = WORLD.pick("domain", nature="clean")
UNREACHABLE = {"VT_API_KEY": "k" * 10, "VT_BASE_URL": "http://127.0.0.1:9/api/v3"}


@pytest.fixture(scope="module")
def flows_from_a_shell(prefect_harness: None, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """The installed command running flows against the session's Prefect server, from a shell.

    One fresh process runs the three commands of the tests below in turn (``cli_batch``): the
    first is a fresh process's first, and each one's stdout and stderr are its own.
    """
    from prefect.settings import PREFECT_API_URL

    environment = dict(os.environ, PREFECT_API_URL=str(PREFECT_API_URL.value()))
    environment.pop("PREFECT_LOGGING_LEVEL", None)  # the command line's own default, not the suite's
    runs = {
        "quiet": (["lookup", CLEAN_DOMAIN, "--emulator"], {}),
        "verbose": (["-v", "lookup", CLEAN_DOMAIN, "--emulator"], {}),
        "unreachable": (["lookup", "8.8.8.8"], UNREACHABLE),
    }
    ran = cli_batch(list(runs.values()), environment, cwd=tmp_path_factory.mktemp("terminal"))
    return dict(zip(runs, ran, strict=True))


def test_terminal_shows_warnings_only_unless_verbose(flows_from_a_shell: dict[str, Ran]) -> None:
    quiet = flows_from_a_shell["quiet"]  # the process's first command
    assert quiet.returncode == ExitCode.OK, quiet.stderr
    assert CLEAN_DOMAIN.replace(".", "[.]") in quiet.stdout
    assert "INFO" not in quiet.stderr and "Finished in state" not in quiet.stderr, quiet.stderr
    assert "EMULATED DATA" not in quiet.stderr  # the output carries its own label
    verbose = flows_from_a_shell["verbose"]
    assert "Finished in state Completed" in verbose.stderr


def test_vt_base_url_is_honoured_and_named_on_failure(flows_from_a_shell: dict[str, Ran]) -> None:
    result = flows_from_a_shell["unreachable"]
    assert result.returncode == ExitCode.SERVICE
    assert "127.0.0.1:9" in result.stdout + result.stderr
    assert "www.virustotal.com" not in result.stdout + result.stderr


def test_json_is_clean_with_a_flat_verdict() -> None:
    bad = WORLD.pick("file", nature="malicious")
    result = runner.invoke(app, ["lookup", bad, "--emulator", "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    item = json.loads(result.stdout)["result"]["items"][0]
    assert item["verdict"] == "malicious"


@pytest.mark.parametrize(
    "args",
    [
        ["alerts", "poll", "--source", "ioc-stream", "--emulator"],
        ["expand", "8.8.8.8", "--depth", "-1", "--emulator"],
        ["expand", "8.8.8.8", "--request-budget", "0", "--emulator"],
        ["scan", "http://a.example/", "--timeout", "-5", "--emulator"],
    ],
)
def test_bad_options_exit_2_before_any_flow(args: list[str]) -> None:
    result = runner.invoke(app, args)
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "Traceback" not in result.output
    assert "Flow run" not in result.output


def test_emulator_serve_takes_the_emulators_flags() -> None:
    result = runner.invoke(app, ["emulator", "serve", "--help"])
    assert result.exit_code == 0
    assert "--allow-remote" in result.output and "--max-body-mb" in result.output


def test_mermaid_only_when_asked() -> None:
    seed = WORLD.pick("file", nature="malicious", min_relationship=("contacted_domains", 2))
    plain = runner.invoke(app, ["expand", seed, "--depth", "1", "--emulator"])
    assert plain.exit_code == ExitCode.OK, plain.output
    assert "graph LR" not in plain.output
    drawn = runner.invoke(app, ["expand", seed, "--depth", "1", "--emulator", "--mermaid"])
    assert "graph LR" in drawn.output


def test_a_malformed_vt_base_url_is_bad_input(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("VT_API_KEY", "k" * 10)
    monkeypatch.setenv("VT_BASE_URL", "ftp://127.0.0.1/api/v3")
    result = runner.invoke(app, ["lookup", "8.8.8.8"])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "VT_BASE_URL" in result.output
