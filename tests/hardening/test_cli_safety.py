"""Safety through the command line: nothing lost, nothing leaked, no wrong answer given with
confidence (issue 15). Each test reproduces a finding on the code before its fix."""

from __future__ import annotations

import base64
import contextlib
import json
import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from pydantic import SecretStr
from typer.testing import CliRunner

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.cli import ExitCode, app
from prefect_virustotal.emulator import Emulator
from tests.conftest import PREMIUM_KEY

pytestmark = pytest.mark.usefixtures("prefect_harness")

runner = CliRunner()


@pytest.fixture
def block(mounted: Emulator) -> Iterator[str]:
    """A saved block for the test's emulator (the collection outlives one command)."""
    name = "safety-premium"
    VirusTotalCredentials(
        api_key=SecretStr(PREMIUM_KEY),
        base_url=mounted.base_url,
        requests_per_minute=10_000,
        daily_budget=None,
    ).save(name, overwrite=True)
    return name


def four(world: object) -> list[str]:
    pick = world.pick  # type: ignore[attr-defined]
    return [
        pick("domain", index=0),
        pick("domain", index=1),
        pick("ip_address", index=0),
        pick("file", index=0),
    ]


def sync(block: str, name: str, path: Path, *extra: str) -> tuple[int, str, str]:
    result = runner.invoke(app, ["collection", "sync", name, str(path), "--block", block, *extra])
    return result.exit_code, result.stdout, result.output


def held(block: str, name: str, tmp_path: Path, iocs: list[str]) -> dict[str, object]:
    """Sync the same four again with --json: a sync that changes nothing shows what is held."""
    again = tmp_path / "again.txt"
    again.write_text("\n".join(iocs) + "\n")
    code, stdout, output = sync(block, name, again, "--json")
    assert code == ExitCode.OK, output
    return dict(json.loads(stdout)["result"])


# 1. Data loss ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "content",
    [b"", b"\x00\x01\x02\xff\xfe\x00binary\x00" * 10, b"\xff\xfe\xfd not text \xc3\x28\xa0\xa1"],
    ids=["empty", "binary", "undecodable"],
)
def test_sync_from_an_unusable_file_removes_nothing(
    block: str, mounted: Emulator, tmp_path: Path, content: bytes
) -> None:
    iocs = four(mounted.world)
    first = tmp_path / "iocs.txt"
    first.write_text("\n".join(iocs) + "\n")
    code, _, output = sync(block, "case-x", first)
    assert code == ExitCode.OK, output
    bad = tmp_path / "bad.txt"
    bad.write_bytes(content)
    code, _, output = sync(block, "case-x", bad)
    assert code == ExitCode.BAD_INPUT, output
    assert "Traceback" not in output
    assert held(block, "case-x", tmp_path, iocs)["unchanged"] == 4


@pytest.mark.parametrize("encoding", ["utf-16", "utf-16-le", "utf-16-be", "utf-8-sig"])
def test_sync_reads_utf16_and_bom_files(block: str, mounted: Emulator, tmp_path: Path, encoding: str) -> None:
    iocs = four(mounted.world)
    first = tmp_path / "iocs.txt"
    first.write_text("\n".join(iocs) + "\n")
    assert sync(block, "case-enc", first)[0] == ExitCode.OK
    encoded = tmp_path / "iocs-encoded.txt"
    encoded.write_bytes(("\r\n".join(iocs) + "\r\n").encode(encoding))
    code, stdout, output = sync(block, "case-enc", encoded, "--json")
    assert code == ExitCode.OK, output
    result = json.loads(stdout)["result"]
    assert result["removed"] == [] and result["unchanged"] == 4


def test_mass_removal_needs_prune_and_unused_lines_are_named(
    block: str, mounted: Emulator, tmp_path: Path
) -> None:
    iocs = four(mounted.world)
    first = tmp_path / "iocs.txt"
    first.write_text("\n".join(iocs) + "\n")
    assert sync(block, "case-prune", first)[0] == ExitCode.OK
    short_hash = "a" * 63
    smaller = tmp_path / "smaller.txt"
    smaller.write_text(f"{iocs[0]}\n999.1.1.1\n{short_hash}\n")
    code, _, output = sync(block, "case-prune", smaller)
    assert code == ExitCode.BAD_INPUT, output
    assert "--prune" in output
    assert held(block, "case-prune", tmp_path, iocs)["unchanged"] == 4

    code, stdout, output = sync(block, "case-prune", smaller, "--prune", "--json")
    assert code == ExitCode.OK, output
    result = json.loads(stdout)["result"]
    assert len(result["removed"]) == 3
    assert "999.1.1.1" in result["invalid"] and short_hash in result["invalid"]
    code, _, output = sync(block, "case-prune", smaller)
    assert code == ExitCode.OK
    assert "999.1.1.1" in output and short_hash in output


# 2. Secrets in URLs ---------------------------------------------------------------------------

SECRET_URL = "https://admin:hunter2@intranet.example/login"
MASKED_URL = "https://admin:***@intranet.example/login"


def _sent(emulator: Emulator) -> str:
    """Every request path and query, with URL identifiers decoded."""
    seen = []
    for record in emulator.requests:
        seen += [record.path, record.query]
        for part in record.path.split("/"):
            with contextlib.suppress(ValueError):
                seen.append(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)).decode("latin-1"))
    return "\n".join(seen)


def test_lookup_strips_url_credentials_before_any_request(block: str, mounted: Emulator) -> None:
    result = runner.invoke(app, ["lookup", SECRET_URL, "--block", block, "--json"])
    assert result.exit_code in (ExitCode.OK, ExitCode.PARTIAL), result.output
    assert "hunter2" not in result.output
    assert "hunter2" not in _sent(mounted)
    assert any(r.path.startswith("/api/v3/urls/") for r in mounted.requests)
    assert MASKED_URL in result.output


def test_triage_never_writes_url_credentials(block: str, mounted: Emulator, tmp_path: Path) -> None:
    # Analyses finish at once: the emulator's clock is not moved here, and triage submits the URL.
    mounted.scanning.set_durations(queued=0, running=0)
    ticket = tmp_path / "ticket.txt"
    ticket.write_text(f"User reported a phish at {SECRET_URL} and 8.8.8.8\n")
    report = tmp_path / "report.md"
    result = runner.invoke(
        app,
        ["triage", str(ticket), "--block", block, "--report", str(report), "--expand-budget", "2", "--json"],
    )
    assert result.exit_code in (ExitCode.OK, ExitCode.PARTIAL), result.output
    assert "hunter2" not in result.output
    assert "hunter2" not in report.read_text()
    assert "hunter2" not in _sent(mounted)


def test_collection_sync_strips_url_credentials(block: str, mounted: Emulator, tmp_path: Path) -> None:
    iocs = tmp_path / "iocs.txt"
    iocs.write_text(f"{SECRET_URL}\n{mounted.world.pick('domain')}\n")
    result = runner.invoke(app, ["collection", "sync", "case-url", str(iocs), "--block", block, "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    assert "hunter2" not in result.output
    held_urls = json.dumps(
        [mounted.collections.urls, list(mounted.collections.collections.values())], default=str
    )
    assert "hunter2" not in held_urls


# 3. A typo became a public submission --------------------------------------------------------


def test_scan_of_a_missing_file_is_bad_input(block: str, mounted: Emulator, tmp_path: Path) -> None:
    os.chdir(tmp_path)
    result = runner.invoke(app, ["scan", "acme-merger-plan.zip", "--block", block])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert "acme-merger-plan.zip" in result.output
    assert mounted.requests == []


def test_scan_takes_a_bare_name_as_url_only_with_url_option(block: str, mounted: Emulator) -> None:
    mounted.scanning.set_durations(queued=0, running=0)
    result = runner.invoke(app, ["scan", "--url", mounted.world.pick("domain"), "--block", block, "--json"])
    assert result.exit_code in (ExitCode.OK, ExitCode.MALICIOUS), result.output


def test_public_upload_of_an_unknown_file_needs_public(block: str, mounted: Emulator, tmp_path: Path) -> None:
    sample = tmp_path / "never-seen.bin"
    sample.write_bytes(os.urandom(2048))
    result = runner.invoke(app, ["scan", str(sample), "--block", block])
    assert result.exit_code == ExitCode.OK, result.output
    assert "--public" in result.output
    assert not [r for r in mounted.requests if r.method == "POST"]


def test_scan_reports_the_real_path_of_a_symlink(block: str, mounted: Emulator, tmp_path: Path) -> None:
    real = tmp_path / "real.bin"
    real.write_bytes(os.urandom(1024))
    link = tmp_path / "link.bin"
    link.symlink_to(real)
    result = runner.invoke(app, ["scan", str(link), "--block", block])
    assert result.exit_code == ExitCode.OK, result.output
    assert str(real) in result.output


# 5. Failure reported as success ---------------------------------------------------------------


@pytest.fixture
def wrong_key(mounted: Emulator) -> str:
    name = "safety-wrong-key"
    VirusTotalCredentials(api_key=SecretStr("unknown-key-xyz"), base_url=mounted.base_url).save(
        name, overwrite=True
    )
    return name


def test_triage_with_a_wrong_key_fails(wrong_key: str, mounted: Emulator, tmp_path: Path) -> None:
    ticket = tmp_path / "ticket.txt"
    ticket.write_text(f"{mounted.world.pick('domain')} {mounted.world.pick('ip_address')}\n")
    result = runner.invoke(app, ["triage", str(ticket), "--block", wrong_key])
    assert result.exit_code == ExitCode.SERVICE, result.output
    assert "WrongCredentials" in result.output


def test_expand_with_a_wrong_key_fails(wrong_key: str, mounted: Emulator) -> None:
    result = runner.invoke(app, ["expand", mounted.world.pick("domain"), "--block", wrong_key])
    assert result.exit_code == ExitCode.SERVICE, result.output
    assert "WrongCredentials" in result.output


def test_lookup_with_some_rows_failing_says_partial(block: str, mounted: Emulator) -> None:
    result = runner.invoke(app, ["lookup", mounted.world.pick("domain"), "not-an-ioc", "--block", block])
    assert result.exit_code == ExitCode.PARTIAL, result.output


@pytest.mark.parametrize(
    "args",
    [["expand", "example.com", "--depth", "-1"], ["retrohunt", "RULES", "--timeout", "0"]],
    ids=["depth", "timeout"],
)
def test_negative_limits_are_refused_before_any_request(
    args: list[str], block: str, mounted: Emulator, tmp_path: Path
) -> None:
    rules = tmp_path / "r.yar"
    rules.write_text('rule a { strings: $a = "x" condition: $a }')
    args = [str(rules) if a == "RULES" else a for a in args]
    result = runner.invoke(app, [*args, "--block", block])
    assert result.exit_code == ExitCode.BAD_INPUT, result.output
    assert mounted.requests == []
