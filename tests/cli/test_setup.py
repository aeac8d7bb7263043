"""``prefect-virustotal setup``: re-running it keeps what it is not told to change."""

from __future__ import annotations

import uuid

import pytest
from typer.testing import CliRunner

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.cli import ExitCode, app

pytestmark = pytest.mark.usefixtures("prefect_harness")

runner = CliRunner()
FIRST_KEY = "first-key-" + "1" * 20
NEW_KEY = "rotated-key-" + "2" * 20


def _setup(monkeypatch: pytest.MonkeyPatch, key: str | None, *args: str) -> str:
    if key is None:
        monkeypatch.delenv("VT_API_KEY", raising=False)
    else:
        monkeypatch.setenv("VT_API_KEY", key)
    result = runner.invoke(app, ["setup", *args])
    assert result.exit_code == ExitCode.OK, result.output
    return result.output


def test_rerunning_setup_merges(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VT_BASE_URL", raising=False)
    monkeypatch.delenv("VT_REQUESTS_PER_MINUTE", raising=False)
    name = f"merge-{uuid.uuid4().hex[:8]}"
    first = _setup(
        monkeypatch, FIRST_KEY, "--block-name", name, "--base-url", "http://127.0.0.1:9/api/v3",
        "--requests-per-minute", "120", "--daily-reserve", "50",
    )  # fmt: skip
    assert FIRST_KEY not in first

    # The README's key rotation: only the key changes.
    rotated = _setup(monkeypatch, NEW_KEY, "--block-name", name)
    block = VirusTotalCredentials.load(name)
    assert isinstance(block, VirusTotalCredentials)
    assert block.api_key.get_secret_value() == NEW_KEY
    assert (block.base_url, block.requests_per_minute, block.daily_reserve) == (
        "http://127.0.0.1:9/api/v3",
        120,
        50,
    )
    assert "api_key: replaced" in rotated and NEW_KEY not in rotated and FIRST_KEY not in rotated

    # A quota change alone works without the key, and says old -> new.
    quota = _setup(monkeypatch, None, "--block-name", name, "--requests-per-minute", "60")
    block = VirusTotalCredentials.load(name)
    assert isinstance(block, VirusTotalCredentials)
    assert block.requests_per_minute == 60 and block.api_key.get_secret_value() == NEW_KEY
    assert block.daily_reserve == 50 and block.base_url == "http://127.0.0.1:9/api/v3"
    assert "requests_per_minute: 120 -> 60" in quota
    assert "base_url" not in quota

    # VT_BASE_URL is a given value like --base-url.
    monkeypatch.setenv("VT_BASE_URL", "http://127.0.0.1:10/api/v3")
    moved = _setup(monkeypatch, None, "--block-name", name)
    assert "base_url: http://127.0.0.1:9/api/v3 -> http://127.0.0.1:10/api/v3" in moved


def test_a_new_block_needs_the_key(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("VT_API_KEY", raising=False)
    result = runner.invoke(app, ["setup", "--block-name", f"none-{uuid.uuid4().hex[:8]}"])
    assert result.exit_code == ExitCode.BAD_INPUT
    assert "VT_API_KEY" in result.output


def test_setup_help_lists_its_options() -> None:
    result = runner.invoke(app, ["setup", "--help"])
    assert result.exit_code == 0
    for option in ("--block-name", "--base-url", "--requests-per-minute", "--daily-reserve", "--work-pool"):
        assert option in result.output
