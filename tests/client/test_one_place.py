"""Pieces of logic that exist once in the pack: ranking, hashing, report by kind, quota."""

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
    quota_refusal,
    sha256_of_file,
)
from prefect_virustotal.client.models import VERDICT_SEVERITY
from prefect_virustotal.emulator import Emulator


def test_verdicts_are_listed_worst_first_as_ranked() -> None:
    assert [v.severity for v in Verdict] == sorted((v.severity for v in Verdict), reverse=True)
    assert {v.value: v.severity for v in Verdict} == VERDICT_SEVERITY
    assert Verdict.UNKNOWN.severity > Verdict.CLEAN.severity  # never seen is not safe


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
