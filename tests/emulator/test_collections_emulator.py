"""The emulator's IoC collections, spoken to with plain httpx (no client code)."""

from __future__ import annotations

import base64
from typing import Any

import pytest

from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, Emulator

from .helpers import api, error_of

OTHER = "other-user-premium-key"  # user "other-user"; the premium demo key is "emulator-premium"


@pytest.fixture(autouse=True)
def other_user(emu: Emulator) -> None:
    """A second premium key of another user (the public demo key allows 4 requests a minute)."""
    emu.add_key(OTHER, "premium", user_id="other-user")


async def _create(emu: Emulator, data: dict[str, Any], key: str = PREMIUM_DEMO_KEY) -> dict[str, Any]:
    async with api(emu, key) as http:
        response = await http.post("/collections", json={"data": {"type": "collection", **data}})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()["data"]
    return body


async def test_create_from_descriptors(emu: Emulator) -> None:
    sha256 = emu.world.pick("file", "malicious")
    md5 = emu.world.get("file", sha256).attributes["md5"]  # type: ignore[union-attr]
    known_url = emu.world.pick("url")
    url_b64 = base64.urlsafe_b64encode(b"http://b64.example/x").decode().rstrip("=")
    data = await _create(
        emu,
        {
            "attributes": {"name": "case 1", "description": "phish", "tags": ["ir", "ir"]},
            "relationships": {
                "files": {"data": [{"type": "file", "id": md5}, {"type": "file", "id": "A" * 64}]},
                "domains": {"data": [{"type": "domain", "id": "Evil.Example"}]},
                "ip_addresses": {"data": [{"type": "ip_address", "id": "2001:db8:0::1"}]},
                "urls": {
                    "data": [
                        {"type": "url", "url": "HTTP://Evil.Example"},
                        {"type": "url", "id": known_url},
                        {"type": "url", "id": url_b64},
                    ]
                },
            },
        },
    )
    attributes = data["attributes"]
    assert data["type"] == "collection"
    assert attributes["name"] == "case 1" and attributes["tags"] == ["ir"]
    assert attributes["owner"] == "emulator-premium"
    assert attributes["link"] == f"https://www.virustotal.com/gui/collection/{data['id']}"
    counts = {k: attributes[f"{k}_count"] for k in ("files", "domains", "ip_addresses", "urls")}
    assert counts == {"files": 2, "domains": 1, "ip_addresses": 1, "urls": 3}
    assert isinstance(attributes["creation_date"], int)
    async with api(emu) as http:
        files = (await http.get(f"/collections/{data['id']}/relationships/files")).json()
        urls = (await http.get(f"/collections/{data['id']}/urls")).json()
        ips = (await http.get(f"/collections/{data['id']}/relationships/ip_addresses")).json()
    assert [d["id"] for d in files["data"]] == [sha256, "a" * 64]  # md5 resolved to the world's sha256
    assert ips["data"] == [{"type": "ip_address", "id": "2001:db8::1"}]
    shown = [u["attributes"]["url"] for u in urls["data"]]
    assert shown[0] == "http://evil.example/" and shown[2] == "http://b64.example/x"


async def test_create_from_raw_text(emu: Emulator) -> None:
    sha1 = "b" * 40
    text = f"C2 at hxxp://bad[.]example/gate.php and 203.0.113[.]7; dropper {sha1}, also evil[.]test."
    data = await _create(emu, {"attributes": {"name": "raw"}, "raw_items": text})
    attributes = data["attributes"]
    assert (attributes["urls_count"], attributes["ip_addresses_count"]) == (1, 1)
    assert (attributes["files_count"], attributes["domains_count"]) == (1, 1)
    async with api(emu) as http:
        urls = (await http.get(f"/collections/{data['id']}/relationships/urls")).json()
        domains = (await http.get(f"/collections/{data['id']}/relationships/domains")).json()
    assert urls["data"][0]["context_attributes"]["url"] == "http://bad.example/gate.php"
    assert domains["data"][0]["id"] == "evil.test"


@pytest.mark.parametrize(
    ("relationship", "descriptor"),
    [
        ("files", {"type": "file", "id": "xyz"}),
        ("files", {"type": "domain", "id": "a.example"}),
        ("ip_addresses", {"type": "ip_address", "id": "300.1.1.1"}),
        ("domains", {"type": "domain", "id": "no_tld"}),
        ("domains", {"type": "domain"}),
        ("urls", {"type": "url", "id": "f" * 64}),
        ("urls", {"type": "url", "url": "not a url"}),
    ],
)
async def test_bad_descriptors_are_400_and_change_nothing(
    emu: Emulator, relationship: str, descriptor: dict[str, str]
) -> None:
    data = await _create(emu, {"attributes": {"name": "c"}})
    good = {"type": "domain", "id": "ok.example"} if relationship == "domains" else None
    batch = [d for d in (good, descriptor) if d is not None]
    async with api(emu) as http:
        response = await http.post(f"/collections/{data['id']}/{relationship}", json={"data": batch})
        after = (await http.get(f"/collections/{data['id']}")).json()["data"]["attributes"]
    status, code, _ = error_of(response)
    assert (status, code) == (400, "InvalidArgumentError")
    assert after[f"{relationship}_count"] == 0


async def test_malformed_bodies(emu: Emulator) -> None:
    data = await _create(emu, {"attributes": {"name": "c"}})
    async with api(emu) as http:
        no_name = await http.post("/collections", json={"data": {"type": "collection", "attributes": {}}})
        wrong_type = await http.post(
            "/collections", json={"data": {"type": "file", "attributes": {"name": "x"}}}
        )
        not_json = await http.post(f"/collections/{data['id']}/domains", content=b"{")
        no_list = await http.post(f"/collections/{data['id']}/domains", json={"data": {"type": "domain"}})
        unknown_rel = await http.post(f"/collections/{data['id']}/graphs", json={"data": []})
    assert error_of(no_name)[:2] == (400, "InvalidArgumentError")
    assert error_of(wrong_type)[:2] == (400, "BadRequestError")
    assert error_of(not_json)[:2] == (400, "BadRequestError")
    assert error_of(no_list)[:2] == (400, "BadRequestError")
    assert error_of(unknown_rel)[:2] == (404, "NotFoundError")


async def test_oversized_batches_are_refused(emu: Emulator) -> None:
    data = await _create(emu, {"attributes": {"name": "c"}})
    too_many = [
        {"type": "domain", "id": f"d{i}.example"} for i in range(emu.collections.max_items_per_request + 1)
    ]
    async with api(emu) as http:
        response = await http.post(f"/collections/{data['id']}/domains", json={"data": too_many})
        ok = await http.post(f"/collections/{data['id']}/domains", json={"data": too_many[:-1]})
    assert error_of(response)[:2] == (400, "InvalidArgumentError")
    assert ok.status_code == 200 and ok.json()["meta"]["count"] == len(too_many) - 1


async def test_add_remove_with_a_json_body_and_paging(emu: Emulator) -> None:
    data = await _create(emu, {"attributes": {"name": "c"}})
    cid = data["id"]
    domains = [{"type": "domain", "id": f"d{i:03d}.example"} for i in range(95)]
    async with api(emu) as http:
        assert (await http.post(f"/collections/{cid}/domains", json={"data": domains})).status_code == 200
        again = await http.post(f"/collections/{cid}/domains", json={"data": domains[:10]})
        assert again.json()["meta"]["count"] == 95  # adding twice is harmless
        removed = await http.request("DELETE", f"/collections/{cid}/domains", json={"data": domains[:45]})
        assert removed.status_code == 200 and removed.json()["meta"]["count"] == 50
        seen, cursor = [], None
        while True:
            params = {"limit": 40, **({"cursor": cursor} if cursor else {})}
            page = (await http.get(f"/collections/{cid}/relationships/domains", params=params)).json()
            seen += [d["id"] for d in page["data"]]
            cursor = page["meta"].get("cursor")
            if not cursor:
                break
    assert seen == [d["id"] for d in domains[45:]]


async def test_only_the_owner_may_change_or_delete(emu: Emulator) -> None:
    data = await _create(emu, {"attributes": {"name": "mine"}})
    cid = data["id"]
    patch = {"data": {"type": "collection", "attributes": {"name": "theirs"}}}
    items = {"data": [{"type": "domain", "id": "x.example"}]}
    async with api(emu, OTHER) as other:
        assert (await other.get(f"/collections/{cid}")).status_code == 200  # public: readable
        refusals = [
            await other.patch(f"/collections/{cid}", json=patch),
            await other.delete(f"/collections/{cid}"),
            await other.post(f"/collections/{cid}/domains", json=items),
            await other.request("DELETE", f"/collections/{cid}/domains", json=items),
        ]
    for response in refusals:
        assert error_of(response)[:2] == (403, "ForbiddenError")
    async with api(emu) as owner:
        renamed = await owner.patch(f"/collections/{cid}", json=patch)
        assert renamed.json()["data"]["attributes"]["name"] == "theirs"
        assert (await owner.delete(f"/collections/{cid}")).status_code == 200
        assert error_of(await owner.get(f"/collections/{cid}"))[:2] == (404, "NotFoundError")


async def test_private_collections_are_hidden_from_others(emu: Emulator) -> None:
    data = await _create(emu, {"attributes": {"name": "secret", "private": True}})
    async with api(emu, OTHER) as other:
        response = await other.get(f"/collections/{data['id']}")
        listing = (await other.get("/users/emulator-premium/collections")).json()
    assert error_of(response)[:2] == (403, "ForbiddenError")
    assert listing["data"] == []
    async with api(emu) as owner:
        mine = (await owner.get("/users/emulator-premium/collections")).json()
        unknown_user = await owner.get("/users/nobody-here/collections")
    assert [c["id"] for c in mine["data"]] == [data["id"]]
    assert error_of(unknown_user)[:2] == (404, "NotFoundError")


@pytest.mark.parametrize("method", ["GET", "PATCH", "DELETE"])
async def test_unknown_collection_is_404(emu: Emulator, method: str) -> None:
    async with api(emu) as http:
        response = await http.request(
            method, "/collections/0123abcd", json={"data": {"type": "collection", "attributes": {}}}
        )
        items = await http.get("/collections/0123abcd/relationships/files")
    assert error_of(response)[:2] == (404, "NotFoundError")
    assert error_of(items)[:2] == (404, "NotFoundError")


async def test_followers_get_subscription_notifications(emu: Emulator) -> None:
    data = await _create(emu, {"attributes": {"name": "followed", "tags": ["apt-x"]}})
    cid = data["id"]
    emu.follow_collection(cid, OTHER)
    items = {"data": [{"type": "domain", "id": "a.example"}, {"type": "domain", "id": "b.example"}]}
    async with api(emu) as owner:
        await owner.post(f"/collections/{cid}/domains", json=items)
        await owner.post(f"/collections/{cid}/domains", json=items)  # nothing new: no notification
        await owner.request("DELETE", f"/collections/{cid}/domains", json={"data": items["data"][:1]})
    entries = emu.notifications.ioc_stream
    assert [(e.owner, e.origin, e.entity_type, e.entity_id) for e in entries] == [
        ("other-user", "subscriptions", "domain", "a.example"),
        ("other-user", "subscriptions", "domain", "b.example"),
    ]
    assert entries[0].sources == [{"type": "collection", "id": cid, "label": "followed"}]
    assert entries[0].tags == ["apt-x"]


async def test_comments_newest_first(emu: Emulator) -> None:
    data = await _create(emu, {"attributes": {"name": "c"}})
    cid = data["id"]
    async with api(emu, OTHER) as other:
        for text in ("first #ir", "second"):
            body = {"data": {"type": "comment", "attributes": {"text": text}}}
            assert (await other.post(f"/collections/{cid}/comments", json=body)).status_code == 200
        empty = await other.post(
            f"/collections/{cid}/comments", json={"data": {"type": "comment", "attributes": {"text": " "}}}
        )
        listed = (await other.get(f"/collections/{cid}/comments")).json()
    assert error_of(empty)[:2] == (400, "InvalidArgumentError")
    assert [c["attributes"]["text"] for c in listed["data"]] == ["second", "first #ir"]
    assert listed["data"][1]["attributes"]["tags"] == ["ir"]
    assert emu.count(method="POST", path_prefix=f"/collections/{cid}/comments") == 3
