"""Intelligence and basic search: the client against the emulator's query language, and the pre-check."""

from __future__ import annotations

from datetime import datetime, timezone

import pytest

from prefect_virustotal.client import (
    ForbiddenError,
    InvalidArgumentError,
    InvalidParameterError,
    UnselectiveContentQueryError,
    UnsupportedContentQueryError,
    VirusTotalClient,
)
from prefect_virustotal.core import check_query
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PUBLIC_KEY


async def _ids(vt: VirusTotalClient, query: str, **kwargs: object) -> list[str]:
    return [o.id async for o in vt.search.intelligence(query, **kwargs)]  # type: ignore[arg-type]


async def test_modifiers_select_what_the_world_holds(vt: VirusTotalClient, emulator: Emulator) -> None:
    world = emulator.world
    files = list(world.objects("file"))
    expected = {
        o.id
        for o in files
        if o.attributes["type_tag"] == "peexe" and o.attributes["last_analysis_stats"]["malicious"] >= 10
    }
    got = await _ids(vt, "type:peexe p:10+", page_size=300)
    assert set(got) == expected and expected
    assert len(got) == len(set(got))
    low = {
        o.id
        for o in files
        if o.attributes["last_analysis_stats"]["malicious"] <= 0 and "signed" in o.attributes["tags"]
    }
    assert set(await _ids(vt, "positives:0- tag:signed", page_size=300)) == low
    either = set(await _ids(vt, "type:zip or type:pdf", page_size=300))
    assert either == {o.id for o in files if o.attributes["type_tag"] in ("zip", "pdf")}
    not_pe = set(await _ids(vt, "type:pdf -tag:pdf", page_size=300))
    assert not_pe == {
        o.id for o in files if o.attributes["type_tag"] == "pdf" and "pdf" not in o.attributes["tags"]
    }


async def test_size_dates_names_engines_and_entities(vt: VirusTotalClient, emulator: Emulator) -> None:
    files = list(emulator.world.objects("file"))
    big = {o.id for o in files if o.attributes["size"] >= 2048}
    assert set(await _ids(vt, "size:2kb+", page_size=300)) == big
    day = datetime(2025, 6, 1, tzinfo=timezone.utc).timestamp()
    recent = {o.id for o in files if o.attributes["first_submission_date"] >= day}
    assert set(await _ids(vt, "fs:2025-06-01+", page_size=300)) == recent
    name = files[5].attributes["names"][0]
    assert files[5].id in await _ids(vt, f'name:"{name}"', page_size=300)
    domains = await _ids(vt, "entity:domain p:5+", limit=5)
    assert domains and all(emulator.world.get("domain", d) is not None for d in domains)
    hits = [o async for o in vt.search.intelligence("engines:trojan", limit=3)]
    assert hits and all(o.type == "file" for o in hits)


async def test_content_search_over_file_bytes(vt: VirusTotalClient, emulator: Emulator) -> None:
    world = emulator.world
    family = world.families[0]
    marker = f"{family.upper()}-00"
    expected = {o.id for o in world.objects("file") if o.content and marker.encode() in o.content}
    page = [o async for o in vt.search.intelligence(f'content:"{marker}"', page_size=300)]
    assert {o.id for o in page} == expected and expected
    assert page[0].context_attributes and "confidence" in page[0].context_attributes
    hexed = marker.encode().hex()
    assert set(await _ids(vt, f"content:{{{hexed}}}", page_size=300)) == expected
    wildcard = hexed[:4] + "??" + hexed[6:]
    assert expected <= set(await _ids(vt, f"content:{{{wildcard}}}", page_size=300))


@pytest.mark.parametrize(
    ("query", "error"),
    [
        ('content:"ab"', UnselectiveContentQueryError),
        ("content:{4d5a}", UnselectiveContentQueryError),
        ('NOT content:"abcdef"', UnsupportedContentQueryError),
        ('content:"abcdef" or tag:peexe', UnsupportedContentQueryError),
        ("content:/ab.*cd/", UnsupportedContentQueryError),
        ('entity:url content:"abcdef"', UnsupportedContentQueryError),
        ("similar-to:abc", InvalidArgumentError),
        ("p:lots", InvalidArgumentError),
        ("(type:peexe", InvalidArgumentError),
    ],
)
async def test_unsupported_queries_get_the_services_errors(
    vt: VirusTotalClient, query: str, error: type[Exception]
) -> None:
    with pytest.raises(error):
        await _ids(vt, query)


async def test_order_and_pagination(vt: VirusTotalClient, emulator: Emulator) -> None:
    ids = await _ids(vt, "type:peexe", order="positives-", page_size=7, limit=30)
    stats = [emulator.world.get("file", i).attributes["last_analysis_stats"]["malicious"] for i in ids]  # type: ignore[union-attr]
    assert len(ids) == 30 and stats == sorted(stats, reverse=True)
    emulator.reset_log()
    await _ids(vt, "type:peexe", page_size=7, limit=14)
    assert len(emulator.requests) == 2
    with pytest.raises(InvalidArgumentError):
        await _ids(vt, "type:peexe", order="colour-")
    described = [o async for o in vt.search.intelligence("type:pdf", descriptors_only=True, limit=2)]
    assert described and all(not o.attributes.model_fields_set for o in described)


async def test_public_key_and_basic_search(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    async with VirusTotalClient(
        PUBLIC_KEY, base_url=emulator.base_url, transport=emulator.transport(), clock=clock
    ) as public:
        with pytest.raises(ForbiddenError):
            await _ids(public, "type:peexe")
        sha = emulator.world.pick("file", "malicious")
        assert [o.id async for o in public.search.basic(sha)] == [sha]
        domain = emulator.world.pick("domain", "malicious")
        await vt.community.add_comment(domain, "beacon seen from finance laptops")
        found = [o async for o in public.search.basic("finance laptops")]
        assert [o.type for o in found] == ["comment"]


@pytest.mark.parametrize(
    "query",
    [
        'name:"unterminated',
        "(type:peexe",
        "type:peexe)",
        "content:{4d5a",
        "type:peexe AND",
        "colour:red",
        "   ",
    ],
)
async def test_malformed_queries_cost_no_request(
    vt: VirusTotalClient, emulator: Emulator, query: str
) -> None:
    before = len(emulator.requests)
    with pytest.raises(InvalidParameterError):
        check_query(query)
    assert len(emulator.requests) == before


def test_the_pre_check_lets_good_queries_through() -> None:
    for query in (
        "type:peexe p:5+ fs:2025-01-01T00:00:00+",
        'content:{4d5a??90} tag:"a b"',
        "hxxp://x[.]y",
        "http://a.b/c",
    ):
        assert check_query(query) == query.strip()
    assert check_query("colour:red", strict_modifiers=False) == "colour:red"
