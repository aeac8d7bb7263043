"""Batch lookups and explained verdicts without Prefect: the real client against the emulator."""

from __future__ import annotations

import pytest

from prefect_virustotal.client import AuthenticationError, VerdictPolicy, VirusTotalClient
from prefect_virustotal.core import (
    INTERNAL_NOT_SENT,
    LookupResult,
    LookupStatus,
    enrich_results,
    lookup_many,
)
from prefect_virustotal.emulator import Emulator
from tests.conftest import PREMIUM_KEY


async def test_every_input_gets_a_result_and_invalid_costs_nothing(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    bad = emulator.world.pick("file", "malicious")
    results = await lookup_many(vt, [bad, "not an indicator", "2" * 64, "hxxp://evil[.]example/x"])
    assert [r.status for r in results][:3] == [
        LookupStatus.FOUND,
        LookupStatus.INVALID,
        LookupStatus.NOT_FOUND,
    ]
    assert emulator.count() == 3  # the invalid one sent nothing
    report = enrich_results(results, VerdictPolicy())
    assert [item.verdict for item in report.items][:3] == ["malicious", "invalid", "unknown"]
    assert report.emulated and report.rows()[0]["detections"].count("/") == 1


async def test_a_spent_day_stops_the_batch(emulator: Emulator, vt: VirusTotalClient) -> None:
    emulator.add_key("core-daily-two", tier="premium", per_minute=1000, per_day=2)
    domains = [emulator.world.pick("domain", index=i) for i in range(5)]
    async with VirusTotalClient(
        "core-daily-two", base_url=emulator.base_url, transport=emulator.transport()
    ) as limited:
        results = await lookup_many(limited, domains, concurrency=1)
    assert [r.status.value for r in results] == ["found", "found"] + ["quota_limited"] * 3
    assert emulator.count(status=429) == 1


async def test_internal_addresses_are_skipped_without_a_request(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    public = emulator.world.pick("domain", index=0)
    results = await lookup_many(
        vt, ["10.1.2.3", "fileserver.corp", "intranet.acme.example", public], own_domains=["acme.example"]
    )
    assert [r.status for r in results] == [LookupStatus.SKIPPED] * 3 + [LookupStatus.FOUND]
    assert {r.error for r in results[:3]} == {INTERNAL_NOT_SENT}
    assert emulator.count() == 1  # only the public domain was asked about
    sent = await lookup_many(vt, ["10.1.2.3"], send_internal=True)
    assert sent[0].status != LookupStatus.SKIPPED and emulator.count() == 2


async def test_a_wrong_key_fails_the_batch_and_credentials_are_not_kept(emulator: Emulator) -> None:
    domains = [emulator.world.pick("domain", index=i) for i in range(3)]
    async with VirusTotalClient(
        "not-a-key", base_url=emulator.base_url, transport=emulator.transport()
    ) as wrong:
        with pytest.raises(AuthenticationError):
            await lookup_many(wrong, domains)
    async with VirusTotalClient(
        PREMIUM_KEY, base_url=emulator.base_url, transport=emulator.transport()
    ) as vt:
        results = await lookup_many(vt, ["https://admin:hunter2@intranet.example/login"], send_internal=True)
    assert "hunter2" not in results[0].indicator


async def test_the_run_wide_rule_holds_across_chunks(emulator: Emulator, vt: VirusTotalClient) -> None:
    import pytest

    from prefect_virustotal.client import WrongCredentialsError
    from prefect_virustotal.core import EnrichmentReport, enrich_chunk, enrich_in_chunks

    domains = [emulator.world.pick("domain", index=i) for i in range(12)]
    async with VirusTotalClient(
        "core-wrong-key", base_url=emulator.base_url, transport=emulator.transport()
    ) as wrong:

        async def with_wrong_key(chunk: list[str]) -> EnrichmentReport:
            return await enrich_chunk(wrong, chunk)

        # Every request fails alike: the run fails, and only the first chunk was sent.
        with pytest.raises(WrongCredentialsError):
            await enrich_in_chunks(with_wrong_key, domains, chunk_size=4)
        assert emulator.count() == 4

        # The key stops working after the first chunk was answered: a partial result, the
        # chunks after the failing one are not sent.
        calls: list[list[str]] = []

        async def revoked_after_one(chunk: list[str]) -> EnrichmentReport:
            calls.append(chunk)
            return await enrich_chunk(vt if len(calls) == 1 else wrong, chunk)

        report = await enrich_in_chunks(revoked_after_one, domains, chunk_size=4)
    assert len(calls) == 2 and emulator.count() == 4 + 8
    assert [item.verdict for item in report.items][:4] != ["error"] * 4
    assert [item.lookup.status.value for item in report.items][4:] == ["error"] * 8
    assert "WrongCredentialsError" in (report.items[-1].lookup.error or "")


def _not_found(n: int) -> list[LookupResult]:
    """``n`` rows as a feed of unknown hashes gives them (no request needed to build them)."""
    return [
        LookupResult(
            indicator=f"{i:064x}",
            kind="file",
            id=f"{i:064x}",
            status=LookupStatus.NOT_FOUND,
            error="VirusTotal has no record of it",
            link=f"https://www.virustotal.com/gui/file/{i:064x}",
        )
        for i in range(n)
    ]


def test_a_row_is_lean_and_reads_as_lookup_and_assessment() -> None:
    import gc
    import tracemalloc

    results = _not_found(5_000)
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    report = enrich_results(results, keep_reports=False)
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    # The strings are the lookup results' own; a row costs its slots and the list's pointer
    # (a pydantic row of LookupResult + Assessment cost ~2 KB: 100,000 of them ~200 MB).
    assert (held - before) / len(results) < 250
    row = report.items[0]
    assert not hasattr(row, "__dict__")
    assert (row.lookup.indicator, row.lookup.status, row.lookup.link) == (
        results[0].indicator,
        LookupStatus.NOT_FOUND,
        results[0].link,
    )
    assert row.assessment is None and row.verdict == "unknown" and row.ratio == "-"


async def test_rows_keep_the_json_of_a_lookup_and_an_assessment(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    from prefect_virustotal.core import EnrichmentReport

    bad = emulator.world.pick("file", "malicious")
    results = await lookup_many(vt, [bad, "nope", "2" * 64, "hxxp://evil[.]example/x", "10.0.0.1"])
    report = enrich_results(results, keep_reports=False)
    dumped = report.model_dump(mode="json")
    # The shape --json has always had: lookup (without its report), assessment, verdict.
    for result, item in zip(results, dumped["items"], strict=True):
        assert item["lookup"] == result.model_copy(update={"report": None}).model_dump(mode="json")
        assert set(item) == {"lookup", "assessment", "verdict"}
    found = report.items[0]
    assert found.assessment is not None and found.assessment.verdict.value == "malicious"
    assert found.ratio == found.assessment.ratio and found.reason == found.assessment.reason
    # Read back (Prefect's JSON result serializer, a stored --json): the same rows.
    assert EnrichmentReport.model_validate_json(report.model_dump_json()) == report
    # keep_reports=True (the default) still keeps each report.
    assert enrich_results(results).items[0].lookup.report == results[0].report


def test_an_artifact_shows_the_worst_rows_and_says_how_many_were_left_out() -> None:
    from prefect_virustotal.core import MAX_TABLE_ROWS, artifact_rows

    results = [*_not_found(30), LookupResult(indicator="nope", status=LookupStatus.INVALID, error="bad")]
    results.insert(
        20, LookupResult(indicator="x.example", kind="domain", status=LookupStatus.ERROR, error="e")
    )
    report = enrich_results(results)
    rows, note = artifact_rows(report, "the return value", limit=10)
    assert len(rows) == 11 and [row["verdict"] for row in rows[:10]] == ["unknown"] * 10
    assert rows[-1]["indicator"] == "… 22 more" and rows[-1]["verdict"] == ""
    assert note == rows[-1]["reason"]
    assert "worst 10 of 32" in note and "22 rows are left out" in note and "the return value" in note
    assert artifact_rows(report, "the return value") == (report.rows(), "")
    assert MAX_TABLE_ROWS == 1000
