"""The real client against the emulator: errors, retries, pacing, paging, zero-cost bad input."""

from __future__ import annotations

import logging

import pytest

from prefect_virustotal.client import (
    ERROR_CODES,
    APIConnectionError,
    AuthenticationRequiredError,
    InvalidIndicatorError,
    LocalRateLimiter,
    NotFoundError,
    QuotaExceededError,
    RequestBudgetExceededError,
    RetryPolicy,
    ServerError,
    TransientError,
    UnexpectedResponseError,
    VirusTotalClient,
    WrongCredentialsError,
)
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PREMIUM_KEY, PUBLIC_KEY


def client_for(
    emulator: Emulator, clock: FakeClock, key: str = PREMIUM_KEY, **kwargs: object
) -> VirusTotalClient:
    return VirusTotalClient(
        key,
        base_url=emulator.base_url,
        transport=emulator.transport(),
        clock=clock,
        **kwargs,  # type: ignore[arg-type]
    )


async def test_file_lookup_by_every_hash(vt: VirusTotalClient, emulator: Emulator) -> None:
    sha256 = emulator.world.pick("file", nature="malicious")
    report = await vt.files.get(sha256)
    assert report.id == sha256 and report.type == "file"
    assert report.attributes.last_analysis_stats is not None
    assert report.attributes.last_analysis_date is not None
    assert report.attributes.last_analysis_date.tzinfo is not None
    for other in (report.attributes.md5, report.attributes.sha1):
        assert other is not None
        assert (await vt.files.get(other.upper())).id == sha256


async def test_url_domain_ip_lookups(vt: VirusTotalClient, emulator: Emulator) -> None:
    world_url = emulator.world.get("url", emulator.world.pick("url"))
    assert world_url is not None
    url_obj = await vt.urls.get(world_url.attributes["url"])
    assert url_obj.type == "url" and len(url_obj.id) == 64
    assert (await vt.urls.get(url_obj.id)).id == url_obj.id
    domain = await vt.domains.get(emulator.world.pick("domain"))
    assert domain.type == "domain"
    ip = await vt.ip_addresses.get(emulator.world.pick("ip_address"))
    assert ip.type == "ip_address"


async def test_unknown_object_is_not_found(vt: VirusTotalClient) -> None:
    with pytest.raises(NotFoundError) as info:
        await vt.files.get("0" * 64)
    assert info.value.code == "NotFoundError" and info.value.status_code == 404


async def test_bad_identifiers_make_zero_requests(vt: VirusTotalClient, emulator: Emulator) -> None:
    emulator.reset_log()
    for call in (
        vt.files.get("not-a-hash"),
        vt.urls.get("javascript:alert(1)"),
        vt.domains.get("no_tld"),
        vt.ip_addresses.get("999.1.1.1"),
    ):
        with pytest.raises(InvalidIndicatorError):
            await call
    assert emulator.count() == 0


async def test_missing_and_wrong_keys(emulator: Emulator, clock: FakeClock) -> None:
    async with client_for(emulator, clock, key="no-such-key") as client:
        with pytest.raises(WrongCredentialsError) as info:
            await client.domains.get(emulator.world.pick("domain"))
    assert "no-such-key" not in str(info.value)
    import httpx

    async with httpx.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url) as raw:
        response = await raw.get(f"/domains/{emulator.world.pick('domain')}")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == AuthenticationRequiredError.__name__


@pytest.mark.parametrize("code", sorted(ERROR_CODES))
async def test_every_error_code_maps_to_its_class(code: str, emulator: Emulator, clock: FakeClock) -> None:
    emulator.faults.add(kind="error", code=code, count=10)
    async with client_for(emulator, clock, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(ERROR_CODES[code]) as info:
            await client.domains.get(emulator.world.pick("domain"))
    assert type(info.value) is ERROR_CODES[code]
    assert info.value.code == code


async def test_retries_transient_errors_then_succeeds(emulator: Emulator, clock: FakeClock) -> None:
    emulator.faults.add(kind="transient", count=2)
    async with client_for(emulator, clock) as client:
        await client.domains.get(emulator.world.pick("domain"))
    assert emulator.count(status=503) == 2
    assert emulator.count(status=200) == 1


async def test_retries_are_bounded(emulator: Emulator, clock: FakeClock) -> None:
    emulator.faults.add(kind="transient", count=100)
    async with client_for(emulator, clock, retry=RetryPolicy(max_retries=3)) as client:
        with pytest.raises(TransientError):
            await client.domains.get(emulator.world.pick("domain"))
    assert emulator.count() == 4


async def test_no_retry_for_other_4xx(emulator: Emulator, clock: FakeClock) -> None:
    async with client_for(emulator, clock) as client:
        with pytest.raises(NotFoundError):
            await client.files.get("f" * 64)
    assert emulator.count() == 1


async def test_dropped_connection_retried_for_get(emulator: Emulator, clock: FakeClock) -> None:
    emulator.faults.add(kind="drop", count=1)
    async with client_for(emulator, clock) as client:
        await client.domains.get(emulator.world.pick("domain"))
    assert emulator.count() == 2


async def test_dropped_connection_not_retried_for_unsafe_post(emulator: Emulator, clock: FakeClock) -> None:
    emulator.faults.add(kind="drop", count=1)
    async with client_for(emulator, clock) as client:
        with pytest.raises(APIConnectionError):
            await client.request("POST", "/urls", data={"url": "http://example.com/"})
    assert emulator.count() == 1


async def test_non_json_error_body_gets_a_typed_error(emulator: Emulator, clock: FakeClock) -> None:
    emulator.faults.add(kind="non_json", count=10)
    async with client_for(emulator, clock, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(ServerError) as info:
            await client.domains.get(emulator.world.pick("domain"))
    assert info.value.status_code == 502 and info.value.code == "ServerError"
    assert "unexpected answer" in info.value.message


async def test_truncated_body_gets_a_typed_error(emulator: Emulator, clock: FakeClock) -> None:
    emulator.faults.add(kind="truncate", count=10)
    async with client_for(emulator, clock, retry=RetryPolicy(max_retries=0)) as client:
        with pytest.raises(UnexpectedResponseError) as info:
            await client.domains.get(emulator.world.pick("domain"))
    assert info.value.code == "InvalidResponse"


async def test_limiter_keeps_a_public_key_under_its_quota(emulator: Emulator, clock: FakeClock) -> None:
    limiter = LocalRateLimiter(4, clock=clock)
    domain = emulator.world.pick("domain")
    start = clock.time()
    async with client_for(emulator, clock, key=PUBLIC_KEY, limiter=limiter) as client:
        for _ in range(12):
            await client.domains.get(domain)
    assert emulator.count(status=429) == 0
    assert emulator.count(status=200) == 12
    elapsed = clock.time() - start
    # 12 requests at 4/min need two full windows after the first burst.
    assert 120 <= elapsed < 125


async def test_without_limiter_a_public_key_hits_429_and_waits_it_out(
    emulator: Emulator, clock: FakeClock
) -> None:
    domain = emulator.world.pick("domain")
    async with client_for(emulator, clock, key=PUBLIC_KEY, retry=RetryPolicy(max_retries=3)) as client:
        for _ in range(5):
            await client.domains.get(domain)
    assert emulator.count(status=429) >= 1
    assert emulator.count(status=200) == 5


async def test_daily_quota_raises_at_once(emulator: Emulator, clock: FakeClock) -> None:
    emulator.add_key("tiny-daily-key", tier="premium", per_minute=1000, per_day=3)
    domain = emulator.world.pick("domain")
    async with client_for(emulator, clock, key="tiny-daily-key") as client:
        for _ in range(3):
            await client.domains.get(domain)
        with pytest.raises(QuotaExceededError) as info:
            await client.domains.get(domain)
    assert info.value.scope == "daily"
    assert emulator.count(status=429) == 1  # no retry loop


async def test_client_side_daily_budget_sends_nothing(emulator: Emulator, clock: FakeClock) -> None:
    limiter = LocalRateLimiter(1000, daily_budget=2, clock=clock)
    domain = emulator.world.pick("domain")
    async with client_for(emulator, clock, limiter=limiter) as client:
        await client.domains.get(domain)
        await client.domains.get(domain)
        with pytest.raises(RequestBudgetExceededError, match="daily request budget of 2"):
            await client.domains.get(domain)
    assert emulator.count() == 2


async def test_pagination_over_several_pages_and_resume(vt: VirusTotalClient, emulator: Emulator) -> None:
    hub = emulator.world.pick("domain", min_relationship=("resolutions", 100))
    everything = await vt.relationships.list_descriptors(
        "domains", hub, "resolutions", page_size=40
    ).collect()
    assert len(everything) >= 100
    assert len({d.id for d in everything}) == len(everything)
    emulator.reset_log()
    pager = vt.relationships.list_descriptors("domains", hub, "resolutions", page_size=40)
    first = []
    async for item in pager:
        first.append(item)
        if len(first) == 55:
            break
    token = pager.resume_token
    rest = await vt.relationships.list_descriptors(
        "domains", hub, "resolutions", page_size=40, cursor=token
    ).collect()
    assert [d.id for d in first + rest] == [d.id for d in everything]


async def test_pagination_limit_is_respected(vt: VirusTotalClient, emulator: Emulator) -> None:
    hub = emulator.world.pick("domain", min_relationship=("resolutions", 100))
    emulator.reset_log()
    items = await vt.relationships.list_objects("domains", hub, "resolutions", limit=15).collect()
    assert len(items) == 15
    assert emulator.count() == 1


async def test_embedded_relationships(vt: VirusTotalClient, emulator: Emulator) -> None:
    sha256 = emulator.world.pick("file", min_relationship=("contacted_domains", 1))
    report = await vt.files.get(sha256, relationships=["contacted_domains", "contacted_ips"])
    embedded = report.relationships["contacted_domains"]
    assert embedded.items and embedded.count is not None and embedded.count >= len(embedded.items)


async def test_key_never_logged(
    emulator: Emulator, clock: FakeClock, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator.faults.add(kind="transient", count=1)
    async with client_for(emulator, clock) as client:
        await client.domains.get(emulator.world.pick("domain"))
        with pytest.raises(NotFoundError) as info:
            await client.files.get("e" * 64)
        assert PREMIUM_KEY not in repr(client)
    assert caplog.records, "expected DEBUG records from the client"
    assert PREMIUM_KEY not in caplog.text
    assert PREMIUM_KEY not in str(info.value) and PREMIUM_KEY not in repr(info.value)


@pytest.mark.parametrize(
    ("status", "body"), [(201, b'{"data": {"type": "domain", "id": "a.test"}}'), (204, b"")]
)
async def test_any_2xx_is_success(status: int, body: bytes) -> None:
    # The reference's errors page: any 2xx status is success (the emulator only sends 200).
    import httpx

    def answer(request: httpx.Request) -> httpx.Response:
        return httpx.Response(status, content=body, headers={"content-type": "application/json"})

    async with VirusTotalClient(PREMIUM_KEY, transport=httpx.MockTransport(answer)) as client:
        decoded = await client.request_json("POST", "/anything", json_body={})
    assert decoded == ({} if not body else {"data": {"type": "domain", "id": "a.test"}})


async def test_relationship_lists_parse_error_stubs_as_such(vt: VirusTotalClient, emulator: Emulator) -> None:
    seed = emulator.world.pick("file", "malicious", min_relationship=("contacted_ips", 2))
    gone = emulator.world.related("file", seed, "contacted_ips")[0][1]
    emulator.world.forget("ip_address", gone)
    related = await vt.relationships.list_objects("files", seed, "contacted_ips").collect()
    stubs = [o for o in related if o.missing]
    assert [s.id for s in stubs] == [gone]
    assert stubs[0].error is not None and stubs[0].error.code == "NotFoundError"
    assert stubs[0].attributes.model_dump() == {}  # no made-up attributes (no stats, no verdict)
    assert all(not o.missing and o.attributes.model_dump() for o in related if o.id != gone)


async def test_an_enterprise_only_relationship_is_an_error_on_that_relationship_alone(
    emulator: Emulator, clock: FakeClock
) -> None:
    domain = emulator.world.pick("domain", min_relationship=("urls", 1))
    async with client_for(emulator, clock, key=PUBLIC_KEY) as client:
        report = await client.domains.get(domain, relationships=["urls", "resolutions"])
    urls = report.relationships["urls"]
    assert urls.error is not None and urls.error.code == "ForbiddenError" and urls.items == []
    assert report.relationships["resolutions"].error is None and report.relationships["resolutions"].items
