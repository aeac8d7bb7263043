"""Object reports over HTTP: lookups by every id form, envelopes, headers, the request log."""

from __future__ import annotations

import base64

import pytest

from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, Emulator, World

from .helpers import api, error_of


@pytest.mark.asyncio
async def test_file_by_md5_sha1_sha256(emu: Emulator, world: World) -> None:
    sha256 = world.pick("file", "malicious")
    attrs = world.get("file", sha256).attributes  # type: ignore[union-attr]
    async with api(emu) as client:
        for form in (sha256, sha256.upper(), attrs["md5"], attrs["sha1"].upper()):
            response = await client.get(f"/files/{form}")
            assert response.status_code == 200
            assert response.headers["content-type"] == "application/json"
            assert response.headers["x-vt-emulator"] == "true"
            data = response.json()["data"]
            assert data["type"] == "file"
            assert data["id"] == sha256
            assert data["links"]["self"] == f"{emu.base_url}/files/{sha256}"
            assert data["attributes"]["last_analysis_stats"]["malicious"] >= 5
            assert len(data["attributes"]["last_analysis_results"]) == 70
            assert "relationships" not in data


@pytest.mark.asyncio
async def test_url_by_base64_and_sha256(emu: Emulator, world: World) -> None:
    uid = world.pick("url", "malicious")
    url = world.get("url", uid).attributes["url"]  # type: ignore[union-attr]
    unpadded = base64.urlsafe_b64encode(url.encode()).decode().rstrip("=")
    async with api(emu) as client:
        for form in (uid, unpadded):
            data = (await client.get(f"/urls/{form}")).json()["data"]
            assert data["type"] == "url"
            assert data["id"] == uid
            assert data["attributes"]["url"] == url
        status, code, message = error_of(await client.get("/urls/thisurlidmakesnosenseatall"))
    assert (status, code, message) == (404, "NotFoundError", 'URL "thisurlidmakesnosenseatall" not found')


@pytest.mark.asyncio
async def test_domain_and_ip_lookups(emu: Emulator, world: World) -> None:
    domain = world.pick("domain", "clean")
    ipv6 = next(ip for ip in world.ids("ip_address") if ":" in ip)
    async with api(emu) as client:
        data = (await client.get(f"/domains/{domain.upper()}")).json()["data"]
        assert data["type"] == "domain"
        assert data["id"] == domain
        assert isinstance(data["attributes"]["creation_date"], int)
        for ip in (world.pick("ip_address", "malicious"), ipv6):
            data = (await client.get(f"/ip_addresses/{ip}")).json()["data"]
            assert data["type"] == "ip_address"
            assert data["id"] == ip
            assert {"as_owner", "asn", "country", "network"} <= set(data["attributes"])


@pytest.mark.asyncio
async def test_not_found_and_malformed_ids(emu: Emulator) -> None:
    async with api(emu) as client:
        cases = {
            "/files/" + "0" * 64: (404, "NotFoundError", f'File "{"0" * 64}" not found'),
            "/domains/nowhere.invalid": (404, "NotFoundError", 'Domain "nowhere.invalid" not found'),
            "/ip_addresses/192.0.2.255": (404, "NotFoundError", 'IP address "192.0.2.255" not found'),
            "/files/not-a-hash": (400, "InvalidArgumentError", None),
            "/ip_addresses/999.1.1.1": (400, "InvalidArgumentError", None),
            "/analyses/nope": (404, "NotFoundError", None),
            "/no/such/route": (404, "NotFoundError", None),
        }
        for path, (status, code, message) in cases.items():
            got = error_of(await client.get(path))
            assert got[:2] == (status, code), path
            if message is not None:
                assert got[2] == message
        # A method the path does not support is a resource that does not exist either.
        assert error_of(await client.delete("/files/" + "0" * 64))[:2] == (404, "NotFoundError")


@pytest.mark.asyncio
async def test_root_says_it_is_an_emulator(emu: Emulator) -> None:
    async with api(emu, key=None) as client:
        response = await client.get("http://vt-emulator.test/")
    assert response.status_code == 200
    assert "emulator" in response.json()
    assert response.headers["x-vt-emulator"] == "true"


@pytest.mark.asyncio
async def test_request_log(emu: Emulator, world: World) -> None:
    domain = world.pick("domain")
    async with api(emu) as client:
        await client.get(f"/domains/{domain}", params={"relationships": "urls"})
        await client.get("/files/" + "0" * 64)
        await client.get(f"/domains/{domain}", headers={"x-apikey": "nope"})
    first = emu.requests[0]
    assert (first.method, first.path, first.query) == (
        "GET",
        f"/api/v3/domains/{domain}",
        "relationships=urls",
    )
    assert first.api_key == PREMIUM_DEMO_KEY
    assert first.status == 200
    assert first.time == emu.clock.time()
    assert emu.count() == 3
    assert emu.count(path_prefix="/domains") == emu.count(path_prefix="/api/v3/domains") == 2
    assert emu.count(status=404) == 1
    assert emu.count(key="nope") == 1
    assert emu.count(method="post") == 0
    emu.reset_log()
    assert emu.count() == 0
    assert emu.requests == []


@pytest.mark.asyncio
async def test_body_size_cap(world: World) -> None:
    small = Emulator(world=world, max_body_bytes=10)
    async with api(small) as client:
        response = await client.post("/files", content=b"x" * 11)
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "BadRequestError"
