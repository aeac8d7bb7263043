"""The runbook and the collection sync without Prefect: ``run_triage`` and ``run_collection_sync``
on one real client against the emulator (the command line's direct path)."""

from __future__ import annotations

from pathlib import Path

import pytest

from prefect_virustotal.client import InvalidParameterError, VirusTotalClient
from prefect_virustotal.core import (
    ClientCollectionSteps,
    ClientTriageSteps,
    MemoryCheckpointStore,
    collection_checkpoint,
    run_collection_sync,
    run_triage,
)
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PUBLIC_KEY

DEMO = Path(__file__).resolve().parents[2] / "demo"
TICKET = str(DEMO / "ticket.txt")
DROPPER = str(DEMO / "samples" / "invoice_nov_attachment.bin")


def _posts(emulator: Emulator, path: str) -> int:
    """POSTs to exactly ``path``: uploads, creations (adding items or re-analysing posts below it)."""
    return sum(1 for r in emulator.requests if (r.method, r.path) == ("POST", f"/api/v3{path}"))


@pytest.fixture(autouse=True)
def instant_analyses(emulator: Emulator) -> None:
    """Analyses complete at once."""
    emulator.scanning.set_durations(queued=0, running=0)


async def test_the_demo_incident_directly_and_a_rerun_uploads_nothing_again(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    store = MemoryCheckpointStore()
    steps = ClientTriageSteps(vt, store)
    report = await run_triage("INC-direct", steps, ticket_path=TICKET, files=[DROPPER], expand_budget=5)
    assert report.summary_verdict == "malicious" and report.emulated
    (dropper,) = [i for i in report.items if i.source == "file"]
    assert (dropper.verdict, dropper.action) == ("malicious", "scanned privately")
    assert report.graph is not None and report.graph.nodes
    assert report.collection_link and "/gui/collection/" in report.collection_link
    assert "is drawn in the artifact" not in report.markdown  # no artifact on this path
    assert "Summary verdict: MALICIOUS" in report.markdown
    # The submission and the case collection's name are remembered in the store.
    assert any(name.startswith("virustotal-submit-") for name in store.values)
    assert collection_checkpoint("case-inc-direct") in store.values
    uploads, created = _posts(emulator, "/private/files"), _posts(emulator, "/collections")
    assert uploads == 1 and created == 1

    again = await run_triage("INC-direct", steps, ticket_path=TICKET, files=[DROPPER], expand_budget=5)
    # The dropper is known now: found by its hash, not uploaded again; the collection is found, not made again.
    assert _posts(emulator, "/private/files") == uploads
    assert _posts(emulator, "/collections") == created
    assert again.collection_link == report.collection_link
    assert again.summary_verdict == "malicious"


async def test_without_private_scanning_nothing_is_uploaded_publicly_unasked(
    emulator: Emulator, clock: FakeClock, tmp_path: Path
) -> None:
    sample = tmp_path / "unknown.bin"
    sample.write_bytes(b"a file nobody has seen 5d1f")
    emulator.add_key(PUBLIC_KEY + "-fast", tier="public", per_minute=1000, per_day=10_000)
    async with VirusTotalClient(
        PUBLIC_KEY + "-fast", base_url=emulator.base_url, transport=emulator.transport(), clock=clock
    ) as public:
        steps = ClientTriageSteps(public, MemoryCheckpointStore(), skip_enterprise=True)
        report = await run_triage(
            "case-2", steps, files=[str(sample)], expand=False, sync_case_collection=False
        )
        (item,) = report.items
        assert item.action == "not submitted"
        assert [s.reason for s in report.skipped] == ["policy"]
        assert emulator.count(method="POST", path_prefix="/files") == 0
        assert emulator.count(path_prefix="/private/files", status=403) >= 1

        # Allowed: the private attempt is refused, the public upload is made.
        allowed = await run_triage(
            "case-2",
            steps,
            files=[str(sample)],
            allow_public_upload=True,
            expand=False,
            sync_case_collection=False,
        )
        (item,) = allowed.items
        assert item.action == "scanned publicly"
        assert emulator.count(method="POST", path_prefix="/files") == 1


async def test_collection_sync_directly_is_idempotent_and_refuses_bad_input(
    emulator: Emulator, vt: VirusTotalClient
) -> None:
    domain, ip = emulator.world.pick("domain"), emulator.world.pick("ip_address")
    store = MemoryCheckpointStore()
    steps = ClientCollectionSteps(vt)
    made = await run_collection_sync("IR-7", steps, store, indicators=[domain, ip, "10.0.0.1", "nonsense"])
    assert made.created and sorted(made.added) == sorted([domain, ip]) and made.emulated
    assert "10.0.0.1 (internal, not sent)" in made.invalid and "nonsense" in made.invalid
    emulator.reset_log()
    same = await run_collection_sync("IR-7", steps, store, indicators=[domain, ip])
    assert (same.collection_id, same.created, same.added, same.removed) == (made.collection_id, False, [], [])
    assert same.unchanged == 2
    assert all(r.method == "GET" for r in emulator.requests)  # a second run writes nothing
    with pytest.raises(InvalidParameterError, match="no valid indicator"):
        await run_collection_sync("IR-7", steps, store, text="nothing here")
    with pytest.raises(InvalidParameterError, match="would remove 2 of the 2 items"):
        await run_collection_sync("IR-7", steps, store, indicators=[emulator.world.pick("file")])
    pruned = await run_collection_sync(
        "IR-7", steps, store, indicators=[domain], allow_mass_removal=True, tags=["ir-7"]
    )
    assert pruned.removed == [ip] and pruned.updated_attributes == ["tags"]
