"""``expand`` answers without Prefect when no Prefect API is configured (the core's loop, directly)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import fresh_world

WORLD = fresh_world()  # a seed-0 world (unpickled: built once per process, tests/conftest.py)

# The command line as ``python -m prefect_virustotal.cli``, saying on stderr at exit whether
# anything imported Prefect.
_REPORTS_PREFECT = (
    "import atexit, runpy, sys; "
    "atexit.register(lambda: sys.stderr.write(f\"prefect imported: {'prefect' in sys.modules}\\n\")); "
    "sys.argv[0] = 'prefect-virustotal'; "
    "runpy.run_module('prefect_virustotal.cli', run_name='__main__')"
)


@pytest.mark.slow
def test_expand_without_a_prefect_api_starts_no_server(tmp_path: Path) -> None:
    seed = WORLD.pick("file", nature="malicious", min_relationship=("contacted_domains", 2))
    home, bundle = tmp_path / "home", tmp_path / "graph.stix.json"
    home.mkdir()
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(home)
    command = [
        "expand",
        seed,
        "not an indicator",
        "--depth",
        "1",
        "--emulator",
        "--json",
        "--stix",
        str(bundle),
    ]
    result = subprocess.run(
        [sys.executable, "-c", _REPORTS_PREFECT, *command],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    graph = payload["result"]
    assert payload["emulated"] is True and graph["emulated"] is True
    assert graph["seeds"] == [f"file:{seed}"]
    assert [(gap["node"], gap["reason"]) for gap in graph["unexpanded"]] == [("not an indicator", "invalid")]
    assert len(graph["nodes"]) > 2 and graph["edges"]
    assert graph["requests"] == graph["requests_sent"] == sum(level["frontier"] for level in graph["levels"])
    assert [level["cached"] for level in graph["levels"]] == [False]
    stix = json.loads(bundle.read_text(encoding="utf-8"))
    assert stix["type"] == "bundle" and any(o["type"] == "file" for o in stix["objects"])
    assert "prefect imported: False" in result.stderr, result.stderr
    # Prefect's ephemeral server would have created its database under PREFECT_HOME.
    assert not list(home.glob("*.db")), sorted(p.name for p in home.iterdir())
