"""The emulator's scanning routes, spoken to with plain httpx (no pack client)."""

from __future__ import annotations

import hashlib

import pytest

from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, PUBLIC_DEMO_KEY, Emulator, FakeClock
from prefect_virustotal.emulator._scanning import DIRECT_UPLOAD_LIMIT, EICAR, FileSink, MultipartReader
from tests.conftest import fresh_world
from tests.emulator.helpers import api, error_of


@pytest.fixture
def fresh(fake_clock: FakeClock) -> Emulator:
    """An emulator with its own world: scanning adds to it."""
    return Emulator(seed=0, clock=fake_clock, world=fresh_world())


async def test_lifecycle_queued_in_progress_completed(fresh: Emulator, fake_clock: FakeClock) -> None:
    fresh.scanning.set_durations(queued=10, running=20)
    async with api(fresh) as http:
        answer = await http.post("/files", files={"file": ("a.txt", b"plain text sample")})
        assert answer.status_code == 200
        data = answer.json()["data"]
        assert data["type"] == "analysis" and data["links"]["self"].endswith(data["id"])
        seen = []
        for step in (0, 5, 10, 20, 20):
            fake_clock.advance(step)
            body = (await http.get(f"/analyses/{data['id']}")).json()
            seen.append((body["data"]["attributes"]["status"], len(body["data"]["attributes"]["results"])))
        assert [s for s, _ in seen] == ["queued", "queued", "in-progress", "completed", "completed"]
        assert seen[0][1] == 0 and 0 < seen[2][1] < seen[3][1]
        assert isinstance(body["data"]["attributes"]["date"], int)
        sha256 = hashlib.sha256(b"plain text sample").hexdigest()
        assert body["meta"]["file_info"]["sha256"] == sha256
        report = (await http.get(f"/files/{sha256}")).json()["data"]["attributes"]
        assert report["last_analysis_date"] == int(fake_clock.time()) - 25
        assert report["size"] == len(b"plain text sample")


async def test_markers_make_malicious_verdicts(fresh: Emulator) -> None:
    fresh.scanning.set_durations(queued=0, running=0)
    family = fresh.world.families[0]
    async with api(fresh) as http:
        for content, expect_family in ((b"x" + EICAR, None), (f"{family.upper()}-07".encode(), family)):
            data = (await http.post("/files", files={"file": ("s", content)})).json()["data"]
            body = (await http.get(f"/analyses/{data['id']}")).json()["data"]["attributes"]
            assert body["stats"]["malicious"] >= 5
            obj = fresh.world.get("file", hashlib.sha256(content).hexdigest())
            assert obj is not None and obj.family == expect_family


async def test_upload_urls_are_absolute_single_use_and_expire(fresh: Emulator, fake_clock: FakeClock) -> None:
    async with api(fresh) as http:
        url = (await http.get("/files/upload_url")).json()["data"]
        assert url.startswith("http://vt-emulator.test/_upload/")
        assert (await http.post(url, files={"file": ("a", b"first")})).status_code == 200
        status, code, _ = error_of(await http.post(url, files={"file": ("a", b"again")}))
        assert (status, code) == (400, "BadRequestError")
        late = (await http.get("/files/upload_url")).json()["data"]
        fake_clock.advance(fresh.scanning.upload_url_ttl + 1)
        assert error_of(await http.post(late, files={"file": ("a", b"late")}))[0] == 400
    assert fresh.scanning.uploads == 1


async def test_upload_urls_are_plain_http_even_when_asked_over_https(fake_clock: FakeClock) -> None:
    # The reference's example answer is http://www.virustotal.com/_ah/upload/...: so is ours.
    secure = Emulator(
        seed=0, clock=fake_clock, world=fresh_world(), base_url="https://vt-emulator.test/api/v3"
    )
    async with api(secure) as http:
        url = (await http.get("/files/upload_url")).json()["data"]
        assert url.startswith("http://vt-emulator.test/_upload/")


async def test_direct_upload_over_32_mb_is_413(fresh: Emulator) -> None:
    async with api(fresh) as http:
        answer = await http.post("/files", files={"file": ("big", b"\0" * (DIRECT_UPLOAD_LIMIT + 1))})
        status, _, message = error_of(answer)
        assert status == 413 and "too large" in message.lower()
        status, _, _ = error_of(await http.post("/files", files={"file": ("empty", b"")}))
        assert status == 400
    assert fresh.scanning.uploads == 0


async def test_private_objects_have_no_engine_results(fresh: Emulator) -> None:
    fresh.scanning.set_durations(queued=0, running=0)
    async with api(fresh) as http:
        form = {"retention_period_days": "3", "enable_internet": "true", "command_line": "/S"}
        data = (await http.post("/private/files", files={"file": ("m", b"MZ" + EICAR)}, data=form)).json()[
            "data"
        ]
        assert data["type"] == "private_analysis"
        analysis = (await http.get(f"/private/analyses/{data['id']}")).json()["data"]
        assert analysis["type"] == "private_analysis" and analysis["attributes"]["status"] == "completed"
        assert analysis["attributes"]["sandbox_configuration"] == {
            "enable_internet": "true",
            "command_line": "/S",
        }
        item = (await http.get(f"/private/analyses/{data['id']}/item")).json()["data"]
        assert item["type"] == "private_file"
        attrs = item["attributes"]
        assert "last_analysis_results" not in attrs and "last_analysis_stats" not in attrs
        assert attrs["threat_verdict"] == "VERDICT_MALICIOUS"
        assert attrs["threat_severity"]["threat_severity_level"] == "SEVERITY_HIGH"
        assert attrs["sandbox_verdicts"]["Zenbox"]["category"] == "malicious"
        assert attrs["expiration"] == attrs["first_submission_date"] + 3 * 86400
        # Private content stays out of the public world.
        assert fresh.world.get("file", item["id"]) is None
        assert (await http.get(f"/files/{item['id']}")).status_code == 404
        for bad in ({"retention_period_days": "29"}, {"interaction_timeout": "30"}, {"locale": "xx"}):
            answer = await http.post("/private/files", files={"file": ("m", b"x")}, data=bad)
            assert error_of(answer)[:2] == (400, "InvalidArgumentError")
        assert (await http.delete(f"/private/files/{item['id']}")).json() == {}
        assert (await http.get(f"/private/files/{item['id']}")).status_code == 404
    async with api(fresh, PUBLIC_DEMO_KEY) as http:
        assert error_of(await http.get("/private/files"))[:2] == (403, "ForbiddenError")


async def test_url_submissions_join_the_world(fresh: Emulator) -> None:
    fresh.scanning.set_durations(queued=0, running=0)
    async with api(fresh, PREMIUM_DEMO_KEY) as http:
        data = (await http.post("/urls", data={"url": "http://brand-new.example/path"})).json()["data"]
        assert data["id"].startswith("u-")
        item = (await http.get(f"/analyses/{data['id']}/item")).json()["data"]
        assert item["type"] == "url" and item["attributes"]["url"] == "http://brand-new.example/path"
        again = (await http.post(f"/urls/{item['id']}/analyse")).json()["data"]
        assert again["id"] != data["id"]


async def test_private_storage_regions_and_options_differ_for_files_and_urls(fresh: Emulator) -> None:
    fresh.scanning.set_durations(queued=0, running=0)
    async with api(fresh) as http:
        for region in ("CA", "GB"):
            answer = await http.post(
                "/private/files", files={"file": ("m", b"x")}, data={"storage_region": region}
            )
            assert error_of(answer)[:2] == (400, "InvalidArgumentError")
        url_options = {
            "url": "http://private-target.example/",
            "user_agent": "Mozilla/5.0 (rehearsal)",
            "sandboxes": "chrome_headless_linux",
            "retention_period_days": "2",
            "storage_region": "GB",
            "interaction_sandbox": "cape",
            "interaction_timeout": "120",
        }
        assert (await http.post("/private/urls", data=url_options)).status_code == 200
        for bad in ({"storage_region": "JP"}, {"disable_sandbox": "true"}, {"interaction_timeout": "5"}):
            answer = await http.post("/private/urls", data={"url": "http://x.example/", **bad})
            assert error_of(answer)[:2] == (400, "InvalidArgumentError")
        # A private file's analysis names its item: links.item and meta.file_info with every hash.
        content = b"MZ private sample for meta"
        data = (await http.post("/private/files", files={"file": ("m", content)})).json()["data"]
        body = (await http.get(f"/private/analyses/{data['id']}")).json()
        info = body["meta"]["file_info"]
        assert info == {
            "size": len(content),
            "sha256": hashlib.sha256(content).hexdigest(),
            "sha1": hashlib.sha1(content).hexdigest(),
            "md5": hashlib.md5(content).hexdigest(),
        }
        assert body["data"]["links"]["item"].endswith(f"/private/files/{info['sha256']}")
        rescan = await http.post(
            f"/private/files/{info['sha256']}/analyse", params={"retention_period_days": "5"}
        )
        assert rescan.status_code == 200


async def test_a_url_whose_host_has_an_underscore_is_accepted(fresh: Emulator) -> None:
    url = "http://my_host.example/x"
    async with api(fresh, PREMIUM_DEMO_KEY) as http:
        answer = await http.post("/urls", data={"url": url})
        assert answer.status_code == 200
        sha256 = hashlib.sha256(url.encode()).hexdigest()
        assert (await http.get(f"/urls/{sha256}")).json()["data"]["attributes"]["url"] == url


def test_multipart_reader_handles_any_chunking() -> None:
    import re

    body = (
        b'--XyZ\r\nContent-Disposition: form-data; name="locale"\r\n\r\nEN_US\r\n'
        b'--XyZ\r\nContent-Disposition: form-data; name="file"; filename="f.bin"\r\n'
        b"Content-Type: application/octet-stream\r\n\r\n" + b"ab\r\n--X" * 1000 + b"\r\n--XyZ--\r\n"
    )
    for size in (1, 7, 64, len(body)):
        reader = MultipartReader(
            "multipart/form-data; boundary=XyZ", lambda: FileSink(10**6, re.compile(b"EICAR"))
        )
        for start in range(0, len(body), size):
            reader.feed(body[start : start + size])
        reader.close()
        assert reader.fields == {"locale": "EN_US"} and reader.filename == "f.bin"
        assert reader.file is not None and reader.file.size == len(b"ab\r\n--X" * 1000)
