"""The triage runbook end to end against the emulator: partial failures never sink it."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import triage

pytestmark = pytest.mark.usefixtures("prefect_harness")

DEMO = Path(__file__).resolve().parents[2] / "demo"


@pytest.fixture(autouse=True)
def instant_analyses(mounted: Emulator) -> None:
    """Analyses complete at once: the emulator's fake clock does not move during a flow."""
    mounted.scanning.set_durations(queued=0, running=0)


async def test_triage_of_the_demo_incident(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path
) -> None:
    domain_fails = mounted.world.pick("domain", nature="clean", index=3)
    mounted.faults.add(kind="error", code="ForbiddenError", count=100, path_prefix=f"/domains/{domain_fails}")
    ticket = (DEMO / "ticket.txt").read_text() + f"\nAlso seen: {domain_fails}\n"
    out = tmp_path / "report.md"
    report = await triage(
        "INC-2026-1127",
        text=ticket,
        files=[
            str(DEMO / "samples" / "invoice_nov_attachment.bin"),
            str(DEMO / "samples" / "meeting_notes.txt"),
            str(tmp_path / "missing.bin"),
        ],
        indicators=["not-an-indicator"],
        credentials=credentials,
        expand_budget=3,
        report_path=str(out),
    )
    by = {item.indicator: item for item in report.items}
    assert report.summary_verdict == "malicious"
    assert report.emulated
    # The attached dropper was unknown: scanned privately (premium key), found malicious.
    scanned = sorted(
        i.verdict for i in report.items if i.source == "file" and i.action == "scanned privately"
    )
    assert scanned == ["clean", "malicious"], report.items
    # Failures, budget and invalid input each have a line under "skipped"; none sank the run.
    reasons = {(s.what, s.reason) for s in report.skipped}
    assert (domain_fails, "error") in reasons
    assert ("not-an-indicator", "invalid") in reasons
    assert any(r == "unreadable" and w.endswith("missing.bin") for w, r in reasons)
    assert any(r == "budget" for _, r in reasons)
    assert by["not-an-indicator"].verdict == "invalid"
    # The unknown hash with no file to submit stays unknown, and says why.
    unknown = by["0" * 61 + "bad"]
    assert unknown.verdict == "unknown" and unknown.action == "not submitted"
    # Graph, collection, report.
    assert report.graph is not None and report.graph.nodes
    assert report.collection_link and "/gui/collection/" in report.collection_link
    (collection,) = [c for c in mounted.collections.collections.values() if c.name == "case-inc-2026-1127"]
    assert sum(collection.count(rel) for rel in collection.items) >= 4
    text = out.read_text()
    assert "Summary verdict: MALICIOUS" in text and "EMULATED" in text and "```mermaid" in text
    async with get_client() as prefect:
        artifacts = await prefect.read_artifacts()
    assert any(a.key == "virustotal-triage-inc-2026-1127" for a in artifacts)


async def test_public_upload_needs_opt_in(mounted: Emulator, tmp_path: Path) -> None:
    from pydantic import SecretStr

    from tests.conftest import PUBLIC_KEY

    mounted.add_key(PUBLIC_KEY + "-fast", tier="public", per_minute=1000, per_day=10_000)
    block = VirusTotalCredentials(
        api_key=SecretStr(PUBLIC_KEY + "-fast"),
        base_url=mounted.base_url,
        requests_per_minute=1000,
        daily_budget=None,
    )
    sample = tmp_path / "unknown.bin"
    sample.write_bytes(b"a file nobody has seen 1c9e")
    report = await triage(
        "case-2", files=[str(sample)], credentials=block, expand=False, sync_case_collection=False
    )
    (item,) = report.items
    assert item.action == "not submitted"
    assert [s.reason for s in report.skipped] == ["policy"]
    assert mounted.count(method="POST", path_prefix="/files") == 0
    # Private scanning was tried (and refused for a public key); nothing was uploaded publicly.
    assert mounted.count(path_prefix="/private/files", status=403) >= 1
