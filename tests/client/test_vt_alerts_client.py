"""``vt.alerts``: VT Alerts assets and notifications through the real client."""

from __future__ import annotations

from datetime import timezone

import pytest

from prefect_virustotal.client import InvalidIndicatorError, InvalidParameterError, VirusTotalClient
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PREMIUM_KEY


async def test_assets_and_the_notifications_they_raise(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    domain = await vt.alerts.create_asset("domain", "Acme-Corp.example")
    cidr = await vt.alerts.create_asset("ip range", "198.51.100.7/24")
    assert domain.type == "alerting_asset" and domain.attributes.value == "acme-corp.example"
    assert cidr.attributes.value == "198.51.100.0/24"
    assert [a.id for a in await vt.alerts.list_assets(page_size=1).collect()] == [domain.id, cidr.id]
    assert (await vt.alerts.get_asset(domain.id)).attributes.asset_type == "domain"

    emulator.scanning.set_durations(queued=0, running=0)
    await vt.urls.scan("http://login.acme-corp.example/verify")
    clock.advance(2)
    await vt.files.upload(b"MZ beacon acme-corp.example", filename="implant.exe")
    clock.advance(2)
    emulator.inject_vt_alert(key=PREMIUM_KEY, entity_type="domain", event_severity="medium")
    oldest_first = await vt.alerts.list_notifications(order="created+", page_size=2).collect()
    assert [n.attributes.detection_category for n in oldest_first] == [
        "DETECTED_URL",
        "PATTERN_EMBEDDED_IN_FILE",
        "DETECTED_DOMAIN",
    ]
    first = oldest_first[0]
    assert first.attributes.created.tzinfo == timezone.utc and first.attributes.is_read is False
    assert (await vt.alerts.get_notification(first.id)).attributes.created == first.attributes.created
    await vt.alerts.delete_asset(domain.id)
    assert [a.id for a in await vt.alerts.list_assets().collect()] == [cidr.id]


async def test_bad_input_costs_no_request(vt: VirusTotalClient, emulator: Emulator) -> None:
    with pytest.raises(InvalidParameterError):
        await vt.alerts.create_asset("email", "soc@example.com")
    with pytest.raises(InvalidParameterError):
        await vt.alerts.create_asset("ip range", "not-a-range")
    with pytest.raises(InvalidIndicatorError):
        await vt.alerts.create_asset("domain", "no spaces.example")
    with pytest.raises(InvalidParameterError):
        vt.alerts.list_notifications(order="date+")
    with pytest.raises(InvalidParameterError):
        await vt.alerts.get_notification("../users/me")
    assert emulator.count() == 0
