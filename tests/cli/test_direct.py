"""Ad-hoc commands that answer at once: with no Prefect API configured, no Prefect at all.

The subprocess tests run the real command line from a shell-like environment (no ``PREFECT_*``
variable, a private ``PREFECT_HOME``) with ``-X importtime``, whose report on stderr names every
module the process imported: a direct command must import no ``prefect`` module.
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
from prefect_virustotal.emulator import Emulator

WORLD = Emulator(seed=0).world


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


@pytest.mark.slow
def test_direct_lookup_imports_no_prefect_and_starts_no_server(tmp_path: Path) -> None:
    bad = WORLD.pick("domain", nature="malicious")
    result = _cli(["lookup", bad, "8.8.8.8", "--emulator", "--json"], tmp_path)
    assert result.returncode == 0, _stderr_text(result.stderr)
    payload = json.loads(result.stdout)
    assert payload["emulated"] is True
    items = payload["result"]["items"]
    assert [i["lookup"]["status"] for i in items] == ["found", "not_found"]
    assert items[0]["verdict"] == "malicious"
    assert "prefect_virustotal.core" in _imported(result.stderr)  # the report is complete
    assert _prefect_modules(result.stderr) == []
    assert "pyzipper" not in _imported(result.stderr)  # only a download needs it (~0.3 s)
    # Prefect's ephemeral server would have created its database under PREFECT_HOME.
    assert not list(tmp_path.glob("*.db")), sorted(p.name for p in tmp_path.iterdir())
    assert _stderr_text(result.stderr) == ""  # no spinner, no notice: stderr is not a terminal


@pytest.mark.slow
def test_verbose_direct_command_logs_the_packs_lines_to_stderr(tmp_path: Path) -> None:
    result = _cli(["-vv", "lookup", "8.8.8.8", "--emulator", "--json"], tmp_path)
    assert result.returncode == 0, _stderr_text(result.stderr)
    assert "DEBUG prefect_virustotal.client" in _stderr_text(result.stderr)  # the request line
    assert json.loads(result.stdout)["result"]["items"][0]["lookup"]["status"] == "not_found"
    assert _prefect_modules(result.stderr) == []


@pytest.mark.slow
def test_direct_soc_commands_import_no_prefect(tmp_path: Path) -> None:
    sample = next(
        o.id for o in WORLD.objects("file") if o.nature == "malicious" and o.attributes["type_tag"] == "peexe"
    )
    behaviour = _cli(["behaviour", sample, "--emulator", "--json"], tmp_path)
    assert behaviour.returncode == 0, _stderr_text(behaviour.stderr)
    profile = json.loads(behaviour.stdout)["result"]
    assert profile["sha256"] == sample and profile["techniques"][0]["severity"] == "HIGH"
    assert _prefect_modules(behaviour.stderr) == []

    comments = _cli(["comments", sample, "--emulator", "--json", "--limit", "3"], tmp_path)
    assert comments.returncode == 0, _stderr_text(comments.stderr)
    listed = json.loads(comments.stdout)["result"]
    assert set(listed) == {"comments", "votes"} and len(listed["comments"]) <= 3
    assert _prefect_modules(comments.stderr) == []

    vote = _cli(["vote", sample, "malicious", "--yes", "--emulator", "--json"], tmp_path)
    assert vote.returncode == 0, _stderr_text(vote.stderr)
    cast = json.loads(vote.stdout)["result"]
    assert cast["attributes"]["verdict"] == "malicious"
    assert _prefect_modules(vote.stderr) == []

    quota = _cli(["quota", "--days", "3", "--emulator", "--json"], tmp_path)
    assert quota.returncode == 0, _stderr_text(quota.stderr)
    report = json.loads(quota.stdout)["result"]
    assert len(report["days"]) == 3 and report["quotas"]["api_requests_daily"]["user"]["allowed"] > 0
    assert report["alerted"] is False  # no event: only the flow emits it
    assert _prefect_modules(quota.stderr) == []


@pytest.mark.slow
def test_record_runs_the_flow_and_a_server_that_does_not_start_is_one_line_and_exit_3(
    tmp_path: Path,
) -> None:
    # --record needs Prefect's ephemeral server; given 1 s on a busy machine, it does not start.
    result = _cli(
        ["lookup", "8.8.8.8", "--emulator", "--record"],
        tmp_path,
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="1",
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
    triage = _cli([*args, "--expand-budget", "5", "--emulator", "--json"], tmp_path, VT_STATE_DIR=str(state))
    assert triage.returncode in (ExitCode.OK, ExitCode.PARTIAL), _stderr_text(triage.stderr)
    payload = json.loads(triage.stdout)
    report = payload["result"]
    assert payload["emulated"] is True and report["summary_verdict"] == "malicious"
    (sample,) = [item for item in report["items"] if item["source"] == "file"]
    assert (sample["verdict"], sample["action"]) == ("malicious", "scanned privately")
    assert report["graph"]["nodes"] and report["collection_link"]
    assert out.read_text() == report["markdown"] and "Summary verdict: MALICIOUS" in report["markdown"]
    # The submission and the case collection's name are remembered in the local folder.
    assert len(list(state.glob("checkpoints/*/virustotal-*"))) >= 2, sorted(state.rglob("*"))
    assert "prefect_virustotal.core" in _imported(triage.stderr)
    assert _prefect_modules(triage.stderr) == []

    search = _cli(
        ["search", "type:peexe p:5+", "--limit", "3", "--collection", "hunt-direct", "--emulator", "--json"],
        tmp_path,
        VT_STATE_DIR=str(state),
    )
    assert search.returncode == ExitCode.OK, _stderr_text(search.stderr)
    found = json.loads(search.stdout)["result"]
    assert 0 < len(found["hits"]) <= 3 and found["requests"] == 1
    assert found["collection"]["created"] and len(found["collection"]["added"]) == len(found["hits"])
    assert _prefect_modules(search.stderr) == []
    bad = _cli(["search", '(type:pdf "open', "--emulator"], tmp_path)
    assert bad.returncode == ExitCode.BAD_INPUT and _prefect_modules(bad.stderr) == []
    # Prefect's ephemeral server would have created its database under PREFECT_HOME.
    assert not list(tmp_path.glob("*.db")), sorted(p.name for p in tmp_path.iterdir())
