"""The official client, vt-py, against the emulator on loopback: its own calls, unchanged.

A client written from the public reference must work against the emulator as it is; these
tests run vt-py's own code paths (upload URL, analysis polling, cursor iteration, object
creation, errors) against ``Emulator.serving()`` (uvicorn on 127.0.0.1 in a thread).
"""

from __future__ import annotations

import asyncio
import io
import time
from collections.abc import Iterator

import pytest

from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, Emulator, ScaledClock, World
from prefect_virustotal.emulator._scanning import EICAR
from tests.conftest import fresh_world

vt = pytest.importorskip("vt")


@pytest.fixture(scope="module")
def world() -> World:
    """A seed-0 world for this module (scanning adds to it)."""
    return fresh_world()


@pytest.fixture
def served(world: World) -> Iterator[tuple[Emulator, str]]:
    """A fresh emulator (instant analyses) served on loopback; yields it and vt-py's host."""
    emulator = Emulator(seed=0, world=world)
    emulator.scanning.set_durations(queued=0, running=0)
    with emulator.serving() as base_url:
        yield emulator, base_url.removesuffix("/api/v3")


async def test_scan_a_file_and_a_url_waiting_for_completion(served: tuple[Emulator, str]) -> None:
    emulator, host = served
    sample = io.BytesIO(b"vt-py sample " + EICAR)
    sample.name = "sample.com"
    async with vt.Client(PREMIUM_DEMO_KEY, host=host) as client:
        # vt-py always goes through GET /files/upload_url and polls /analyses/{id}.
        analysis = await client.scan_file_async(sample, wait_for_completion=True)
        assert analysis.status == "completed" and analysis.stats["malicious"] >= 5
        url_analysis = await client.scan_url_async(
            "http://vtpy-check.example/landing", wait_for_completion=True
        )
        assert url_analysis.status == "completed"
        url = await client.get_object_async("/urls/{}", vt.url_id("http://vtpy-check.example/landing"))
        assert url.url == "http://vtpy-check.example/landing"
        assert url.last_analysis_date.year >= 2026  # vt-py converts *_date from epoch seconds
    assert emulator.count("GET", "/files/upload_url") == 1


async def test_private_scanning(served: tuple[Emulator, str]) -> None:
    _, host = served
    sample = io.BytesIO(b"MZ private vt-py sample")
    sample.name = "private.bin"
    async with vt.Client(PREMIUM_DEMO_KEY, host=host) as client:
        analysis = await client.scan_file_private_async(sample, wait_for_completion=True)
        assert analysis.type == "private_analysis" and analysis.status == "completed"
        submitted = await client.scan_url_private_async("http://private-vtpy.example/")
        done = await client.wait_for_analysis_completion(submitted, private_path=True)
        assert done.status == "completed"


async def test_iterate_a_relationship_in_small_batches(served: tuple[Emulator, str], world: World) -> None:
    emulator, host = served
    domain = world.pick("domain", min_relationship=("resolutions", 5))
    expected = [ident for _, ident in world.related("domain", domain, "resolutions")]
    async with vt.Client(PREMIUM_DEMO_KEY, host=host) as client:
        seen = [obj.id async for obj in client.iterator(f"/domains/{domain}/resolutions", batch_size=2)]
    assert seen == expected
    pages = emulator.count("GET", f"/domains/{domain}/resolutions")
    assert pages == (len(expected) + 1) // 2


async def test_create_a_livehunt_ruleset(served: tuple[Emulator, str]) -> None:
    _, host = served
    ruleset = vt.Object(
        "hunting_ruleset",
        obj_attributes={
            "name": "vtpy-hunt",
            "rules": 'rule vtpy { strings: $a = "VTPY-MARKER" condition: $a }',
            "enabled": True,
            "match_object_type": "ip",
        },
    )
    async with vt.Client(PREMIUM_DEMO_KEY, host=host) as client:
        created = await client.post_object_async("/intelligence/hunting_rulesets", obj=ruleset)
        assert created.name == "vtpy-hunt" and created.match_object_type == "ip"
        again = await client.get_object_async("/intelligence/hunting_rulesets/{}", created.id)
        assert again.rule_names == ["vtpy"] and again.creation_date.year >= 2026


async def test_a_retrohunt_job_to_completion_under_time_scale(world: World) -> None:
    # 660 emulated seconds of job at 6000x: about a tenth of a second of real time.
    emulator = Emulator(seed=0, world=world, clock=ScaledClock(6000))
    job = vt.Object("retrohunt_job", obj_attributes={"rules": 'rule mz { strings: $a = "MZ" condition: $a }'})
    with emulator.serving() as base_url:
        async with vt.Client(PREMIUM_DEMO_KEY, host=base_url.removesuffix("/api/v3")) as client:
            created = await client.post_object_async("/intelligence/retrohunt_jobs", obj=job)
            start = time.monotonic()
            statuses = [created.status]
            while statuses[-1] != "finished" and time.monotonic() - start < 15:
                await asyncio.sleep(0.1)
                statuses.append(
                    (await client.get_object_async("/intelligence/retrohunt_jobs/{}", created.id)).status
                )
            matches = [
                f.id
                # Every match, in the API's largest pages (40; 10 by default).
                async for f in client.iterator(
                    f"/intelligence/retrohunt_jobs/{created.id}/matching_files", batch_size=40
                )
            ]
    assert statuses[-1] == "finished", statuses
    assert set(statuses) <= {"starting", "running", "finished"}
    assert matches


async def test_a_wrong_key_is_vtpys_api_error(served: tuple[Emulator, str]) -> None:
    _, host = served
    async with vt.Client("not-a-key-of-this-emulator", host=host) as client:
        with pytest.raises(vt.APIError) as caught:
            await client.get_object_async("/domains/{}", "example.com")
    assert caught.value.code == "WrongCredentialsError"
