"""``V2Compat`` against the emulator, field by field against VirusTotal's documented v2 answers.

The expected values come from the emulator's own world (not from the client's models), and the
key sets from v2's reference pages: file/report, url/report, file/scan, file/rescan; the domain
and IP answers follow the fields the compatibility layer documents (UNCONFIRMED upstream).
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pytest

from prefect_virustotal.client import VirusTotalClient
from prefect_virustotal.client.v2 import (
    MSG_FOUND,
    MSG_NOT_FOUND,
    MSG_QUEUED,
    MSG_QUEUED_SCAN,
    V2Compat,
)
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PREMIUM_KEY

# Keys of v2's documented answers (v2.0 reference pages: file/report, url/report, file/scan,
# url/scan, file/rescan). ``verbose_msg`` on the rescan answer is ours (UNCONFIRMED there).
FILE_REPORT_KEYS = {
    "response_code", "verbose_msg", "resource", "scan_id", "md5", "sha1", "sha256",
    "scan_date", "permalink", "positives", "total", "scans",
}  # fmt: skip
URL_REPORT_KEYS = {
    "response_code", "verbose_msg", "resource", "scan_id", "permalink", "url", "scan_date",
    "filescan_id", "positives", "total", "scans",
}  # fmt: skip
URL_SCAN_KEYS = {"response_code", "verbose_msg", "scan_id", "scan_date", "url", "permalink"}
FILE_SCAN_KEYS = {"response_code", "verbose_msg", "resource", "scan_id", "permalink", "sha256"}
RESCAN_KEYS = {"response_code", "verbose_msg", "resource", "scan_id", "permalink", "sha256"}
NETWORK_LIST_KEYS = {
    "resolutions", "detected_urls", "undetected_urls", "detected_downloaded_samples",
    "undetected_downloaded_samples", "detected_communicating_samples",
    "undetected_communicating_samples", "detected_referrer_samples", "undetected_referrer_samples",
}  # fmt: skip
V2_DATE = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d")
UNKNOWN_SHA256 = "0" * 63 + "1"


def v2_date(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%d %H:%M:%S")


def expected_scans(results: dict[str, dict[str, Any]], *, versions: bool) -> dict[str, dict[str, Any]]:
    """v2's ``scans`` from the emulator's v3 engine results, written out independently."""
    out: dict[str, dict[str, Any]] = {}
    for engine, r in results.items():
        if r["category"] not in {"malicious", "suspicious", "undetected", "harmless"}:
            continue
        entry: dict[str, Any] = {
            "detected": r["category"] in {"malicious", "suspicious"},
            "result": r["result"],
        }
        if versions:
            entry |= {"version": r.get("engine_version"), "update": r.get("engine_update")}
        out[engine] = entry
    return out


def v3_only(emulator: Emulator) -> None:
    """Every request went to /api/v3 with the key in the header, never in the query."""
    assert emulator.requests
    for record in emulator.requests:
        assert record.path.startswith("/api/v3/"), record.path
        assert "apikey" not in record.query.lower()
        assert record.api_key == PREMIUM_KEY


@pytest.fixture
def legacy(vt: VirusTotalClient) -> V2Compat:
    return V2Compat(vt)


# ------------------------------------------------------------------------------------ files
@pytest.mark.parametrize("by", ["sha256", "md5", "sha1"])
async def test_file_report_found_field_by_field(legacy: V2Compat, emulator: Emulator, by: str) -> None:
    sha256 = emulator.world.pick("file", nature="malicious")
    obj = emulator.world.get("file", sha256)
    assert obj is not None
    attrs = emulator.world.attributes(obj)
    resource = sha256 if by == "sha256" else attrs[by]

    report = await legacy.file_report(resource)

    assert isinstance(report, dict)
    assert set(report) == FILE_REPORT_KEYS
    assert report["response_code"] == 1
    assert report["verbose_msg"] == MSG_FOUND
    assert report["resource"] == resource
    assert (report["md5"], report["sha1"], report["sha256"]) == (attrs["md5"], attrs["sha1"], sha256)
    date = attrs["last_analysis_date"]
    assert report["scan_id"] == f"{sha256}-{date}"
    assert report["scan_date"] == v2_date(date) and V2_DATE.fullmatch(report["scan_date"])
    assert report["permalink"] == f"https://www.virustotal.com/file/{sha256}/analysis/{date}/"
    scans = expected_scans(attrs["last_analysis_results"], versions=True)
    assert report["scans"] == scans
    for entry in report["scans"].values():
        assert set(entry) == {"detected", "version", "result", "update"}
        assert isinstance(entry["detected"], bool)
    stats = attrs["last_analysis_stats"]
    assert report["positives"] == stats["malicious"] + stats.get("suspicious", 0) > 0
    assert report["total"] == len(scans)
    assert emulator.count(path_prefix="/api/v3/files/") == 1
    v3_only(emulator)


async def test_file_report_not_found_is_response_code_0(legacy: V2Compat, emulator: Emulator) -> None:
    report = await legacy.file_report(UNKNOWN_SHA256)
    # v2 reference: 0 = "not present in VirusTotal's dataset" (v3: 404 NotFoundError).
    assert report == {"response_code": 0, "verbose_msg": MSG_NOT_FOUND, "resource": UNKNOWN_SHA256}
    v3_only(emulator)


async def test_file_queued_then_found_through_the_scan_id(
    legacy: V2Compat, emulator: Emulator, clock: FakeClock, tmp_path: Path
) -> None:
    sample = tmp_path / "sample.bin"
    sample.write_bytes(b"legacy v2 automation sample\n")

    scanned = await legacy.file_scan(sample)
    assert set(scanned) == FILE_SCAN_KEYS
    assert scanned["response_code"] == 1 and scanned["verbose_msg"] == MSG_QUEUED_SCAN
    sha256 = hashlib.sha256(sample.read_bytes()).hexdigest()
    assert scanned["sha256"] == scanned["resource"] == sha256
    assert scanned["permalink"].startswith(f"https://www.virustotal.com/file/{sha256}/analysis/")

    queued = await legacy.file_report(scanned["scan_id"])
    # v2 reference: -2 = "still queued for analysis" (v3: the analysis is queued).
    assert queued == {
        "response_code": -2,
        "verbose_msg": MSG_QUEUED,
        "resource": scanned["scan_id"],
        "scan_id": scanned["scan_id"],
    }

    clock.advance(3600)
    done = await legacy.file_report(scanned["scan_id"])
    assert isinstance(done, dict)
    assert set(done) == FILE_REPORT_KEYS
    assert done["response_code"] == 1 and done["scan_id"] == scanned["scan_id"]
    assert done["sha256"] == sha256 and done["total"] == len(done["scans"]) > 0
    v3_only(emulator)


async def test_file_report_not_available_yet_is_queued(legacy: V2Compat, emulator: Emulator) -> None:
    sha256 = emulator.world.pick("file")
    emulator.faults.add("error", code="NotAvailableYet", path_prefix="/files/", count=1)
    assert await legacy.file_report(sha256) == {
        "response_code": -2,
        "verbose_msg": MSG_QUEUED,
        "resource": sha256,
    }


async def test_file_report_batch_answers_a_list(legacy: V2Compat, emulator: Emulator) -> None:
    known = emulator.world.pick("file")
    reports = await legacy.file_report(f"{known}, {UNKNOWN_SHA256}")
    assert isinstance(reports, list)
    assert [r["response_code"] for r in reports] == [1, 0]
    assert [r["resource"] for r in reports] == [known, UNKNOWN_SHA256]


async def test_invalid_resource_costs_no_request(legacy: V2Compat, emulator: Emulator) -> None:
    report = await legacy.file_report("not a hash!")
    assert report["response_code"] == 0
    assert emulator.requests == []


async def test_file_rescan(legacy: V2Compat, emulator: Emulator) -> None:
    sha256 = emulator.world.pick("file")
    obj = emulator.world.get("file", sha256)
    assert obj is not None
    md5 = emulator.world.attributes(obj)["md5"]
    answer = await legacy.file_rescan(md5)
    assert set(answer) == RESCAN_KEYS
    assert answer["response_code"] == 1 and answer["resource"] == md5 and answer["sha256"] == sha256
    assert (await legacy.file_report(answer["scan_id"]))["response_code"] == -2
    assert await legacy.file_rescan(UNKNOWN_SHA256) == {
        "response_code": 0,
        "verbose_msg": MSG_NOT_FOUND,
        "resource": UNKNOWN_SHA256,
    }
    assert len(emulator.scanning.submissions) == 1  # the unknown file queued nothing
    v3_only(emulator)


# ------------------------------------------------------------------------------------- URLs
async def test_url_report_found_field_by_field(legacy: V2Compat, emulator: Emulator) -> None:
    obj = emulator.world.get("url", emulator.world.pick("url", nature="malicious"))
    assert obj is not None
    attrs = emulator.world.attributes(obj)
    url = attrs["url"]

    report = await legacy.url_report(url)

    assert isinstance(report, dict)
    assert set(report) == URL_REPORT_KEYS
    assert report["response_code"] == 1 and report["verbose_msg"] == MSG_FOUND
    assert report["resource"] == url and report["url"] == url
    date = attrs["last_analysis_date"]
    assert report["scan_id"] == f"{obj.id}-{date}"
    assert report["scan_date"] == v2_date(date)
    assert report["permalink"] == f"https://www.virustotal.com/url/{obj.id}/analysis/{date}/"
    assert report["filescan_id"] is None
    assert report["scans"] == expected_scans(attrs["last_analysis_results"], versions=False)
    for entry in report["scans"].values():
        assert set(entry) == {"detected", "result"}
    assert report["positives"] == sum(e["detected"] for e in report["scans"].values()) > 0
    assert report["total"] == len(report["scans"])
    # The v2-style scan_id, and the URL's SHA-256, come back to the same report.
    assert (await legacy.url_report(report["scan_id"]))["scan_id"] == report["scan_id"]
    assert (await legacy.url_report(obj.id))["scan_id"] == report["scan_id"]
    v3_only(emulator)


async def test_url_report_not_found(legacy: V2Compat, emulator: Emulator) -> None:
    url = "http://never-seen.example/legacy/path"
    assert await legacy.url_report(url) == {"response_code": 0, "verbose_msg": MSG_NOT_FOUND, "resource": url}
    assert emulator.count(method="POST") == 0  # no scan unless asked


async def test_url_queued_then_found_through_the_scan_id(
    legacy: V2Compat, emulator: Emulator, clock: FakeClock
) -> None:
    url = "http://fresh-submission.example/landing"
    scanned = await legacy.url_scan(url)
    assert set(scanned) == URL_SCAN_KEYS
    assert scanned["response_code"] == 1 and scanned["verbose_msg"] == MSG_QUEUED_SCAN
    assert V2_DATE.fullmatch(scanned["scan_date"])

    queued = await legacy.url_report(scanned["scan_id"])
    assert queued["response_code"] == -2 and queued["verbose_msg"] == MSG_QUEUED

    clock.advance(3600)
    done = await legacy.url_report(scanned["scan_id"])
    assert set(done) == URL_REPORT_KEYS
    assert done["response_code"] == 1 and done["scan_id"] == scanned["scan_id"]
    assert done["url"] == scanned["url"]
    v3_only(emulator)


async def test_url_report_with_scan_submits_an_unknown_url(legacy: V2Compat, emulator: Emulator) -> None:
    url = "http://unknown-then-submitted.example/"
    answer = await legacy.url_report(url, scan=True)
    assert answer["response_code"] == 0 and answer["scan_id"]
    assert emulator.count(method="POST", path_prefix="/api/v3/urls") == 1


async def test_url_report_not_available_yet_is_queued(legacy: V2Compat, emulator: Emulator) -> None:
    obj = emulator.world.get("url", emulator.world.pick("url"))
    assert obj is not None
    emulator.faults.add("error", code="NotAvailableYet", path_prefix="/urls/", count=1)
    answer = await legacy.url_report(obj.attributes["url"])
    assert answer["response_code"] == -2 and answer["verbose_msg"] == MSG_QUEUED


# ---------------------------------------------------------------------------- domains, IPs
async def test_domain_report_found(legacy: V2Compat, emulator: Emulator) -> None:
    domain = emulator.world.pick("domain", min_relationship=("resolutions", 1))
    report = await legacy.domain_report(domain)
    assert set(report) == {"response_code", "verbose_msg", "categories", "subdomains", "domain_siblings"} | (
        NETWORK_LIST_KEYS
    )
    assert report["response_code"] == 1
    world_ips = {ref[1] for ref in emulator.world.related("domain", domain, "resolutions")}
    assert report["resolutions"]
    for row in report["resolutions"]:
        assert set(row) == {"last_resolved", "ip_address"}
        assert V2_DATE.fullmatch(row["last_resolved"])
    for row in report["detected_urls"]:
        assert set(row) == {"url", "positives", "total", "scan_date"} and row["positives"] > 0
    for row in report["undetected_urls"]:
        assert len(row) == 5 and row[2] == 0
    for row in report["detected_downloaded_samples"] + report["detected_communicating_samples"]:
        assert set(row) == {"date", "positives", "total", "sha256"} and row["positives"] > 0
    assert world_ips  # the emulator's resolutions are there to compare with
    assert len(report["resolutions"]) == min(10, len(world_ips))
    v3_only(emulator)


async def test_domain_report_without_lists_is_one_request(legacy: V2Compat, emulator: Emulator) -> None:
    report = await legacy.domain_report(emulator.world.pick("domain"), lists=False)
    assert set(report) == {"response_code", "verbose_msg", "categories"}
    assert len(emulator.requests) == 1


async def test_domain_not_found_and_queued(legacy: V2Compat, emulator: Emulator) -> None:
    missing = await legacy.domain_report("never-seen-domain.example")
    assert missing["response_code"] == 0 and set(missing) == {"response_code", "verbose_msg"}
    emulator.faults.add("error", code="NotAvailableYet", path_prefix="/domains/", count=1)
    queued = await legacy.domain_report(emulator.world.pick("domain"))
    assert queued == {"response_code": -2, "verbose_msg": MSG_QUEUED}


async def test_ip_report_found(legacy: V2Compat, emulator: Emulator) -> None:
    ip = emulator.world.pick("ip_address", min_relationship=("resolutions", 1))
    obj = emulator.world.get("ip_address", ip)
    assert obj is not None
    report = await legacy.ip_report(ip)
    assert set(report) == {"response_code", "verbose_msg", "asn", "as_owner", "country"} | NETWORK_LIST_KEYS
    assert report["response_code"] == 1
    assert (report["asn"], report["as_owner"], report["country"]) == (
        obj.attributes["asn"],
        obj.attributes["as_owner"],
        obj.attributes["country"],
    )
    for row in report["resolutions"]:
        assert set(row) == {"last_resolved", "hostname"} and row["hostname"]
    v3_only(emulator)


async def test_ip_not_found_and_queued(legacy: V2Compat, emulator: Emulator) -> None:
    unknown = next(
        f"192.0.2.{n}" for n in range(1, 255) if emulator.world.get("ip_address", f"192.0.2.{n}") is None
    )
    missing = await legacy.ip_report(unknown)
    assert missing["response_code"] == 0
    emulator.faults.add("error", code="NotAvailableYet", path_prefix="/ip_addresses/", count=1)
    queued = await legacy.ip_report(emulator.world.pick("ip_address"))
    assert queued == {"response_code": -2, "verbose_msg": MSG_QUEUED}


async def test_a_fresh_submission_not_yet_known_is_queued_not_absent(
    legacy: V2Compat, emulator: Emulator, tmp_path: Path
) -> None:
    """v3 may answer 404 for a file or URL until its first analysis ends; v2 said -2 then."""
    sample = tmp_path / "fresh.bin"
    sample.write_bytes(b"submitted a moment ago\n")
    scanned = await legacy.file_scan(sample)
    emulator.faults.add("error", code="NotFoundError", path_prefix=f"/files/{scanned['sha256']}", count=1)
    assert await legacy.file_report(scanned["sha256"]) == {
        "response_code": -2,
        "verbose_msg": MSG_QUEUED,
        "resource": scanned["sha256"],
        "scan_id": scanned["scan_id"],
    }
    url = "http://fresh-url.example/x"
    url_scanned = await legacy.url_scan(url)
    emulator.faults.add("error", code="NotFoundError", path_prefix="/urls/", count=1)
    answer = await legacy.url_report(url)
    assert answer["response_code"] == -2 and answer["scan_id"] == url_scanned["scan_id"]
    # Something this instance never submitted stays "not in the dataset".
    assert (await legacy.file_report(UNKNOWN_SHA256))["response_code"] == 0
