"""Analyses tied to every file and URL's last analysis."""

from __future__ import annotations

import base64

import pytest

from prefect_virustotal.emulator import Emulator, World

from .helpers import api, error_of


@pytest.mark.asyncio
async def test_file_analysis(emu: Emulator, world: World) -> None:
    sha256 = world.pick("file", "malicious")
    obj = world.get("file", sha256)
    assert obj is not None
    analysis_id = world.analysis_id("file", sha256)
    md5, date = base64.b64decode(analysis_id).decode().split(":")
    assert md5 == obj.attributes["md5"]
    assert int(date) == obj.attributes["last_analysis_date"]
    async with api(emu) as client:
        body = (await client.get(f"/analyses/{analysis_id}")).json()
        item = (await client.get(f"/analyses/{analysis_id}/item")).json()
        described = (await client.get(f"/analyses/{analysis_id}/relationships/item")).json()
    data = body["data"]
    assert data["type"] == "analysis"
    assert data["id"] == analysis_id
    assert data["links"]["item"] == f"{emu.base_url}/files/{sha256}"
    attrs = data["attributes"]
    assert attrs["status"] == "completed"
    assert attrs["date"] == obj.attributes["last_analysis_date"]
    assert {"type-unsupported", "confirmed-timeout", "failure"} <= set(attrs["stats"])
    assert attrs["stats"] == obj.attributes["last_analysis_stats"]
    assert attrs["results"] == world.attributes(obj)["last_analysis_results"]
    assert body["meta"]["file_info"] == {k: obj.attributes[k] for k in ("sha256", "sha1", "md5", "size")}
    assert item["data"]["id"] == sha256
    assert item["data"]["type"] == "file"
    assert described["data"] == {"type": "file", "id": sha256}


@pytest.mark.asyncio
async def test_url_analysis(emu: Emulator, world: World) -> None:
    uid = world.pick("url", "clean")
    obj = world.get("url", uid)
    assert obj is not None
    analysis_id = world.analysis_id("url", uid)
    assert analysis_id == f"u-{uid}-{obj.attributes['last_analysis_date']}"
    async with api(emu) as client:
        body = (await client.get(f"/analyses/{analysis_id}")).json()
        assert set(body["data"]["attributes"]["stats"]) == {
            "harmless",
            "malicious",
            "suspicious",
            "undetected",
            "timeout",
        }
        assert body["meta"]["url_info"] == {"id": uid, "url": obj.attributes["url"]}
        item = (await client.get(f"/analyses/{analysis_id}/item")).json()
        assert item["data"]["id"] == uid
        stale = f"u-{uid}-{obj.attributes['last_analysis_date'] - 1}"
        assert error_of(await client.get(f"/analyses/{stale}"))[:2] == (404, "NotFoundError")
