"""Lookup tasks against the emulator."""

from __future__ import annotations

import pytest

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import NotFoundError
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.tasks import (
    get_domain_report,
    get_file_report,
    get_related_objects,
    lookup_indicators,
)

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def test_single_lookups(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    sha256 = mounted.world.pick("file")
    assert (await get_file_report(sha256, credentials=credentials)).id == sha256
    domain = mounted.world.pick("domain")
    assert (await get_domain_report(domain, credentials=credentials)).id == domain
    with pytest.raises(NotFoundError):
        await get_file_report("1" * 64, credentials=credentials)


async def test_related_objects(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    sha256 = mounted.world.pick("file", min_relationship=("contacted_domains", 2))
    related = await get_related_objects(sha256, "contacted_domains", limit=2, credentials=credentials)
    assert len(related) == 2 and all(r.type == "domain" for r in related)
    descriptors = await get_related_objects(
        sha256, "contacted_domains", descriptors_only=True, credentials=credentials
    )
    assert {d.id for d in descriptors} >= {r.id for r in related}


async def test_batch_statuses_and_no_request_for_invalid(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    mounted.reset_log()
    found = mounted.world.pick("domain")
    results = await lookup_indicators([found, "bad input", "2" * 64], credentials=credentials)
    assert [r.status.value for r in results] == ["found", "invalid", "not_found"]
    assert mounted.count() == 2


async def test_batch_stops_spending_when_the_day_is_spent(mounted: Emulator) -> None:
    from pydantic import SecretStr

    mounted.add_key("daily-two", tier="premium", per_minute=1000, per_day=2)
    block = VirusTotalCredentials(
        api_key=SecretStr("daily-two"), base_url=mounted.base_url, requests_per_minute=1000, daily_budget=None
    )
    domains = [mounted.world.pick("domain", index=i) for i in range(6)]
    results = await lookup_indicators(domains, concurrency=1, credentials=block)
    statuses = [r.status.value for r in results]
    assert statuses[:2] == ["found", "found"]
    assert set(statuses[2:]) == {"quota_limited"}
    assert mounted.count(status=429) == 1
