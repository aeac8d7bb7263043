"""``scan`` with no Prefect API configured: the core's submission engine, no Prefect server.

Subprocesses with every ``PREFECT_*`` variable removed, as a user's shell would have them (an
in-process run would see the test session's Prefect harness).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from prefect_virustotal.emulator._scanning import EICAR


def _scan(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    env["VT_STATE_DIR"] = str(tmp_path / "state")
    return subprocess.run(
        [sys.executable, "-m", "prefect_virustotal.cli", "scan", *args, "--emulator", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )


def _checkpoints(tmp_path: Path) -> list[Any]:
    return [json.loads(p.read_text()) for p in sorted((tmp_path / "state").rglob("*.json"))]


@pytest.mark.slow
def test_scan_runs_direct_and_keeps_the_checkpoint_locally(tmp_path: Path) -> None:
    sample = tmp_path / "invoice.exe"
    sample.write_bytes(b"MZ\x90\x00" + EICAR + b"\x00" * 100)
    result = _scan(tmp_path, str(sample), "--public")
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["emulated"] is True
    assert payload["result"]["verdict"] == "malicious" and payload["result"]["outcome"] == "submitted"
    # No Prefect server: its database would be under PREFECT_HOME.
    assert not list((tmp_path / "prefect-home").glob("*.db"))
    assert [c["status"] for c in _checkpoints(tmp_path)] == ["completed"]


@pytest.mark.slow
def test_scan_direct_never_uploads_an_unknown_file_publicly_unasked(tmp_path: Path) -> None:
    sample = tmp_path / "board-minutes.docx"
    sample.write_bytes(b"board minutes, draft 3")
    result = _scan(tmp_path, str(sample))
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["result"]["status"] == "not_uploaded"
    assert _checkpoints(tmp_path) == []  # nothing submitted, nothing to resume
