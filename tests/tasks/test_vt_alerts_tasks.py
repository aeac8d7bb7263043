"""VT Alerts tasks as a runbook calls them: watch a domain, see what it raises, stop watching."""

from __future__ import annotations

import pytest

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.tasks import (
    create_vt_alert_asset,
    delete_vt_alert_asset,
    list_vt_alert_assets,
    list_vt_alert_notifications,
)

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def test_vt_alert_tasks_round_trip(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    asset = await create_vt_alert_asset("domain", "acme-corp.example", credentials=credentials)
    assert [a.id for a in await list_vt_alert_assets(credentials=credentials)] == [asset.id]
    mounted.world.add_url("http://payroll.acme-corp.example/login", nature="malicious")
    (note,) = await list_vt_alert_notifications(order="created-", credentials=credentials)
    assert note.attributes.detection_category == "DETECTED_URL" and note.attributes.event_severity == "high"
    await delete_vt_alert_asset(asset.id, credentials=credentials)
    assert await list_vt_alert_assets(credentials=credentials) == []
