"""Scanning tasks called on their own, as a runbook author would."""

from __future__ import annotations

import pytest

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import NotFoundError
from prefect_virustotal.client.models import PrivateScanOptions
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.tasks import (
    delete_private_file,
    get_analysis_item,
    get_private_file_report,
    list_private_files,
    rescan_private_file,
    rescan_url,
    scan_private_file,
    scan_url,
    wait_for_analysis,
)

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def test_private_file_round_trip(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    mounted.scanning.set_durations(queued=0, running=0)
    analysis = await scan_private_file(
        b"MZ tasks sample", PrivateScanOptions(retention_period_days=2), credentials=credentials
    )
    assert (analysis.meta or {}).get("emulated") is True
    done = await wait_for_analysis(analysis.id, private=True, credentials=credentials)
    assert done.type == "private_analysis"
    item = await get_analysis_item(analysis.id, private=True, credentials=credentials)
    report = await get_private_file_report(item.id, credentials=credentials)
    assert report.attributes.threat_verdict == "VERDICT_UNDETECTED"
    again = await rescan_private_file(
        item.id, PrivateScanOptions(enable_internet=True), credentials=credentials
    )
    assert again.id != analysis.id
    assert [f.id for f in await list_private_files(credentials=credentials)] == [item.id]
    await delete_private_file(item.id, credentials=credentials)
    with pytest.raises(NotFoundError):
        await get_private_file_report(item.id, credentials=credentials)


async def test_url_scan_and_rescan(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    mounted.scanning.set_durations(queued=0, running=0)
    first = await scan_url("http://tasks-test.example/a", credentials=credentials)
    second = await rescan_url("http://tasks-test.example/a", credentials=credentials)
    assert first.id != second.id
    assert (await wait_for_analysis(second.id, credentials=credentials)).attributes.completed
