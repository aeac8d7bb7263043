"""The SOC commands: search, behaviour, download, comments, comment, vote, quota (in process, emulator)."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prefect_virustotal.cli import ExitCode, app
from tests.conftest import fresh_world

pytestmark = pytest.mark.usefixtures("prefect_harness")

runner = CliRunner()
WORLD = fresh_world()  # a seed-0 world (unpickled: built once per process, tests/conftest.py)


def _pe() -> str:
    return next(
        o.id
        for o in WORLD.objects("file")
        if o.nature == "malicious"
        and o.attributes["type_tag"] == "peexe"
        and WORLD.related("file", o.id, "contacted_domains")
    )


def test_search_json_and_malformed_query() -> None:
    result = runner.invoke(app, ["search", "type:pdf p:5+", "--limit", "3", "--emulator", "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    payload = json.loads(result.stdout)
    assert payload["emulated"] is True and len(payload["result"]["hits"]) == 3
    bad = runner.invoke(app, ["search", '(type:pdf "open', "--emulator"])
    assert bad.exit_code == ExitCode.BAD_INPUT


def test_behaviour_shows_techniques_defanged() -> None:
    sha = _pe()
    result = runner.invoke(app, ["behaviour", sha, "--emulator"])
    assert result.exit_code == ExitCode.OK, result.output
    assert "EMULATED" in result.output and "T1" in result.output and "HIGH" in result.output
    domain = WORLD.related("file", sha, "contacted_domains")[0][1]
    assert domain.replace(".", "[.]") in result.output and domain not in result.output
    payload = json.loads(runner.invoke(app, ["behaviour", sha, "--emulator", "--json"]).stdout)
    assert payload["result"]["techniques"][0]["severity"] == "HIGH"
    assert runner.invoke(app, ["behaviour", "xyz", "--emulator"]).exit_code == ExitCode.BAD_INPUT


def test_download_zip_plain_and_existing_file(tmp_path: Path) -> None:
    sha = _pe()
    out = tmp_path / "s.zip"
    result = runner.invoke(app, ["download", sha, "--out", str(out), "--emulator", "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    assert json.loads(result.stdout)["result"]["zipped"] is True and out.exists()
    again = runner.invoke(app, ["download", sha, "--out", str(out), "--emulator"])
    assert again.exit_code == ExitCode.BAD_INPUT
    plain = runner.invoke(app, ["download", sha, "--out", str(tmp_path / "s.bin"), "--plain", "--emulator"])
    assert plain.exit_code == ExitCode.OK, plain.output
    assert sorted(os.listdir(tmp_path)) == ["s.bin", "s.zip"]


def test_comment_and_vote_need_consent(tmp_path: Path) -> None:
    domain = WORLD.pick("domain", "malicious")
    refused = runner.invoke(app, ["comment", domain, "c2 at http://x.example/", "--emulator"], input="n\n")
    assert refused.exit_code == ExitCode.BAD_INPUT
    posted = runner.invoke(app, ["comment", domain, "c2 #ir", "--yes", "--emulator", "--json"])
    assert posted.exit_code == ExitCode.OK, posted.output
    assert json.loads(posted.stdout)["result"]["attributes"]["tags"] == ["ir"]
    voted = runner.invoke(app, ["vote", domain, "malicious", "--yes", "--emulator"])
    assert voted.exit_code == ExitCode.OK, voted.output
    assert runner.invoke(app, ["vote", domain, "evil", "--yes", "--emulator"]).exit_code == ExitCode.BAD_INPUT
    listed = runner.invoke(app, ["comments", domain.replace(".", "[.]"), "--emulator"])
    assert listed.exit_code == ExitCode.OK and "No comments" in listed.output  # a fresh emulator per command


def test_quota_chart() -> None:
    result = runner.invoke(app, ["quota", "--emulator"])
    assert result.exit_code == ExitCode.OK, result.output
    assert "today:" in result.output and "| day | requests |" in result.output
    assert runner.invoke(app, ["quota", "--threshold", "2", "--emulator"]).exit_code == ExitCode.BAD_INPUT
