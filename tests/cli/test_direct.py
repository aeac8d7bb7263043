"""Ad-hoc commands that answer at once: with no Prefect API configured, no Prefect at all.

The subprocess tests run the real command line from a shell-like environment (no ``PREFECT_*``
variable, a private ``PREFECT_HOME``): a direct command must import no ``prefect`` module. The
direct commands run one after another in one fresh process (``tests.direct.cli_batch``), which
reports the modules the process holds after each; ``--record``, which must start Prefect, runs
alone with ``-X importtime``, whose report on stderr names every module the process imported.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer
from pydantic import SecretStr
from rich.console import Console

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.cli import ExitCode, emulator_credentials
from prefect_virustotal.cli._common import (
    KeySettings,
    Target,
    _may_name_a_prefect_api,
    emulator_settings,
    run,
    with_spinner,
)
from tests.conftest import fresh_world
from tests.direct import Ran, cli_batch

WORLD = fresh_world()  # a seed-0 world (unpickled: built once per process, tests/conftest.py)


def _shell_env(home: Path, **extra: str) -> dict[str, str]:
    """A user's shell: no PREFECT_* setting (the Makefile's included), a private Prefect home."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PREFECT_", "VT_"))}
    env["PREFECT_HOME"] = str(home)
    env.update(extra)
    return env


def _cli(args: list[str], home: Path, **extra: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "prefect_virustotal.cli", *args],
        env=_shell_env(home, **extra),
        cwd=home,  # no .env, prefect.toml or pyproject.toml of the repository in the way
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _imported(stderr: str) -> set[str]:
    """The modules ``-X importtime`` reports as imported."""
    return {
        line.rsplit("|", 1)[1].strip() for line in stderr.splitlines() if line.startswith("import time:")
    } - {"package"}


def _prefect_modules(stderr: str) -> list[str]:
    return sorted(m for m in _imported(stderr) if m == "prefect" or m.startswith("prefect."))


def _stderr_text(stderr: str) -> str:
    return "\n".join(line for line in stderr.splitlines() if not line.startswith("import time:"))


SAMPLE = next(
    o.id for o in WORLD.objects("file") if o.nature == "malicious" and o.attributes["type_tag"] == "peexe"
)
BAD_DOMAIN = WORLD.pick("domain", nature="malicious")
# The direct commands of the tests below, in this order, in ONE fresh process (``cli_batch``):
# the first is a fresh process's first command; no ``prefect`` module after the last proves
# that none of them imported Prefect. ``-vv`` last: its log handler stays for the process.
SHELL_RUNS = {
    "lookup": ["lookup", BAD_DOMAIN, "8.8.8.8", "--emulator", "--json"],
    "behaviour": ["behaviour", SAMPLE, "--emulator", "--json"],
    "comments": ["comments", SAMPLE, "--emulator", "--json", "--limit", "3"],
    "vote": ["vote", SAMPLE, "malicious", "--yes", "--emulator", "--json"],
    "quota": ["quota", "--days", "3", "--emulator", "--json"],
    "verbose": ["-vv", "lookup", "8.8.8.8", "--emulator", "--json"],
}


@pytest.fixture(scope="module")
def shell(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Ran]:
    """The direct commands above run one after another in one fresh process, from a user's shell."""
    home = tmp_path_factory.mktemp("shell-home")
    ran = cli_batch([(args, {}) for args in SHELL_RUNS.values()], _shell_env(home), cwd=home)
    return dict(zip(SHELL_RUNS, ran, strict=True))


@pytest.mark.slow
def test_direct_lookup_imports_no_prefect_and_starts_no_server(shell: dict[str, Ran]) -> None:
    result = shell["lookup"]  # the process's first command
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["emulated"] is True
    items = payload["result"]["items"]
    assert [i["lookup"]["status"] for i in items] == ["found", "not_found"]
    assert items[0]["verdict"] == "malicious"
    assert "prefect_virustotal.core" in result.modules  # the report is complete
    assert result.prefect_modules == []
    assert "pyzipper" not in result.modules  # only a download needs it (~0.3 s)
    # Prefect's ephemeral server would have created its database under PREFECT_HOME.
    assert result.databases == []
    assert result.stderr == ""  # no spinner, no notice: stderr is not a terminal


@pytest.mark.slow
def test_verbose_direct_command_logs_the_packs_lines_to_stderr(shell: dict[str, Ran]) -> None:
    result = shell["verbose"]
    assert result.returncode == 0, result.stderr
    assert "DEBUG prefect_virustotal.client" in result.stderr  # the request line
    assert json.loads(result.stdout)["result"]["items"][0]["lookup"]["status"] == "not_found"
    assert result.prefect_modules == []  # nor did any command before it import Prefect
    assert result.databases == []


@pytest.mark.slow
def test_direct_soc_commands_import_no_prefect(shell: dict[str, Ran]) -> None:
    behaviour = shell["behaviour"]
    assert behaviour.returncode == 0, behaviour.stderr
    profile = json.loads(behaviour.stdout)["result"]
    assert profile["sha256"] == SAMPLE and profile["techniques"][0]["severity"] == "HIGH"
    assert behaviour.prefect_modules == []

    comments = shell["comments"]
    assert comments.returncode == 0, comments.stderr
    listed = json.loads(comments.stdout)["result"]
    assert set(listed) == {"comments", "votes"} and len(listed["comments"]) <= 3
    assert comments.prefect_modules == []

    vote = shell["vote"]
    assert vote.returncode == 0, vote.stderr
    cast = json.loads(vote.stdout)["result"]
    assert cast["attributes"]["verdict"] == "malicious"
    assert vote.prefect_modules == []

    quota = shell["quota"]
    assert quota.returncode == 0, quota.stderr
    report = json.loads(quota.stdout)["result"]
    assert len(report["days"]) == 3 and report["quotas"]["api_requests_daily"]["user"]["allowed"] > 0
    assert report["alerted"] is False  # no event: only the flow emits it
    assert quota.prefect_modules == []


@pytest.mark.slow
def test_record_runs_the_flow_and_a_server_that_does_not_start_is_one_line_and_exit_3(
    tmp_path: Path,
) -> None:
    # --record needs Prefect's ephemeral server; given no time to start (a user's own setting,
    # as 1 s on a busy machine would be), it does not: Prefect's own time-out, at once.
    result = _cli(
        ["lookup", "8.8.8.8", "--emulator", "--record"],
        tmp_path,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="0",
    )
    assert result.returncode == ExitCode.SERVICE, _stderr_text(result.stderr)
    assert "prefect" in _imported(result.stderr)  # the flow path did start Prefect
    lines = _stderr_text(result.stderr).splitlines()
    assert len(lines) == 1 and "did not start in time" in lines[0], lines
    assert result.stdout == ""


def test_the_command_line_sets_the_ephemeral_timeout_and_analytics_before_prefect(tmp_path: Path) -> None:
    probe = (
        "import sys, prefect_virustotal.cli\n"
        "assert 'prefect' not in sys.modules, 'imported Prefect at start'\n"
        "from prefect.settings import get_current_settings\n"
        "s = get_current_settings().server\n"
        "print(s.ephemeral.startup_timeout_seconds, s.analytics_enabled)\n"
    )

    def settings(**extra: str) -> str:
        return subprocess.run(
            [sys.executable, "-c", probe],
            env=_shell_env(tmp_path, **extra),
            cwd=tmp_path,
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout.strip()

    assert settings() == "90 False"
    # A user's own settings win.
    assert settings(PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="33") == "33 False"


def test_prefect_api_is_looked_for_in_every_source_prefect_reads(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for name in list(os.environ):
        if name.startswith("PREFECT_"):
            monkeypatch.delenv(name)
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "home"))
    monkeypatch.chdir(tmp_path)
    (tmp_path / "home").mkdir()
    assert not _may_name_a_prefect_api()
    profiles = tmp_path / "home" / "profiles.toml"
    profiles.write_text('active = "ephemeral"\n[profiles.ephemeral]\nPREFECT_LOGGING_LEVEL = "INFO"\n')
    assert not _may_name_a_prefect_api()  # a profile without an API
    profiles.write_text('active = "local"\n[profiles.local]\nPREFECT_API_URL = "http://127.0.0.1:4200/api"\n')
    assert _may_name_a_prefect_api()
    profiles.unlink()
    for file, text in [
        (".env", "PREFECT_API_URL=http://127.0.0.1:4200/api\n"),
        ("prefect.toml", '[api]\nurl = "http://127.0.0.1:4200/api"\n'),
        ("pyproject.toml", '[tool.prefect.api]\nurl = "http://127.0.0.1:4200/api"\n'),
    ]:
        (tmp_path / file).write_text(text)
        assert _may_name_a_prefect_api(), file
        (tmp_path / file).unlink()
    (tmp_path / "pyproject.toml").write_text('[project]\nname = "x"\n')
    assert not _may_name_a_prefect_api()
    monkeypatch.setenv("PREFECT_API_URL", "http://127.0.0.1:4200/api")
    assert _may_name_a_prefect_api()


def test_key_settings_match_the_block_and_keep_the_key_secret() -> None:
    blocks_fields = VirusTotalCredentials.model_fields
    fields = {field.name: field for field in dataclasses.fields(KeySettings)}
    # Every field of the block but the two that need a Prefect server, with the same defaults.
    assert set(fields) == set(blocks_fields) - {"rate_limit_name", "daily_reserve"}
    for name, field in fields.items():
        if field.default is not dataclasses.MISSING:
            assert field.default == blocks_fields[name].default, name
    settings = KeySettings(api_key=SecretStr("k" * 64), base_url="http://127.0.0.1:9/api/v3")
    assert "k" * 10 not in repr(settings)
    block = settings.block()
    assert block.api_key.get_secret_value() == "k" * 64 and block.base_url == settings.base_url

    # The direct client retries as the block's client does (non-default values, to tell).
    tuned = dataclasses.replace(settings, max_retries=5, retry_initial_delay=2.0, retry_quota_delay=45.0)

    async def policies() -> tuple[object, object]:
        async with tuned.get_client() as direct, tuned.block().get_client() as as_flow:
            return direct.retry, as_flow.retry

    direct_retry, flow_retry = asyncio.run(policies())
    assert direct_retry == flow_retry
    assert emulator_credentials().key_tier == emulator_settings().key_tier == "premium"
    target = Target(emulator_settings(), emulated=True)
    assert (target.key_tier, target.base_url) == ("premium", emulator_settings().base_url)
    assert target.credentials.base_url == target.base_url  # the block a flow would take


def test_spinner_shows_on_a_terminal_only_when_work_takes_a_while() -> None:
    async def work() -> str:
        await asyncio.sleep(0.05)  # the work's own time: it is still running when the spinner is due
        return "answer"

    def output(console: Console | None, after: float) -> str:
        assert asyncio.run(with_spinner(work(), console, "looking up", after=after)) == "answer"
        return console.file.getvalue() if console is not None else ""  # type: ignore[attr-defined]

    # Due at once: it shows while the work runs, and is erased after (transient).
    shown = output(Console(file=io.StringIO(), force_terminal=True), 0.0)
    assert "looking up" in shown and shown.endswith("\x1b[2K")  # the line erased at the end
    # Answered before the spinner was due: nothing.
    assert output(Console(file=io.StringIO(), force_terminal=True), 5.0) == ""
    # Not a terminal (a pipe, a log file), or --json: never.
    assert output(Console(file=io.StringIO(), force_terminal=False), 0.0) == ""
    assert output(None, 0.0) == ""


def test_a_prefect_server_that_does_not_start_is_one_line_and_exit_3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def work() -> None:
        # What Prefect raises when its ephemeral server does not answer within the timeout.
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")

    with pytest.raises(typer.Exit) as exited:
        run(Target(emulator_settings()), work)
    assert exited.value.exit_code == ExitCode.SERVICE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did not start in time" in err and "Traceback" not in err


DEMO = Path(__file__).resolve().parents[2] / "demo"


@pytest.mark.slow
def test_direct_triage_and_search_import_no_prefect(tmp_path: Path) -> None:
    state = tmp_path / "state"
    out = tmp_path / "report.md"
    dropper = DEMO / "samples" / "invoice_nov_attachment.bin"
    args = ["triage", str(DEMO / "ticket.txt"), str(dropper), "--case", "INC-direct", "--report", str(out)]
    search_args = ["search", "type:peexe p:5+", "--limit", "3", "--collection", "hunt-direct"]
    # One fresh process, triage first (see ``cli_batch``).
    triage, search, bad = cli_batch(
        [
            ([*args, "--expand-budget", "5", "--emulator", "--json"], {"VT_STATE_DIR": str(state)}),
            ([*search_args, "--emulator", "--json"], {"VT_STATE_DIR": str(state)}),
            (["search", '(type:pdf "open', "--emulator"], {}),
        ],
        _shell_env(tmp_path),
        cwd=tmp_path,
    )
    assert triage.returncode in (ExitCode.OK, ExitCode.PARTIAL), triage.stderr
    payload = json.loads(triage.stdout)
    report = payload["result"]
    assert payload["emulated"] is True and report["summary_verdict"] == "malicious"
    (sample,) = [item for item in report["items"] if item["source"] == "file"]
    assert (sample["verdict"], sample["action"]) == ("malicious", "scanned privately")
    assert report["graph"]["nodes"] and report["collection_link"]
    assert out.read_text() == report["markdown"] and "Summary verdict: MALICIOUS" in report["markdown"]
    # The submission and the case collection's name are remembered in the local folder.
    assert len(list(state.glob("checkpoints/*/virustotal-*"))) >= 2, sorted(state.rglob("*"))
    assert "prefect_virustotal.core" in triage.modules  # the process's first command
    assert triage.prefect_modules == []

    assert search.returncode == ExitCode.OK, search.stderr
    found = json.loads(search.stdout)["result"]
    assert 0 < len(found["hits"]) <= 3 and found["requests"] == 1
    assert found["collection"]["created"] and len(found["collection"]["added"]) == len(found["hits"])
    assert search.prefect_modules == []
    assert bad.returncode == ExitCode.BAD_INPUT and bad.prefect_modules == []
    # Prefect's ephemeral server would have created its database under PREFECT_HOME.
    assert bad.databases == [], bad.databases
