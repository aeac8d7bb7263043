"""The emulator's IoC Stream and livehunt notification endpoints."""

from __future__ import annotations

from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, PUBLIC_DEMO_KEY, Emulator, FakeClock

from .helpers import api

BASE = 1767225600


def seed(emu: Emulator) -> list[str]:
    ids = []
    for i, kind in enumerate(["file", "url", "domain", "ip_address"] * 3):
        n = emu.inject_ioc_notification(
            key=PREMIUM_DEMO_KEY,
            date=BASE + i,
            origin="hunting" if i % 2 else "subscriptions",
            entity_type=kind,
            sources=[{"type": "collection", "id": f"c{i % 3}", "label": "followed"}],
            tags=[f"t{i % 2}"],
        )
        ids.append(n.id)
    return ids


async def test_ioc_stream_orders_filters_and_pages(emu: Emulator) -> None:
    ids = seed(emu)
    emu.inject_ioc_notification(key=PUBLIC_DEMO_KEY, date=BASE)  # another owner
    async with api(emu) as http:
        newest = (await http.get("/ioc_stream")).json()
        assert [d["context_attributes"]["notification_id"] for d in newest["data"]] == ids[::-1][:10]
        assert newest["meta"]["count"] == 12 and "cursor" in newest["meta"]
        rest = (await http.get("/ioc_stream", params={"cursor": newest["meta"]["cursor"]})).json()
        assert len(rest["data"]) == 2 and "cursor" not in rest["meta"]
        oldest = (await http.get("/ioc_stream", params={"order": "date+", "limit": 40})).json()
        assert [d["context_attributes"]["notification_id"] for d in oldest["data"]] == ids
        assert {d["type"] for d in oldest["data"]} == {"file", "url", "domain", "ip_address"}
        assert all(d["attributes"] for d in oldest["data"])  # full objects from the world

        async def ids_for(flt: str) -> list[str]:
            body = (await http.get("/ioc_stream", params={"filter": flt, "order": "date+"})).json()
            return [d["context_attributes"]["notification_id"] for d in body["data"]]

        assert await ids_for("date:2026-01-01T00:00:10+") == ids[10:]
        assert await ids_for("date:2026-01-01T00:00:01-") == ids[:2]
        assert await ids_for("origin:hunting entity_type:url") == [ids[1], ids[5], ids[9]]
        assert await ids_for("source_type:collection source_id:c1") == [ids[1], ids[4], ids[7], ids[10]]
        assert await ids_for("notification_tag:t0") == await ids_for("tag:t0") == ids[::2]
        entity = oldest["data"][3]["id"]
        assert ids[3] in await ids_for(f"entity_id:{entity}")

        bad = await http.get("/ioc_stream", params={"filter": "origin:notHunting"})
        assert bad.status_code == 400
        assert bad.json()["error"] == {
            "code": "BadRequestError",
            "message": 'origin "notHunting" is not valid. Valid origins are: hunting,subscriptions',
        }
        assert (await http.get("/ioc_stream", params={"limit": 41})).status_code == 400
        assert (await http.get("/ioc_stream", params={"filter": "colour:red"})).status_code == 400


async def test_ioc_stream_descriptors_minimal_objects_and_hunting_context(emu: Emulator) -> None:
    emu.inject_ioc_notification(
        key=PREMIUM_DEMO_KEY, date=BASE, entity_type="domain", entity_id="nowhere.example"
    )
    emu.inject_hunting_notification(key=PREMIUM_DEMO_KEY, date=BASE + 1, rule_name="r1")
    async with api(emu) as http:
        body = (await http.get("/ioc_stream", params={"order": "date+"})).json()
        minimal, hunted = body["data"]
        assert minimal["id"] == "nowhere.example" and minimal["attributes"] == {}
        assert "hunting_info" not in minimal["context_attributes"]
        assert hunted["context_attributes"]["origin"] == "hunting"
        assert hunted["context_attributes"]["hunting_info"]["rule_name"] == "r1"
        assert hunted["context_attributes"]["sources"][0]["type"] == "hunting_ruleset"
        descriptors = (await http.get("/ioc_stream", params={"descriptors_only": "true"})).json()
        assert all(set(d) == {"type", "id", "context_attributes"} for d in descriptors["data"])


async def test_get_delete_one_and_bulk(emu: Emulator) -> None:
    ids = seed(emu)
    async with api(emu) as http:
        one = (await http.get(f"/ioc_stream_notifications/{ids[0]}")).json()["data"]
        assert one["type"] == "ioc_stream_notification" and one["attributes"]["date"] == BASE
        other = await api(emu, PUBLIC_DEMO_KEY).get(f"/ioc_stream_notifications/{ids[0]}")
        assert other.status_code == 404
        assert (await http.delete(f"/ioc_stream_notifications/{ids[0]}")).status_code == 200
        assert (await http.get(f"/ioc_stream_notifications/{ids[0]}")).status_code == 404
        assert (await http.delete("/ioc_stream", params={"filter": "entity_type:url"})).status_code == 200
        left = (await http.get("/ioc_stream", params={"limit": 40})).json()
        assert left["meta"]["count"] == 8 and all(d["type"] != "url" for d in left["data"])
        await http.delete("/ioc_stream")
        assert (await http.get("/ioc_stream")).json()["data"] == []


async def test_expired_cursor_is_refused(emu: Emulator) -> None:
    seed(emu)
    async with api(emu) as http:
        first = (await http.get("/ioc_stream", params={"limit": 5})).json()
        emu.expire_notification_cursors()
        refused = await http.get("/ioc_stream", params={"limit": 5, "cursor": first["meta"]["cursor"]})
        assert refused.status_code == 400 and refused.json()["error"]["code"] == "InvalidArgumentError"


async def test_hunting_notifications_and_files(emu: Emulator) -> None:
    sha = emu.world.pick("file")
    a = emu.inject_hunting_notification(
        key=PREMIUM_DEMO_KEY, date=BASE, sha256=sha, rule_name="r1", ruleset_name="rs1"
    )
    b = emu.inject_hunting_notification(
        key=PREMIUM_DEMO_KEY, date=BASE + 5, rule_name="r2", ruleset_name="rs2"
    )
    async with api(emu) as http:
        body = (
            await http.get("/intelligence/hunting_notifications", params={"relationships": "file"})
        ).json()
        assert [d["id"] for d in body["data"]] == [b.id, a.id]
        assert body["data"][1]["relationships"]["file"]["data"] == {"type": "file", "id": sha}
        assert body["data"][1]["attributes"]["date"] == BASE and sha in body["data"][1]["attributes"]["tags"]
        tagged = (await http.get("/intelligence/hunting_notifications", params={"filter": "tag:r2"})).json()
        assert [d["id"] for d in tagged["data"]] == [b.id]
        since = (
            await http.get(
                "/intelligence/hunting_notifications", params={"filter": "date:2026-01-01T00:00:03+"}
            )
        ).json()
        assert [d["id"] for d in since["data"]] == [b.id]
        files = (await http.get("/intelligence/hunting_notification_files")).json()
        assert (
            files["data"][1]["id"] == sha and files["data"][1]["context_attributes"]["ruleset_name"] == "rs1"
        )
        assert (await http.get(f"/intelligence/hunting_notifications/{a.id}")).status_code == 200
        await http.delete("/intelligence/hunting_notifications", params={"tag": "rs2"})
        await http.delete(f"/intelligence/hunting_notifications/{a.id}")
        assert (await http.get("/intelligence/hunting_notifications")).json()["data"] == []


async def test_bulk_ioc_stream_deletion_answers_empty_and_refuses_a_second_while_running(
    emu: Emulator, fake_clock: FakeClock
) -> None:
    seed(emu)
    emu.notifications.bulk_delete_seconds = 30
    async with api(emu) as http:
        first = await http.delete("/ioc_stream", params={"filter": "entity_type:url"})
        assert (first.status_code, first.content) == (200, b"")
        second = await http.delete("/ioc_stream")
        assert second.status_code == 429
        assert second.json() == {
            "error": {"code": "TooManyRequests", "message": second.json()["error"]["message"]}
        }
        # Another user's deletion is not held up by this one.
        assert (await api(emu, PUBLIC_DEMO_KEY).delete("/ioc_stream")).status_code == 200
        fake_clock.advance(31)
        assert (await http.delete("/ioc_stream")).status_code == 200
        assert (await http.get("/ioc_stream")).json()["data"] == []
