"""Relationship routes, embedded relationships and the shared pagination."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from prefect_virustotal.emulator import Emulator, World
from tests.conftest import fresh_world

from .helpers import api, error_of


async def walk(client: httpx.AsyncClient, path: str, limit: int) -> list[dict[str, Any]]:
    """Every page of a listing, following ``meta.cursor``; checks the page invariants."""
    pages: list[dict[str, Any]] = []
    params: dict[str, Any] = {"limit": limit}
    while True:
        response = await client.get(path, params=params)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["data"], "never an empty page"
        assert page["links"]["self"] == str(response.request.url)
        pages.append(page)
        if "cursor" not in page["meta"]:
            assert "next" not in page["links"]
            return pages
        assert page["links"]["next"].startswith("http://vt-emulator.test/api/v3/")
        params = {"limit": limit, "cursor": page["meta"]["cursor"]}


@pytest.mark.asyncio
async def test_paging_a_hub_across_pages(emu: Emulator, world: World) -> None:
    hub = world.pick("domain", min_relationship=("resolutions", 100))
    expected = [r[1] for r in world.related("domain", hub, "resolutions")]
    async with api(emu) as client:
        pages = await walk(client, f"/domains/{hub}/relationships/resolutions", 40)
        objects = await walk(client, f"/domains/{hub}/resolutions", 40)
    assert len(pages) == -(-len(expected) // 40) >= 3
    assert all(p["meta"]["count"] == len(expected) for p in pages)
    assert [d["id"] for p in pages for d in p["data"]] == expected
    assert [d["type"] for p in pages for d in p["data"]] == ["resolution"] * len(expected)
    resolution = objects[0]["data"][0]
    assert resolution["id"] == resolution["attributes"]["ip_address"] + hub
    assert set(resolution["attributes"]) == {
        "date",
        "host_name",
        "ip_address",
        "resolver",
        "host_name_last_analysis_stats",
        "ip_address_last_analysis_stats",
    }
    dates = [d["attributes"]["date"] for p in objects for d in p["data"]]
    assert dates == sorted(dates, reverse=True)


@pytest.mark.asyncio
async def test_next_link_and_exact_last_page(emu: Emulator, world: World) -> None:
    hub = world.pick("file", min_relationship=("contacted_urls", 100))
    expected = [r[1] for r in world.related("file", hub, "contacted_urls")]
    path = f"/files/{hub}/relationships/contacted_urls"
    async with api(emu) as client:
        first = (await client.get(path, params={"limit": 40})).json()
        second = (await client.get(first["links"]["next"])).json()
        assert len(second["data"]) == 40
        assert "limit=40" in first["links"]["next"]
        # The limit may change between pages; a page ending exactly at the end has no cursor.
        rest = len(expected) - 80
        last = (await client.get(path, params={"limit": rest, "cursor": second["meta"]["cursor"]})).json()
    assert len(last["data"]) == rest
    assert "cursor" not in last["meta"]
    assert "next" not in last["links"]
    assert [d["id"] for d in first["data"] + second["data"] + last["data"]] == expected
    for descriptor in first["data"]:
        assert descriptor["type"] == "url"
        url = world.get("url", descriptor["id"]).attributes["url"]  # type: ignore[union-attr]
        assert descriptor["context_attributes"] == {"url": url}


@pytest.mark.asyncio
async def test_limit_and_cursor_validation(emu: Emulator, world: World) -> None:
    hub = world.pick("domain", min_relationship=("resolutions", 100))
    other = world.pick("domain", min_relationship=("resolutions", 100), index=1)
    path = f"/domains/{hub}/relationships/resolutions"
    async with api(emu) as client:
        assert (await client.get(path, params={"limit": 40})).status_code == 200
        for bad in ("41", "0", "-1", "ten", "1.5"):
            assert error_of(await client.get(path, params={"limit": bad}))[:2] == (
                400,
                "InvalidArgumentError",
            )
        assert error_of(await client.get(path, params={"cursor": "garbage!"}))[:2] == (
            400,
            "InvalidArgumentError",
        )
        foreign = (await client.get(f"/domains/{other}/relationships/resolutions")).json()["meta"]["cursor"]
        assert error_of(await client.get(path, params={"cursor": foreign}))[:2] == (
            400,
            "InvalidArgumentError",
        )
        default = (await client.get(path)).json()
        assert len(default["data"]) == 10
        # The descriptor and object listings of one relationship share cursors.
        objects = await client.get(
            f"/domains/{hub}/resolutions", params={"cursor": default["meta"]["cursor"]}
        )
        assert objects.status_code == 200
        assert len(objects.json()["data"]) == 10


@pytest.mark.asyncio
async def test_to_one_empty_and_unknown_relationships(emu: Emulator, world: World) -> None:
    uid = world.pick("url", min_relationship=("network_location", 1))
    ((kind, host),) = world.related("url", uid, "network_location")
    ((_, ip),) = world.related("url", uid, "last_serving_ip_address")
    registered = world.pick("domain", min_relationship=("subdomains", 1))
    sha256 = world.pick("file")
    async with api(emu) as client:
        full = (await client.get(f"/urls/{uid}/network_location")).json()
        assert full["data"]["type"] == kind
        assert full["data"]["id"] == host
        assert "attributes" in full["data"]
        described = (await client.get(f"/urls/{uid}/relationships/last_serving_ip_address")).json()
        assert described["data"] == {"type": "ip_address", "id": ip}
        assert (await client.get(f"/domains/{registered}/parent")).json()["data"] is None
        empty = (await client.get(f"/files/{sha256}/comments")).json()
        assert empty == {
            "data": [],
            "meta": {"count": 0},
            "links": {"self": f"{emu.base_url}/files/{sha256}/comments"},
        }
        assert error_of(await client.get(f"/files/{sha256}/subdomains"))[:2] == (404, "NotFoundError")
        assert error_of(await client.get(f"/files/{'0' * 64}/contacted_urls"))[:2] == (404, "NotFoundError")


@pytest.mark.asyncio
async def test_embedded_relationships(emu: Emulator, world: World) -> None:
    hub = world.pick("file", min_relationship=("contacted_urls", 100))
    total = len(world.related("file", hub, "contacted_urls"))
    async with api(emu) as client:
        response = await client.get(
            f"/files/{hub}", params={"relationships": "contacted_urls,dropped_files,bogus"}
        )
        rels = response.json()["data"]["relationships"]
        assert set(rels) == {"contacted_urls", "dropped_files"}, "unknown names are ignored"
        urls = rels["contacted_urls"]
        assert len(urls["data"]) == 20
        assert urls["meta"]["count"] == total
        assert urls["links"]["self"] == f"{emu.base_url}/files/{hub}/relationships/contacted_urls?limit=20"
        assert urls["links"]["related"] == f"{emu.base_url}/files/{hub}/contacted_urls"
        assert all("url" in d["context_attributes"] for d in urls["data"])
        rest = (await client.get(urls["links"]["next"])).json()
        ids = [d["id"] for d in urls["data"] + rest["data"]]
        assert ids == [r[1] for r in world.related("file", hub, "contacted_urls")][:40]
        assert rels["dropped_files"]["meta"]["count"] == len(rels["dropped_files"]["data"])
        assert "cursor" not in rels["dropped_files"]["meta"]

        uid = world.pick("url", min_relationship=("last_serving_ip_address", 1))
        url = (await client.get(f"/urls/{uid}", params={"relationships": "last_serving_ip_address"})).json()
        embedded = url["data"]["relationships"]["last_serving_ip_address"]
        assert embedded["data"]["type"] == "ip_address"
        assert "meta" not in embedded


@pytest.mark.asyncio
async def test_relationships_agree_over_http(emu: Emulator, world: World) -> None:
    sha256 = world.pick("file", "malicious", min_relationship=("contacted_domains", 2))
    async with api(emu) as client:
        domains = (await client.get(f"/files/{sha256}/relationships/contacted_domains")).json()["data"]
        for descriptor in domains:
            pages = await walk(client, f"/domains/{descriptor['id']}/relationships/communicating_files", 40)
            assert sha256 in {d["id"] for p in pages for d in p["data"]}


async def test_a_gone_related_object_is_an_error_stub_not_a_failed_list(fake_clock: object) -> None:
    own = Emulator(seed=0, world=fresh_world())
    seed = own.world.pick("file", "malicious", min_relationship=("contacted_ips", 2))
    refs = own.world.related("file", seed, "contacted_ips")
    gone = refs[0][1]
    own.world.forget("ip_address", gone)
    async with api(own) as http:
        full = await http.get(f"/files/{seed}/contacted_ips", params={"limit": 40})
        assert full.status_code == 200
        items = full.json()["data"]
        assert len(items) == len(refs)
        stub = next(i for i in items if i["id"] == gone)
        assert stub == {"type": "ip_address", "id": gone, "error": stub["error"]}
        assert stub["error"]["code"] == "NotFoundError"
        assert all("attributes" in i for i in items if i["id"] != gone)
        assert error_of(await http.get(f"/ip_addresses/{gone}"))[0] == 404
        descriptors = (await http.get(f"/files/{seed}/relationships/contacted_ips")).json()["data"]
        embedded = (await http.get(f"/files/{seed}", params={"relationships": "contacted_ips"})).json()
        for listed in (descriptors, embedded["data"]["relationships"]["contacted_ips"]["data"]):
            assert next(i for i in listed if i["id"] == gone)["error"]["code"] == "NotFoundError"


async def test_enterprise_only_relationships_are_refused_to_public_keys_alone(
    emu: Emulator, world: World
) -> None:
    from prefect_virustotal.emulator import PUBLIC_DEMO_KEY

    domain = world.pick("domain", min_relationship=("urls", 1))
    async with api(emu, PUBLIC_DEMO_KEY) as public, api(emu) as premium:
        for path in (f"/domains/{domain}/urls", f"/domains/{domain}/relationships/downloaded_files"):
            assert error_of(await public.get(path))[:2] == (403, "ForbiddenError")
            assert (await premium.get(path)).status_code == 200
        ip = world.pick("ip_address")
        assert error_of(await public.get(f"/ip_addresses/{ip}/downloaded_files"))[0] == 403
        answer = await public.get(f"/domains/{domain}", params={"relationships": "urls,resolutions"})
        assert answer.status_code == 200
        rels = answer.json()["data"]["relationships"]
        assert rels["urls"]["error"]["code"] == "ForbiddenError" and "data" not in rels["urls"]
        assert "data" in rels["resolutions"] and answer.json()["data"]["attributes"]
        full = (await premium.get(f"/domains/{domain}", params={"relationships": "urls"})).json()
        assert full["data"]["relationships"]["urls"]["data"]
