"""The triage runbook end to end against the emulator: partial failures never sink it."""

from __future__ import annotations

import json
import re
from datetime import datetime, timezone
from pathlib import Path

import pytest
from prefect.client.orchestration import get_client

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import VirusTotalClient
from prefect_virustotal.core import ClientTriageSteps, MemoryCheckpointStore, TriageReport, run_triage
from prefect_virustotal.emulator import Emulator, FakeClock
from prefect_virustotal.flows import triage
from tests.conftest import PREMIUM_KEY

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
    assert "Summary verdict: MALICIOUS" in text and "EMULATED" in text
    # The graph has an artifact of its own; the report summarises the relationships in text.
    assert "```mermaid" not in text and "## Relationships" in text
    assert "virustotal-triage-graph-inc-2026-1127" in text
    async with get_client() as prefect:
        artifacts = await prefect.read_artifacts()
    by_key = {a.key: a for a in artifacts}
    assert "virustotal-triage-inc-2026-1127" in by_key
    assert "```mermaid" in str(by_key["virustotal-triage-graph-inc-2026-1127"].data)
    assert str(by_key["virustotal-triage-inc-2026-1127"].description).startswith(
        "Triage of case INC-2026-1127"
    )


_URL = re.compile(r"(?:https?|ftp)://[^\s)\]|\"'`<>]+", re.IGNORECASE)
_MD_LINK = re.compile(r"\]\(([^)]+)\)")


def _links(text: str) -> list[str]:
    return _URL.findall(text) + _MD_LINK.findall(text)


async def test_every_artifact_of_a_triage_links_only_to_virustotal(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path
) -> None:
    """Run triage and read every artifact back through the Prefect API, as the UI does."""
    from prefect.client.schemas.sorting import ArtifactSort

    bad_url = mounted.world.get("url", mounted.world.pick("url", "malicious"))
    assert bad_url is not None
    ticket = (DEMO / "ticket.txt").read_text() + f"\nClicked: {bad_url.attributes['url']}\n"
    started = datetime.now(timezone.utc)
    report = await triage(
        "INC-links",
        text=ticket,
        files=[str(DEMO / "samples" / "invoice_nov_attachment.bin")],
        credentials=credentials,
        expand_budget=6,
    )
    assert report.summary_verdict == "malicious"
    async with get_client() as prefect:
        recent = await prefect.read_artifacts(sort=ArtifactSort.CREATED_DESC, limit=200)
    # Tests run one at a time: what was created since the run started is this triage's.
    artifacts = [a for a in recent if a.created is not None and a.created >= started]
    kinds = {a.type for a in artifacts}
    assert {"markdown", "table"} <= kinds and len(artifacts) >= 5, [a.key for a in artifacts]
    for artifact in artifacts:
        data = artifact.data if isinstance(artifact.data, str) else json.dumps(artifact.data)
        for link in _links(data) + _links(artifact.description or ""):
            assert link.startswith("https://www.virustotal.com/gui/"), (artifact.key, link)
        assert "://evil" not in data
        if artifact.type == "table":
            rows = json.loads(data) if isinstance(artifact.data, str) else artifact.data
            columns = list(rows[0]) if rows else []
            if "reason" in columns:
                assert columns.index("reason") < 4, (artifact.key, columns)
    triage_md = next(a for a in artifacts if a.key == "virustotal-triage-inc-links")
    header = next(line for line in str(triage_md.data).splitlines() if line.startswith("| indicator"))
    assert [c.strip() for c in header.strip("|").split("|")].index("reason") < 4
    # The clicked URL is in the report, defanged, and its page is linked by the URL's SHA-256.
    assert bad_url.id in str(triage_md.data)


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


async def test_a_ticket_over_512_kb_is_triaged_by_path(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path
) -> None:
    bad = mounted.world.pick("file", nature="malicious")
    domain = mounted.world.pick("domain", index=2)
    filler = "the user reported slowness on the workstation again this morning\n" * 9000
    ticket = tmp_path / "big-ticket.txt"
    ticket.write_text(f"sample {bad}\n{filler}beacon to {domain.replace('.', '[.]')}\n")
    assert ticket.stat().st_size > 512 * 1024
    state = await triage(
        "case-big",
        ticket_path=str(ticket),
        credentials=credentials,
        expand=False,
        sync_case_collection=False,
        behaviour=False,
        return_state=True,
    )
    report = await state.result()
    assert {item.indicator: item.verdict for item in report.items}[bad] == "malicious"
    assert [item.indicator for item in report.items] == [bad, domain]
    async with get_client() as client:
        run = await client.read_flow_run(state.state_details.flow_run_id)
        children = await client.read_flow_runs(limit=200)
    assert run.parameters["ticket_path"] == str(ticket)
    assert len(json.dumps(run.parameters)) < 4096
    enrich_runs = [r for r in children if r.parameters.get("path") == str(ticket)]
    assert enrich_runs and all(len(json.dumps(r.parameters)) < 4096 for r in enrich_runs)


def _comparable(report: TriageReport) -> dict[str, object]:
    """A report without what differs from run to run: the case collection's id, and the line
    pointing at the flow's graph artifact (a direct run has no artifact)."""
    assert report.graph is not None and report.collection_link
    markdown = report.markdown.replace(report.collection_link, "<collection>")
    markdown = re.sub(r"\n\nThe graph is drawn in the artifact `[^`]+`\.", "", markdown)
    graph = report.graph.model_dump(
        include={"seeds", "nodes", "edges", "requests", "unexpanded", "truncated"}
    )
    return {
        **report.model_dump(exclude={"markdown", "collection_link", "graph"}),
        "graph": graph,
        "markdown": markdown,
    }


async def test_the_flow_and_the_direct_runbook_give_the_same_report(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    """The command line's direct triage (``core.run_triage`` on one client) and the flow report
    the demo incident alike: the same verdicts, items, skips, graph and markdown."""
    ticket = str(DEMO / "ticket.txt")
    files = [
        str(DEMO / "samples" / "invoice_nov_attachment.bin"),
        str(DEMO / "samples" / "meeting_notes.txt"),
    ]
    flowed = await triage(
        "INC-same", ticket_path=ticket, files=files, expand_budget=8, credentials=credentials
    )
    # A world as fresh as the flow's: the same unknown files to upload, no collection yet.
    twin = Emulator(seed=0, clock=FakeClock())
    twin.add_key(PREMIUM_KEY, tier="premium")
    twin.scanning.set_durations(queued=0, running=0)
    async with VirusTotalClient(PREMIUM_KEY, base_url=twin.base_url, transport=twin.transport()) as vt:
        direct = await run_triage(
            "INC-same",
            ClientTriageSteps(vt, MemoryCheckpointStore()),
            ticket_path=ticket,
            files=files,
            expand_budget=8,
        )
    assert flowed.summary_verdict == "malicious" and flowed.graph is not None and flowed.graph.edges
    assert {i.action for i in flowed.items} >= {"scanned privately", "looked up", "not submitted"}
    assert "virustotal-triage-graph-inc-same" in flowed.markdown
    assert _comparable(direct) == _comparable(flowed)
    # Each made its case collection, holding the same indicators.
    (made,) = [c for c in twin.collections.collections.values() if c.name == "case-inc-same"]
    (by_flow,) = [c for c in mounted.collections.collections.values() if c.name == "case-inc-same"]
    assert {rel: sorted(made.items[rel]) for rel in made.items} == {
        rel: sorted(by_flow.items[rel]) for rel in by_flow.items
    }
