"""Triage assembly without Prefect: items, skip rules, selections, the summary and the report.

The enrichment rows come from the real client against the emulator (``lookup_many`` and
``enrich_results``); the rest is the core's own decisions on those rows, checked as data.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from prefect_virustotal.client import (
    AuthenticationError,
    InvalidParameterError,
    QuotaExceededError,
    RequestBudgetExceededError,
    VirusTotalClient,
)
from prefect_virustotal.core import (
    EMULATED_BANNER,
    BehaviourProfile,
    GraphGap,
    GraphNode,
    IOCGraph,
    SubmissionOutcome,
    SubmissionResult,
    TriageItem,
    TriageReport,
    behaviour_files,
    case_evidence,
    case_slug,
    enrich_results,
    expansion_failed,
    expansion_gaps,
    expansion_seeds,
    gather_case,
    lookup_many,
    public_upload_refused,
    record_submission,
    submission_candidates,
    submission_failed,
    summary_verdict,
    triage_items,
    triage_markdown,
)
from prefect_virustotal.emulator import Emulator


def test_case_inputs_hash_files_drop_credentials_and_skip_unreadable(tmp_path: Path) -> None:
    sample = tmp_path / "sample.bin"
    sample.write_bytes(b"MZ" + b"\0" * 100)
    inputs = gather_case(
        "Seen: hxxps://user:hunter2@evil[.]example/login and 198.51.100.7",
        [str(sample), str(tmp_path / "missing.bin")],
        ["bad.example", "evil.example"],
        text_in_file=False,
    )
    (sha,) = inputs.file_hashes
    assert inputs.file_hashes[sha] == sample
    assert inputs.wanted[:2] == ["bad.example", "evil.example"]
    assert inputs.wanted[-1] == sha and "198.51.100.7" in inputs.wanted
    assert len(inputs.wanted) == len(set(inputs.wanted))  # once each
    assert "hunter2" not in inputs.text + repr(inputs.wanted) and inputs.masked
    assert [(s.reason, s.what.endswith("missing.bin")) for s in inputs.skipped] == [("unreadable", True)]
    by_file = gather_case("Seen: 198.51.100.7", [], ["bad.example"], text_in_file=True)
    assert by_file.wanted == ["bad.example"]  # the lookup reads the ticket's indicators itself


async def test_items_and_skips_from_the_enrichment(emulator: Emulator, vt: VirusTotalClient) -> None:
    bad = emulator.world.pick("file", "malicious")
    unknown_file, attached = "0" * 64, "1" * 64
    url = "https://never-seen.example/path"
    rows = enrich_results(
        await lookup_many(vt, [bad, "not an indicator", unknown_file, attached, url, "10.0.0.1"])
    )
    items, skipped, not_found = triage_items(rows.items, {attached})
    assert [i.verdict for i in items] == ["malicious", "invalid", "unknown", "unknown", "unknown", "skipped"]
    assert [i.source for i in items] == ["ticket", "ticket", "ticket", "file", "ticket", "ticket"]
    assert items[0].detections.count("/") == 1 and items[0].link and items[0].reason
    assert [(s.what, s.reason) for s in skipped] == [
        ("not an indicator", "invalid"),
        ("10.0.0.1", "internal"),
    ]
    assert not_found == {unknown_file, attached, url}

    # Only the attached file and the URL can be submitted; the bare hash says why not.
    candidates = submission_candidates(items, not_found, {attached}, submit=True)
    assert [c.indicator for c in candidates] == [attached, url]
    assert items[2].action == "not submitted" and items[2].reason.endswith("(no file attached to submit)")
    again, _, _ = triage_items(rows.items, {attached})
    assert submission_candidates(again, not_found, {attached}, submit=False) == []
    assert {i.indicator for i in again if i.action == "not submitted"} == not_found
    assert not again[2].reason.endswith("(no file attached to submit)")


def test_submission_outcomes_update_their_items() -> None:
    private, public, failed, refused = (
        TriageItem(indicator=v, kind="file", verdict="unknown")
        for v in ("a" * 64, "b" * 64, "c" * 64, "d" * 64)
    )
    result = SubmissionResult(
        kind="file",
        indicator="a" * 64,
        private=True,
        outcome=SubmissionOutcome.SUBMITTED,
        verdict="malicious",
        reason="9 engines",
        link="https://x",
    )
    record_submission(private, result)
    assert (private.verdict, private.action, private.link) == ("malicious", "scanned privately", "https://x")
    record_submission(public, result.model_copy(update={"private": False, "verdict": "clean"}))
    assert (public.verdict, public.action) == ("clean", "scanned publicly")
    skip = submission_failed(failed, AuthenticationError("WrongCredentialsError", "bad key", 401))
    assert (failed.verdict, failed.action, skip.reason) == ("error", "submission failed", "error")
    assert skip.detail == failed.reason and "AuthenticationError" in skip.detail
    skip = public_upload_refused(refused)
    assert (
        refused.action == "not submitted" and skip.reason == "policy" and "allow_public_upload" in skip.detail
    )


def test_behaviour_and_expansion_choose_public_bad_items() -> None:
    items = [
        TriageItem(indicator="a" * 64, kind="file", verdict="malicious"),
        TriageItem(indicator="b" * 64, kind="file", verdict="suspicious"),
        TriageItem(indicator="c" * 64, kind="file", verdict="malicious", action="scanned privately"),
        TriageItem(indicator="evil.example", kind="domain", verdict="malicious"),
        TriageItem(indicator="not one", verdict="invalid"),
    ]
    shas, over = behaviour_files(items, 1)
    assert shas == ["a" * 64] and [(s.what, s.reason) for s in over] == [(f"behaviour {'b' * 64}", "budget")]
    profile = BehaviourProfile(sha256="a" * 64, network={"domains": ["c2.example", "evil.example"]})
    seeds, skipped = expansion_seeds(items, {"a" * 64: profile}, expand=True)
    assert seeds == ["a" * 64, "evil.example", "c2.example"]
    assert [(s.what, s.reason) for s in skipped] == [(f"expand {'c' * 64}", "policy")]
    assert expansion_seeds(items, {}, expand=False)[1] == []


def test_expansion_failures_and_gaps_become_skips() -> None:
    spent, lasting = expansion_failed(RequestBudgetExceededError("daily budget of 10 spent"))
    assert (spent.what, spent.reason, lasting) == ("expansion", "quota", True)
    minute, lasting = expansion_failed(QuotaExceededError("QuotaExceededError", "Quota exceeded", 429))
    assert minute.reason == "error" and not lasting  # a minute's quota passes: not a spent key
    broken, lasting = expansion_failed(ValueError("boom"))
    assert (broken.reason, broken.detail, lasting) == ("error", "ValueError: boom", False)
    graph = IOCGraph(
        unexpanded=[
            GraphGap(node="domain:a.example", depth=1, reason="request_budget", detail="spent"),
            GraphGap(node="file:" + "a" * 64, depth=0, reason="tier", detail="enterprise only"),
            GraphGap(node="domain:b.example", depth=1, reason="not_found"),
        ]
    )
    assert [(s.what, s.reason, s.detail) for s in expansion_gaps(graph)] == [
        ("expand domain:a.example", "budget", "request_budget: spent"),
        ("expand file:" + "a" * 64, "policy", "tier: enterprise only"),
        ("expand domain:b.example", "error", "not_found"),
    ]


def test_evidence_summary_and_slug() -> None:
    items = [
        TriageItem(indicator="evil.example", kind="domain", verdict="malicious"),
        TriageItem(indicator="fine.example", kind="domain", verdict="clean"),
        TriageItem(indicator="x", verdict="error"),
    ]
    graph = IOCGraph(
        nodes=[
            GraphNode(type="domain", id="evil.example", verdict="malicious"),
            GraphNode(type="ip_address", id="198.51.100.9", verdict="suspicious"),
            GraphNode(type="url", id="f" * 64, label="http://evil.example/x", verdict="malicious"),
            GraphNode(type="domain", id="ok.example", verdict="clean"),
        ]
    )
    assert case_evidence(items, graph) == ["evil.example", "198.51.100.9", "http://evil.example/x"]
    assert case_evidence(items, None) == ["evil.example"]
    assert summary_verdict(items) == "malicious"
    assert summary_verdict(items[1:]) == "clean"
    assert summary_verdict(items[2:]) == "unknown"  # failed items do not count
    assert case_slug("INC 2026/1127: Phishing!") == "inc-2026-1127-phishing"
    with pytest.raises(InvalidParameterError):
        case_slug("!!!")


def test_report_is_defanged_and_links_only_to_virustotal() -> None:
    report = TriageReport(
        case="INC-1 \x1b[31mred",
        summary_verdict="malicious",
        items=[
            TriageItem(
                indicator="http://evil.example/pay",
                kind="url",
                verdict="malicious",
                reason="seen at http://evil.example/pay",
                link="https://www.virustotal.com/gui/url/" + "f" * 64,
            ),
            TriageItem(indicator="fine.example", kind="domain", verdict="clean"),
        ],
        emulated=True,
    )
    report.skipped = expansion_gaps(
        IOCGraph(unexpanded=[GraphGap(node="domain:evil.example", depth=0, reason="quota")])
    )
    text = triage_markdown(report, "virustotal-triage-graph-inc-1")
    assert text.startswith("# Triage: INC-1 ")
    assert "\x1b" not in text and EMULATED_BANNER in text
    assert "**Summary verdict: MALICIOUS**" in text
    assert text.index("malicious") < text.index("fine[.]example")  # worst first
    assert "http://evil" not in text and "hxxp://evil" in text  # defanged, cell and link text alike
    links = re.findall(r"\]\(([^)]+)\)", text) + re.findall(r"https?://[^\s)|`]+", text)
    assert links and all(link.startswith("https://www.virustotal.com/") for link in links)
    assert "`expand domain:evil[.]example`: **quota**" in text
    assert "## Case collection\n\nNone." in text
