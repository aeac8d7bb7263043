"""Scanning through the real client against the emulator: uploads, waits, private scanning."""

from __future__ import annotations

import gc
import itertools
import logging
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from prefect_virustotal.client import (
    DIRECT_UPLOAD_LIMIT,
    AnalysisTimeoutError,
    BadRequestError,
    ForbiddenError,
    InvalidIndicatorError,
    InvalidParameterError,
    LocalRateLimiter,
    VirusTotalClient,
)
from prefect_virustotal.client._scanning import poll_floor
from prefect_virustotal.client.models import PrivateScanOptions
from prefect_virustotal.emulator import Emulator, FakeClock
from prefect_virustotal.emulator._scanning import EICAR
from tests.conftest import PREMIUM_KEY, PUBLIC_KEY

MB = 1_000_000


def _big_file(path: Path, size: int, marker: bytes = b"") -> Path:
    """A file of ``size`` bytes written in 1 MB chunks (never whole in memory)."""
    chunk = (b"0123456789abcdef" * 65536)[:MB]
    with path.open("wb") as out:
        out.write(marker)
        left = size - len(marker)
        while left > 0:
            out.write(chunk[: min(left, MB)])
            left -= min(left, MB)
    return path


async def test_small_upload_completes_with_a_verdict(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    emulator.scanning.set_durations(queued=10, running=30)
    descriptor = await vt.files.upload(b"dropper " + EICAR, filename="eicar.com")
    assert descriptor.type == "analysis"
    first = await vt.analyses.get(descriptor.id)
    assert first.attributes.status == "queued" and first.attributes.results == {}
    clock.advance(25)
    partial = await vt.analyses.get(descriptor.id)
    assert partial.attributes.status == "in-progress" and len(partial.attributes.results) > 0
    done = await vt.analyses.wait(descriptor.id, timeout=600, initial_interval=5)
    assert done.attributes.status == "completed"
    assert done.attributes.stats.malicious >= 5
    assert len(done.attributes.results) > len(partial.attributes.results)
    # The submitted content is now a file of the world: lookups see it.
    item = await vt.analyses.get_item(descriptor.id)
    report = await vt.files.get(item.id)
    assert report.attributes.size == len(b"dropper " + EICAR)
    assert emulator.count("POST", "/files") == 1 and emulator.scanning.uploads == 1


async def test_large_upload_streams_through_an_upload_url(
    vt: VirusTotalClient, emulator: Emulator, tmp_path: Path
) -> None:
    size = 40 * MB
    path = _big_file(tmp_path / "big.bin", size, marker=b"MZ" + EICAR)
    emulator.scanning.set_durations(queued=0, running=0)
    gc.collect()
    tracemalloc.start()
    try:
        descriptor = await vt.files.upload(path)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # Client and in-process emulator together never held the file: far below its 40 MB.
    assert peak < 8 * MB, f"peak {peak / MB:.1f} MB"
    assert emulator.count("GET", "/files/upload_url") == 1
    assert emulator.count("POST", "/_upload/") == 1 and emulator.count("POST", "/api/v3/files") == 0
    item = await vt.analyses.get_item(descriptor.id)
    assert item.attributes.size == size
    import hashlib

    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for block in iter(lambda: stream.read(MB), b""):
            digest.update(block)
    assert item.id == digest.hexdigest()
    done = await vt.analyses.wait(descriptor.id)
    assert done.attributes.stats.malicious >= 5


async def test_an_expired_upload_url_is_replaced_once_and_only_once(
    vt: VirusTotalClient, emulator: Emulator, tmp_path: Path
) -> None:
    path = _big_file(tmp_path / "big.bin", DIRECT_UPLOAD_LIMIT + 1)
    emulator.scanning.stale_upload_urls = 1
    descriptor = await vt.files.upload(path)
    assert descriptor.type == "analysis" and emulator.scanning.uploads == 1
    assert emulator.count("GET", "/files/upload_url") == 2 and emulator.count("POST", "/_upload/") == 2
    # Two stale URLs in a row: the second refusal is the caller's, typed, and nothing was uploaded.
    emulator.scanning.stale_upload_urls = 2
    with pytest.raises(BadRequestError):
        await vt.private.upload(path)
    assert emulator.count("GET", "/private/files/upload_url") == 2 and emulator.scanning.uploads == 1


async def test_private_upload_large_and_small(
    vt: VirusTotalClient, emulator: Emulator, tmp_path: Path
) -> None:
    emulator.scanning.set_durations(queued=0, running=0)
    path = _big_file(tmp_path / "big.bin", DIRECT_UPLOAD_LIMIT + 1)
    options = PrivateScanOptions(retention_period_days=2, enable_internet=True, locale="DE_DE")
    big = await vt.private.upload(path, options)
    small = await vt.private.upload(b"MZ private sample", {"disable_sandbox": True})
    assert big.type == small.type == "private_analysis"
    assert emulator.count("GET", "/private/files/upload_url") == 1
    done = await vt.private.wait(big.id)
    assert done.type == "private_analysis" and done.attributes.status == "completed"
    item = await vt.private.get_analysis_item(big.id)
    report = await vt.private.get_file(item.id)
    assert report.type == "private_file"
    assert report.attributes.threat_verdict == "VERDICT_UNDETECTED"
    assert report.attributes.threat_severity is not None and report.attributes.sandbox_verdicts
    assert "last_analysis_results" not in (report.attributes.model_extra or {})
    assert report.attributes.expiration is not None
    await vt.private.wait(small.id)
    small_report = await vt.private.get_file((await vt.private.get_analysis_item(small.id)).id)
    assert small_report.attributes.sandbox_verdicts == {}  # disable_sandbox
    listed = [f.id async for f in vt.private.list_files(limit=10)]
    assert listed == sorted([report.id, small_report.id])
    again = await vt.private.analyse(report.id, {"interaction_timeout": 120})
    assert again.type == "private_analysis"
    await vt.private.delete(report.id)
    assert [f.id async for f in vt.private.list_files()] == [small_report.id]


async def test_private_options_are_checked_per_kind_before_sending(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    emulator.scanning.set_durations(queued=0, running=0)
    # Files: US or EU only. URLs: US, CA, EU or GB, and their own options.
    for bad_file in ({"storage_region": "CA"}, {"storage_region": "GB"}):
        with pytest.raises(InvalidParameterError):
            await vt.private.upload(b"MZ x", bad_file)
    url = "http://private-target.example/"
    bad_url_options: list[dict[str, object]] = [
        {"storage_region": "JP"},
        {"interaction_timeout": 10},
        {"user_agent": "a\r\nX-Injected: 1"},
        {"sandboxes": ["bad name"]},
        {"disable_sandbox": True},
        {"retention_period_days": 29},
    ]
    for bad in bad_url_options:
        with pytest.raises(InvalidParameterError):
            await vt.private.scan_url(url, options=bad)
    assert emulator.count() == 0
    options = {
        "user_agent": "Mozilla/5.0 (rehearsal)",
        "sandboxes": ["chrome_headless_linux"],
        "retention_period_days": 2,
        "interaction_sandbox": "cape",
        "interaction_timeout": 120,
    }
    analysis = await vt.private.scan_url(url, storage_region="GB", options=options)
    assert analysis.type == "private_analysis"
    sent = emulator.requests[-1]
    assert sent.path.endswith("/private/urls") and sent.status == 200
    # A private file rescan takes retention_period_days too, and the analysis names its file.
    uploaded = await vt.private.upload(b"MZ keep me", {"storage_region": "EU"})
    done = await vt.private.wait(uploaded.id)
    assert done.meta is not None and set(done.meta["file_info"]) >= {"size", "sha256", "sha1", "md5"}
    sha256 = done.meta["file_info"]["sha256"]
    await vt.private.analyse(sha256, {"retention_period_days": 5})
    assert "retention_period_days=5" in emulator.requests[-1].query


async def test_private_files_expire_after_retention(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    emulator.scanning.set_durations(queued=0, running=0)
    analysis = await vt.private.upload(b"short-lived", {"retention_period_days": 1})
    sha256 = (await vt.private.get_analysis_item(analysis.id)).id
    assert (await vt.private.get_file(sha256)).id == sha256
    clock.advance(86400 + 1)
    from prefect_virustotal.client import NotFoundError

    with pytest.raises(NotFoundError):
        await vt.private.get_file(sha256)


async def test_private_url(vt: VirusTotalClient, emulator: Emulator) -> None:
    emulator.scanning.set_durations(queued=0, running=0)
    bad = emulator.world.get("url", emulator.world.pick("url", "malicious"))
    assert bad is not None
    analysis = await vt.private.scan_url(bad.attributes["url"], retention_period_days=3)
    await vt.private.wait(analysis.id)
    report = await vt.private.get_url(bad.attributes["url"])
    assert report.type == "private_url" and report.attributes.last_analysis_stats is not None
    assert report.attributes.last_analysis_stats.malicious > 0


async def test_url_scan_and_rescans(vt: VirusTotalClient, emulator: Emulator) -> None:
    emulator.scanning.set_durations(queued=0, running=0)
    url = emulator.world.get("url", emulator.world.pick("url", "malicious"))
    assert url is not None
    analysis = await vt.urls.scan(url.attributes["url"])
    assert analysis.id.startswith("u-")
    done = await vt.analyses.wait(analysis.id)
    assert done.attributes.stats.malicious >= 5
    again = await vt.urls.analyse(url.attributes["url"])
    sha256 = emulator.world.pick("file", "clean")
    rescan = await vt.files.analyse(sha256)
    assert again.id != analysis.id and (await vt.analyses.wait(rescan.id)).attributes.completed


async def test_a_url_whose_host_has_an_underscore_is_scanned_and_looked_up(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    # Browsers and VirusTotal accept an underscore in a URL's host (not RFC 1123, but real).
    emulator.scanning.set_durations(queued=0, running=0)
    url = "http://my_host.sub_domain.example/landing"
    analysis = await vt.urls.scan(url)
    done = await vt.analyses.wait(analysis.id)
    assert done.attributes.completed
    report = await vt.urls.get(url)
    assert report.attributes.url == url


def _no_requests(emulator: Emulator) -> None:
    assert emulator.count() == 0, [r.path for r in emulator.requests]


@pytest.mark.parametrize(
    "options",
    [
        {"retention_period_days": 0},
        {"retention_period_days": 29},
        {"interaction_timeout": 59},
        {"interaction_timeout": 1801},
        {"storage_region": "MARS"},
        {"locale": "FR_FR"},
        {"interaction_sandbox": "Not A Sandbox!"},
        {"password": ""},
        {"no_such_option": True},
    ],
)
async def test_bad_private_options_make_no_request(
    vt: VirusTotalClient, emulator: Emulator, options: dict[str, Any]
) -> None:
    with pytest.raises(InvalidParameterError):
        await vt.private.upload(b"content", options)
    with pytest.raises(InvalidParameterError):
        await vt.private.analyse("a" * 64, options)
    _no_requests(emulator)


async def test_bad_files_make_no_request(vt: VirusTotalClient, emulator: Emulator, tmp_path: Path) -> None:
    huge = tmp_path / "huge.bin"
    with huge.open("wb") as out:
        out.truncate(651 * MB)  # sparse: no disk, no memory
    empty = tmp_path / "empty.bin"
    empty.touch()
    for bad in (huge, empty, tmp_path / "missing.bin", tmp_path, b""):
        with pytest.raises(InvalidParameterError):
            await vt.files.upload(bad)
        with pytest.raises(InvalidParameterError):
            await vt.private.upload(bad)
    _no_requests(emulator)


async def test_url_with_credentials_is_refused_or_stripped(
    vt: VirusTotalClient, emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    secret_url = "https://alice:s3cret@login.example.com/portal"
    for submit in (vt.urls.scan, vt.private.scan_url, vt.urls.analyse):
        with pytest.raises(InvalidIndicatorError) as raised:
            await submit(secret_url)
        assert "s3cret" not in str(raised.value)
    _no_requests(emulator)
    caplog.set_level(logging.WARNING)
    emulator.scanning.set_durations(queued=0, running=0)
    analysis = await vt.urls.scan(secret_url, strip_credentials=True)
    item = await vt.analyses.get_item(analysis.id)
    assert item.attributes.url == "https://login.example.com/portal"
    assert "removed credentials" in caplog.text and "s3cret" not in caplog.text


async def test_wait_honours_its_deadline_on_the_injected_clock(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    emulator.scanning.set_durations(queued=600, running=600)
    analysis = await vt.files.upload(b"slow sample")
    start = clock.monotonic()
    with pytest.raises(AnalysisTimeoutError) as raised:
        await vt.analyses.wait(analysis.id, timeout=300, initial_interval=10, factor=2, max_interval=80)
    assert raised.value.analysis_id == analysis.id
    assert raised.value.last_status == "queued"
    assert clock.monotonic() - start == pytest.approx(300)
    polls = [r.time for r in emulator.requests if r.path.startswith("/api/v3/analyses/")]
    gaps = [b - a for a, b in itertools.pairwise(polls)]
    assert gaps[:4] == [10, 20, 40, 80]  # growing, capped, the last one cut at the deadline
    assert len(polls) == 7
    # A later run resumes on the id.
    clock.advance(1000)
    assert (await vt.analyses.wait(raised.value.analysis_id, timeout=0)).attributes.completed


async def test_wait_rides_out_not_available_yet_and_transient_errors(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    emulator.scanning.set_durations(queued=0, running=0)
    analysis = await vt.files.upload(b"flaky")
    emulator.faults.add(kind="error", code="NotAvailableYet", count=2, path_prefix="/analyses")
    emulator.faults.add(kind="error", code="TransientError", count=8, path_prefix="/analyses")
    done = await vt.analyses.wait(analysis.id, initial_interval=1)
    assert done.attributes.completed


async def test_polls_never_starve_a_public_key(emulator: Emulator, clock: FakeClock) -> None:
    limiter = LocalRateLimiter(4, clock=clock)
    async with VirusTotalClient(
        PUBLIC_KEY, base_url=emulator.base_url, transport=emulator.transport(), clock=clock, limiter=limiter
    ) as vt:
        assert poll_floor(vt, 0.25) == 60.0
        emulator.scanning.set_durations(queued=100, running=200)
        analysis = await vt.files.upload(b"public key sample")
        await vt.analyses.wait(analysis.id, timeout=3600, initial_interval=1)
    polls = [r.time for r in emulator.requests if r.path.startswith("/api/v3/analyses/")]
    assert all(b - a >= 60 for a, b in itertools.pairwise(polls))
    assert emulator.count(status=429) == 0


async def test_private_scanning_needs_a_premium_key(emulator: Emulator, clock: FakeClock) -> None:
    async with VirusTotalClient(
        PUBLIC_KEY, base_url=emulator.base_url, transport=emulator.transport(), clock=clock
    ) as vt:
        with pytest.raises(ForbiddenError):
            await vt.private.upload(b"x")


@pytest.mark.parametrize(
    "given",
    [
        "https://uploads.elsewhere.test/_upload/abc",
        "http://www.virustotal.com.evil.test/_ah/upload/abc",
        "http://evilvirustotal.com/_ah/upload/abc",
        "http://user:pw@www.virustotal.com/_ah/upload/abc",
        "ftp://www.virustotal.com/_ah/upload/abc",
        "http://127.0.0.1/_ah/upload/abc",
    ],
)
async def test_upload_url_on_another_host_is_refused(tmp_path: Path, given: str) -> None:
    # The emulator always answers with its own host; a foreign one needs a mock transport.
    import httpx

    from prefect_virustotal.client import UnexpectedResponseError

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        return httpx.Response(200, json={"data": given})

    path = _big_file(tmp_path / "big.bin", DIRECT_UPLOAD_LIMIT + 1)
    async with VirusTotalClient(PREMIUM_KEY, transport=httpx.MockTransport(answer)) as vt:
        with pytest.raises(UnexpectedResponseError, match="refusing to send the key"):
            await vt.files.upload(path)
    assert seen == ["GET https://www.virustotal.com/api/v3/files/upload_url"]


async def test_plain_http_upload_url_of_virustotal_is_sent_over_https(tmp_path: Path) -> None:
    # The reference's own example answer is a plain-http URL on www.virustotal.com.
    import httpx

    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(f"{request.method} {request.url}")
        if request.url.path.endswith("/upload_url"):
            return httpx.Response(200, json={"data": "http://www.virustotal.com/_ah/upload/AMmfu6b-_DX/"})
        return httpx.Response(200, json={"data": {"type": "analysis", "id": "abc"}})

    path = _big_file(tmp_path / "big.bin", DIRECT_UPLOAD_LIMIT + 1)
    async with VirusTotalClient(PREMIUM_KEY, transport=httpx.MockTransport(answer)) as vt:
        descriptor = await vt.files.upload(path)
    assert descriptor.id == "abc"
    assert seen == [
        "GET https://www.virustotal.com/api/v3/files/upload_url",
        "POST https://www.virustotal.com/_ah/upload/AMmfu6b-_DX/",
    ]


async def test_large_upload_against_an_https_api_goes_over_https(clock: FakeClock, tmp_path: Path) -> None:
    # The emulator hands out http:// upload URLs like the reference; the client upgrades them.
    secure = Emulator(seed=0, clock=clock, base_url="https://vt-emulator.test/api/v3")
    secure.add_key(PREMIUM_KEY, tier="premium")
    path = _big_file(tmp_path / "big.bin", DIRECT_UPLOAD_LIMIT + 1)
    async with VirusTotalClient(
        PREMIUM_KEY, base_url=secure.base_url, transport=secure.transport(), clock=clock
    ) as vt:
        descriptor = await vt.files.upload(path)
    assert descriptor.type == "analysis" and secure.scanning.uploads == 1
    assert {(r.method, r.path.split("/")[1], r.scheme) for r in secure.requests} == {
        ("GET", "api", "https"),
        ("POST", "_upload", "https"),
    }
