"""The command line: output and exit codes, run in process under the Prefect harness."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.cli import ExitCode, app
from prefect_virustotal.emulator import Emulator
from tests.conftest import fresh_world

pytestmark = pytest.mark.usefixtures("prefect_harness")

runner = CliRunner()
WORLD = fresh_world()  # a seed-0 world (unpickled: built once per process, tests/conftest.py)


def test_no_key_points_at_the_emulator(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VT_API_KEY", raising=False)
    result = runner.invoke(app, ["lookup", "8.8.8.8"])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "--emulator" in result.output


def test_lookup_human_output_is_labelled_emulated() -> None:
    domain = WORLD.pick("domain", nature="clean")
    result = runner.invoke(app, ["lookup", domain, "--emulator"])
    assert result.exit_code == ExitCode.OK, result.output
    assert "EMULATED" in result.output
    assert domain.replace(".", "[.]") in result.output  # defanged on the terminal too


def test_lookup_json_and_fail_on_malicious() -> None:
    bad = WORLD.pick("file", nature="malicious")
    result = runner.invoke(app, ["lookup", bad, "--emulator", "--json", "--fail-on", "malicious"])
    assert result.exit_code == ExitCode.MALICIOUS
    payload = json.loads(result.stdout)
    assert payload["emulated"] is True
    assert payload["result"]["items"][0]["lookup"]["status"] == "found"


def test_invalid_input_exits_2() -> None:
    result = runner.invoke(app, ["lookup", "definitely not an ioc", "--emulator"])
    assert result.exit_code == ExitCode.BAD_INPUT
    result = runner.invoke(app, ["lookup", "8.8.8.8", "--emulator", "--fail-on", "purple"])
    assert result.exit_code == ExitCode.BAD_INPUT


def test_service_errors_exit_3(mounted: Emulator) -> None:
    block = VirusTotalCredentials(api_key=SecretStr("unknown-key-xyz"), base_url=mounted.base_url)
    block.save("cli-wrong-key", overwrite=True)
    result = runner.invoke(app, ["lookup", mounted.world.pick("domain"), "--block", "cli-wrong-key"])
    assert result.exit_code == ExitCode.SERVICE, result.output
    assert "unknown-key-xyz" not in result.output


def test_collection_sync_from_a_file(tmp_path: pytest.TempPathFactory) -> None:
    iocs = tmp_path / "iocs.txt"  # type: ignore[operator]
    iocs.write_text(f"{WORLD.pick('domain')}\n{WORLD.pick('ip_address')}\nnot an ioc\n")
    result = runner.invoke(app, ["collection", "sync", "case-cli", str(iocs), "--emulator", "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    payload = json.loads(result.stdout)
    assert payload["emulated"] is True
    assert len(payload["result"]["added"]) == 2
    assert payload["result"]["added"]


DEMO = __import__("pathlib").Path(__file__).resolve().parents[2] / "demo"


def test_scan_a_file_and_fail_on_malicious() -> None:
    sample = DEMO / "samples" / "invoice_nov_attachment.bin"
    result = runner.invoke(
        app, ["scan", str(sample), "--private", "--emulator", "--json", "--fail-on", "malicious"]
    )
    assert result.exit_code == ExitCode.MALICIOUS, result.output
    payload = json.loads(result.stdout)
    assert payload["result"]["verdict"] == "malicious"
    assert payload["result"]["private"] is True


def test_scan_strips_the_credentials_of_a_url() -> None:
    result = runner.invoke(app, ["scan", "https://user:secret@evil.example/x", "--emulator"])
    assert result.exit_code in (ExitCode.OK, ExitCode.MALICIOUS), result.output
    assert "secret" not in result.output
    assert "https://user:***@evil.example/x" in result.output


def test_expand_prints_the_graph() -> None:
    seed = WORLD.pick("file", nature="malicious", min_relationship=("contacted_domains", 1))
    result = runner.invoke(
        app, ["expand", seed, "--depth", "1", "--request-budget", "5", "--emulator", "--json"]
    )
    assert result.exit_code == ExitCode.OK, result.output
    payload = json.loads(result.stdout)
    assert len(payload["result"]["nodes"]) > 1


def test_triage_writes_a_report(tmp_path: pytest.TempPathFactory) -> None:
    out = tmp_path / "report.md"  # type: ignore[operator]
    result = runner.invoke(
        app,
        [
            "triage",
            str(DEMO / "ticket.txt"),
            str(DEMO / "samples" / "invoice_nov_attachment.bin"),
            "--case",
            "INC-CLI",
            "--report",
            str(out),
            "--expand-budget",
            "5",
            "--emulator",
            "--fail-on",
            "malicious",
            "--record",  # the flow (the harness's server records it); tests/hardening runs it direct
        ],
    )
    assert result.exit_code == ExitCode.MALICIOUS, result.output
    assert "Summary verdict: MALICIOUS" in out.read_text()
    assert "virustotal-triage-graph-inc-cli" in out.read_text()  # a flow run: the graph has its artifact
    assert "EMULATED" in result.output


def test_alerts_poll_with_nothing_new() -> None:
    result = runner.invoke(app, ["alerts", "poll", "--emulator", "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    assert json.loads(result.stdout)["result"]["handed_on"] == 0


def test_alerts_poll_reads_vt_alerts() -> None:
    result = runner.invoke(app, ["alerts", "poll", "--source", "vt_alerts", "--emulator", "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    assert json.loads(result.stdout)["result"]["source"] == "vt_alerts"
    refused = runner.invoke(app, ["alerts", "poll", "--source", "vt_alerts", "--acknowledge", "--emulator"])
    assert refused.exit_code == ExitCode.BAD_INPUT, refused.output


def test_retrohunt_rehearsal(tmp_path: pytest.TempPathFactory) -> None:
    rules = tmp_path / "rules.yar"  # type: ignore[operator]
    rules.write_text('rule kaixcor { strings: $a = "KAIXCOR-" condition: $a }')
    result = runner.invoke(app, ["retrohunt", str(rules), "--poll-interval", "1", "--emulator", "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    payload = json.loads(result.stdout)
    assert payload["result"]["status"] == "finished"
    assert payload["result"]["matches"]
    bad = tmp_path / "bad.yar"  # type: ignore[operator]
    bad.write_text("rule broken { condition: }")
    result = runner.invoke(app, ["retrohunt", str(bad), "--emulator"])
    assert result.exit_code == ExitCode.BAD_INPUT


def test_setup_without_a_key_exits_2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VT_API_KEY", raising=False)
    result = runner.invoke(app, ["setup"])
    assert result.exit_code == ExitCode.BAD_INPUT


def test_emulator_serve_passes_time_scale_on() -> None:
    # The flag reaches the emulator's own parser, which refuses a scale that is not positive.
    result = runner.invoke(app, ["emulator", "serve", "--port", "0", "--time-scale", "0"])
    assert result.exit_code == 2
    assert "must be greater than 0" in result.output
