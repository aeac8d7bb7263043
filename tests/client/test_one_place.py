"""Pieces of logic that exist once in the pack: ranking, canonical URLs, hashing, report by kind, quota."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from prefect_virustotal.client import (
    InvalidParameterError,
    QuotaExceededError,
    RequestBudgetExceededError,
    UploadSource,
    Verdict,
    VirusTotalClient,
    assess,
    assess_object,
    canonical_url,
    parse_indicator,
    quota_refusal,
    sha256_of_file,
    sha256_of_url,
)
from prefect_virustotal.client.models import VERDICT_SEVERITY
from prefect_virustotal.emulator import Emulator


def test_verdicts_are_listed_worst_first_as_ranked() -> None:
    assert [v.severity for v in Verdict] == sorted((v.severity for v in Verdict), reverse=True)
    assert {v.value: v.severity for v in Verdict} == VERDICT_SEVERITY
    assert Verdict.UNKNOWN.severity > Verdict.CLEAN.severity  # never seen is not safe


@pytest.mark.parametrize(
    ("given", "canonical"),
    [
        ("HTTP://Example.COM", "http://example.com/"),
        ("example.com/Path?q=A", "http://example.com/Path?q=A"),
        ("https://a.example/x", "https://a.example/x"),
    ],
)
def test_one_canonical_url_and_its_sha256(given: str, canonical: str) -> None:
    assert canonical_url(given) == canonical
    assert sha256_of_url(given) == hashlib.sha256(canonical.encode()).hexdigest()


async def test_the_url_page_link_names_the_object_the_service_holds(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    url_id = emulator.world.add_url("http://Shop.Example.COM", nature="malicious")
    link = parse_indicator("http://Shop.Example.COM").gui_link
    assert link.endswith(f"/gui/url/{url_id}")
    assert (await vt.urls.get("http://Shop.Example.COM")).id == url_id


def test_sha256_of_file_streams_the_same_digest_as_an_upload(tmp_path: Path) -> None:
    sample = tmp_path / "sample.bin"
    sample.write_bytes(b"x" * (3 << 20) + b"tail")
    expected = hashlib.sha256(sample.read_bytes()).hexdigest()
    assert sha256_of_file(sample) == expected
    assert UploadSource.of(sample).sha256() == expected
    with pytest.raises(FileNotFoundError):
        sha256_of_file(tmp_path / "missing.bin")


async def test_report_by_kind_and_an_unknown_kind_costs_nothing(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    sha256 = emulator.world.pick("file", "malicious")
    report = await vt.get_report("file", sha256)
    assert report.id == sha256 and assess_object(report).verdict == Verdict.MALICIOUS
    assert assess_object(report) == assess(
        report.attributes.last_analysis_stats, report.attributes.last_analysis_results
    )
    before = len(emulator.requests)
    with pytest.raises(InvalidParameterError):
        await vt.get_report("collection", "abc")
    assert len(emulator.requests) == before


def test_quota_refusals_say_whether_they_last() -> None:
    budget = RequestBudgetExceededError("daily request budget of 5 is spent")
    assert quota_refusal(budget) == ("daily request budget of 5 is spent", True)
    minute = QuotaExceededError("QuotaExceededError", "Quota exceeded: 4 requests per minute", 429)
    daily = QuotaExceededError("QuotaExceededError", "Daily quota exceeded", 429)
    assert quota_refusal(minute) == (minute.message, False)
    assert quota_refusal(daily) == (daily.message, True)
