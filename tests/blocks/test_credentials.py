"""The credentials block under Prefect's test harness: save, load, mask, register."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import SecretStr

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import VirusTotalClient
from prefect_virustotal.emulator import Emulator
from tests.conftest import PREMIUM_KEY

pytestmark = pytest.mark.usefixtures("prefect_harness")

SECRET = "block-secret-key-0000-recognisable"


async def test_save_load_and_mask() -> None:
    block = VirusTotalCredentials(api_key=SecretStr(SECRET), requests_per_minute=4)
    await block.asave("unit-test-block", overwrite=True)
    loaded = await VirusTotalCredentials.aload("unit-test-block")
    assert isinstance(loaded, VirusTotalCredentials)
    assert loaded.api_key.get_secret_value() == SECRET
    assert loaded.requests_per_minute == 4
    for text in (repr(loaded), str(loaded), loaded.model_dump_json(), str(loaded.model_dump())):
        assert SECRET not in text


async def test_every_field_is_described() -> None:
    for name, field in VirusTotalCredentials.model_fields.items():
        assert field.description, f"{name} has no description"
    assert "VirusTotalCredentials.load" in (VirusTotalCredentials.__doc__ or "")


async def test_get_client_builds_a_fresh_client_each_time(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    async with credentials.get_client() as first:
        report = await first.domains.get(mounted.world.pick("domain"))
        assert report.type == "domain"
    async with credentials.get_client() as second:
        assert second is not first
    assert isinstance(first, VirusTotalClient)
    assert PREMIUM_KEY not in repr(first)


def test_block_register_command(prefect_harness: None) -> None:
    from prefect.settings import PREFECT_API_URL

    env = {**os.environ, "PREFECT_API_URL": str(PREFECT_API_URL.value())}
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "prefect"),
            "block",
            "register",
            "-m",
            "prefect_virustotal.blocks",
        ],
        capture_output=True,
        text=True,
        env=env,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "VirusTotal Credentials" in result.stdout or "virustotal-credentials" in result.stdout


async def test_a_key_given_as_block_name_is_refused_without_echo() -> None:
    from prefect_virustotal.blocks import resolve_credentials
    from prefect_virustotal.client import InvalidParameterError

    key = "ab" * 32
    with pytest.raises(InvalidParameterError, match="save it in a VirusTotalCredentials block") as info:
        await resolve_credentials(key)
    assert key not in str(info.value)
