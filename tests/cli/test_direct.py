"""Ad-hoc commands that answer at once: no Prefect API configured means no Prefect server started."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import typer

from prefect_virustotal.cli import ExitCode, emulator_credentials
from prefect_virustotal.cli._common import Target, run
from prefect_virustotal.emulator import Emulator

WORLD = Emulator(seed=0).world


@pytest.mark.slow
def test_lookup_without_a_prefect_api_starts_no_server(tmp_path: Path) -> None:
    bad = WORLD.pick("domain", nature="malicious")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path)
    result = subprocess.run(
        [sys.executable, "-m", "prefect_virustotal.cli", "lookup", bad, "8.8.8.8", "--emulator", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["emulated"] is True
    assert [i["lookup"]["status"] for i in payload["result"]["items"]] == ["found", "not_found"]
    # Prefect's ephemeral server would have created its database under PREFECT_HOME.
    assert not list(tmp_path.glob("*.db")), sorted(p.name for p in tmp_path.iterdir())


def test_a_prefect_server_that_does_not_start_is_one_line_and_exit_3(
    capsys: pytest.CaptureFixture[str],
) -> None:
    async def work() -> None:
        # What Prefect raises when its ephemeral server does not answer within the timeout.
        raise RuntimeError("Timed out while attempting to connect to ephemeral Prefect API server.")

    with pytest.raises(typer.Exit) as exited:
        run(Target(emulator_credentials(), emulated=False), work)
    assert exited.value.exit_code == ExitCode.SERVICE
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "did not start in time" in err and "Traceback" not in err
