"""``prefect-virustotal migrate scan``: text and JSON output, exit codes 0 / 1 / 2, no key echoed."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prefect_virustotal.cli import ExitCode, app
from tests.core.test_migrate import FAKE_KEY, LEGACY

runner = CliRunner()


def no_key_in(output: str) -> None:
    for piece in (FAKE_KEY, FAKE_KEY[:16], FAKE_KEY[-16:]):
        assert piece not in output


def test_findings_exit_1_with_file_and_line() -> None:
    result = runner.invoke(app, ["migrate", "scan", str(LEGACY / "legacy_curl.sh")])
    assert result.exit_code == 1, result.output
    assert (
        f"{LEGACY / 'legacy_curl.sh'}:4: endpoint: GET /vtapi/v2/file/report -> GET /api/v3/files/{{id}}"
        in (result.output)
    )
    assert "masked" in result.output
    no_key_in(result.output)


def test_json_output_lists_every_finding_without_the_key() -> None:
    result = runner.invoke(app, ["migrate", "scan", str(LEGACY), "--json"])
    assert result.exit_code == 1
    envelope = json.loads(result.stdout)
    assert envelope["emulated"] is False  # the same envelope as every other --json output
    payload = envelope["result"]
    assert len(payload["files"]) == 7
    kinds = {f["kind"] for f in payload["findings"]}
    assert kinds == {"endpoint", "base-url", "apikey-parameter", "field", "status", "api-key"}
    assert all({"path", "line", "v2", "v3", "pack", "note"} <= set(f) for f in payload["findings"])
    no_key_in(result.stdout)


def test_nothing_to_migrate_exits_0() -> None:
    result = runner.invoke(app, ["migrate", "scan", str(LEGACY / "v3_only.py"), str(LEGACY / "v3_only.sh")])
    assert result.exit_code == ExitCode.OK, result.output
    assert "nothing to migrate in 2 file(s)" in result.output
    result = runner.invoke(app, ["migrate", "scan", "--json", str(LEGACY / "v3_only.py")])
    assert result.exit_code == ExitCode.OK and json.loads(result.stdout)["result"]["findings"] == []


def test_bad_input_exits_2_before_reading_anything(tmp_path: Path) -> None:
    result = runner.invoke(app, ["migrate", "scan", str(LEGACY / "legacy_curl.sh"), str(tmp_path / "absent")])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "no such file" in result.output and "endpoint" not in result.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_special_file_exits_2(tmp_path: Path) -> None:
    fifo = tmp_path / "playbook.yml"
    os.mkfifo(fifo)
    result = runner.invoke(app, ["migrate", "scan", str(fifo)])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "not a regular file" in result.output
