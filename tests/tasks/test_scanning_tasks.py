"""Scanning tasks called on their own, as a runbook author would."""

from __future__ import annotations

import pytest

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import NotFoundError
from prefect_virustotal.client.models import PrivateScanOptions
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.tasks import (
    analyse_private_file,
    analyse_url,
    delete_private_file,
    get_analysis_item,
    get_private_file_report,
    list_private_files,
    scan_private_file,
    scan_url,
    wait_for_analysis,
    wait_for_report,
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
    again = await analyse_private_file(
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
    second = await analyse_url("http://tasks-test.example/a", credentials=credentials)
    assert first.id != second.id
    assert (await wait_for_analysis(second.id, credentials=credentials)).attributes.completed


async def test_wait_for_report_waits_then_reads_the_report(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    mounted.scanning.set_durations(queued=0, running=0)
    url = "http://tasks-test.example/report"
    analysis = await scan_url(url, credentials=credentials)
    done = await wait_for_report(analysis.id, credentials=credentials)
    assert done.analysis.attributes.completed and done.analysis.id == analysis.id
    assert done.report.type == "url" and done.report.attributes.url == url
    assert (done.report.meta or {}).get("emulated") is True
    assert mounted.count("GET", f"/analyses/{analysis.id}/item") == 1
    private = await scan_private_file(b"MZ wait-for-report sample", credentials=credentials)
    done = await wait_for_report(private.id, private=True, credentials=credentials)
    assert done.analysis.type == "private_analysis" and done.report.type == "private_file"
