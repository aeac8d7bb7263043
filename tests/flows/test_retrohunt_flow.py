"""``retrohunt``, ``watch_retrohunt_jobs`` and ``collect_retrohunt_results`` end to end.

Real flows and tasks, the real client, the emulator behind it. The flows wait on a fake clock
(their ``clock`` parameter) that is also the emulator's, so jobs move exactly as far as the
flow has waited, and no test waits for real time.
"""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

import pytest
from prefect.client.orchestration import get_client
from prefect.client.schemas.objects import FlowRun
from prefect.states import Cancelled
from prefect.variables import Variable

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import VirusTotalClient, YaraSyntaxError
from prefect_virustotal.core import MemoryCheckpointStore
from prefect_virustotal.emulator import Emulator, FakeClock
from prefect_virustotal.flows import (
    collect_retrohunt_results,
    watch_retrohunt_jobs,
)
from prefect_virustotal.flows import retrohunt as retrohunt_flow
from prefect_virustotal.flows._retrohunt import abort_job_on_cancellation
from tests.conftest import PREMIUM_KEY, latest_artifact
from tests.hunting import BAD_RULES, campaign_marker, files_containing, marker_rule

pytestmark = pytest.mark.usefixtures("prefect_harness")

JOBS = "/api/v3/intelligence/retrohunt_jobs"


@pytest.fixture
def retrohunt(clock: FakeClock) -> Any:
    """``retrohunt`` waiting on the emulator's fake clock (its ``clock`` parameter)."""

    async def run(**kwargs: Any) -> Any:
        kwargs.setdefault("clock", clock)
        return await retrohunt_flow(**kwargs)

    return run


async def test_retrohunt_runs_to_exact_matches(
    retrohunt: Any, credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    marker = campaign_marker(mounted.world, 5)
    expected = files_containing(mounted.world, marker)
    report = await retrohunt(rules=marker_rule(marker), credentials=credentials, poll_interval=120)
    assert report.status == "finished" and report.stopped is None and not report.adopted
    assert {m.id for m in report.matches} == expected
    assert report.num_matches == len(expected) and not report.more_matches
    assert report.emulated and report.progress == 100.0
    assert mounted.count("POST", JOBS) == 1
    assert PREMIUM_KEY not in report.model_dump_json()
    # One GET per poll: the whole job (11 min on the emulator) took a handful of polls.
    assert mounted.count("GET", f"{JOBS}/{report.job_id}") <= 7

    async with get_client() as prefect:
        artifacts = await prefect.read_artifacts()
    table: Any = await latest_artifact(f"virustotal-retrohunt-matches-{report.job_id}")
    assert "EMULATED" in (table.description or "")
    progress: Any = await latest_artifact("virustotal-retrohunt-progress")
    assert float(progress.data) == 100.0
    assert all(PREMIUM_KEY not in str(a.data) for a in artifacts)


async def test_bad_rule_fails_before_any_request(
    retrohunt: Any, credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    with pytest.raises(YaraSyntaxError, match="broken"):
        await retrohunt(rules=BAD_RULES, credentials=credentials)
    assert mounted.count() == 0


async def test_deadline_aborts_the_job(
    retrohunt: Any, credentials: VirusTotalCredentials, mounted: Emulator, clock: FakeClock
) -> None:
    start = clock.monotonic()
    report = await retrohunt(
        rules="rule every_file { condition: true }",
        credentials=credentials,
        deadline_seconds=360,
        poll_interval=60,
        max_matches=50,
    )
    assert report.stopped == "deadline"
    assert report.status == "aborting"
    assert clock.monotonic() - start == pytest.approx(360)
    assert mounted.count("POST", f"{JOBS}/{report.job_id}/abort") == 1
    job = mounted.hunting.jobs[report.job_id]
    assert job.abort_requested == pytest.approx(job.created + 360)
    # Half the scan was done (60 s queued + 60 s starting + 240 of 600 s running): partial matches.
    assert report.num_matches is not None and 0 < report.num_matches < mounted.world.count("file")
    assert len(report.matches) == 50 and report.more_matches
    clock.advance(60)
    assert job.status(clock.time()) == "aborted"


async def test_rerun_adopts_instead_of_duplicating(
    retrohunt: Any, credentials: VirusTotalCredentials, mounted: Emulator, vt: VirusTotalClient
) -> None:
    rules = marker_rule(campaign_marker(mounted.world, 7))
    # An earlier run created the job, then crashed.
    earlier = await vt.retrohunt.create(rules, notification_email="soc@example.com")
    report = await retrohunt(rules=rules, credentials=credentials, notification_email="SOC@example.com")
    assert report.adopted and report.job_id == earlier.id and report.status == "finished"
    # Running it again within a day adopts the finished job; other rules make a new one.
    again = await retrohunt(rules=rules, credentials=credentials, notification_email="soc@example.com")
    assert again.adopted and again.job_id == earlier.id
    assert mounted.count("POST", JOBS) == 1
    other = await retrohunt(rules=rules, credentials=credentials, corpus="goodware")
    assert not other.adopted and other.job_id != earlier.id
    assert mounted.count("POST", JOBS) == 2


class _GatedClock:
    """The fake clock's time, but a sleep that never ends: the flow is parked mid-wait."""

    def __init__(self, clock: FakeClock) -> None:
        self._clock = clock
        self.waiting = asyncio.Event()

    def time(self) -> float:
        return self._clock.time()

    def monotonic(self) -> float:
        return self._clock.monotonic()

    async def sleep(self, seconds: float) -> None:
        self.waiting.set()
        await asyncio.Event().wait()


async def test_cancellation_aborts_the_server_job(
    retrohunt: Any,
    credentials: VirusTotalCredentials,
    mounted: Emulator,
    clock: FakeClock,
) -> None:
    gated = _GatedClock(clock)
    store = MemoryCheckpointStore()
    run = asyncio.create_task(
        retrohunt(
            rules="rule parked { condition: true }", credentials=credentials, clock=gated, checkpoints=store
        )
    )
    await asyncio.wait_for(gated.waiting.wait(), timeout=120)
    (job,) = mounted.hunting.jobs.values()
    assert job.abort_requested is None
    # While it waits, the run's checkpoint names its job (for a hook in another process).
    ((name, value),) = store.values.items()
    assert name.startswith("virustotal-retrohunt-run-") and job.id in value
    run.cancel()
    with pytest.raises(asyncio.CancelledError):
        await run
    assert not store.values
    assert job.abort_requested is not None
    assert job.status(clock.time()) == "aborting"
    assert mounted.count("POST", f"{JOBS}/{job.id}/abort") == 1


async def test_cancellation_hook_aborts_from_another_process(
    credentials: VirusTotalCredentials, mounted: Emulator, vt: VirusTotalClient
) -> None:
    """A runner runs the hook after killing the run: job id from the Variable, block by name."""
    await credentials.save("retrohunt-hook-test", overwrite=True)
    job = await vt.retrohunt.create("rule elsewhere { condition: true }")
    run_id = uuid.uuid4()
    await Variable.aset(f"virustotal-retrohunt-run-{run_id}", {"job_id": job.id}, overwrite=True)
    flow_run = FlowRun(id=run_id, flow_id=uuid.uuid4(), parameters={"credentials": "retrohunt-hook-test"})
    await abort_job_on_cancellation(retrohunt_flow, flow_run, Cancelled())
    assert mounted.hunting.jobs[job.id].abort_requested is not None
    assert await Variable.aget(f"virustotal-retrohunt-run-{run_id}") is None
    # Nothing recorded for a run: the hook does nothing.
    await abort_job_on_cancellation(
        retrohunt_flow, FlowRun(id=uuid.uuid4(), flow_id=uuid.uuid4()), Cancelled()
    )
    assert mounted.count("POST", f"{JOBS}/{job.id}/abort") == 1


async def test_watcher_announces_each_finished_job_once(
    credentials: VirusTotalCredentials, mounted: Emulator, vt: VirusTotalClient, clock: FakeClock
) -> None:
    variable = f"retrohunt-watch-{uuid.uuid4().hex[:8]}"
    first = await vt.retrohunt.create("rule one { condition: true }")
    clock.advance(400)
    second = await vt.retrohunt.create("rule two { condition: true }")
    assert await watch_retrohunt_jobs(variable_name=variable, credentials=credentials) == []
    clock.advance(400)  # the first job finishes, the second is still running
    assert await watch_retrohunt_jobs(variable_name=variable, credentials=credentials) == [first.id]
    assert await watch_retrohunt_jobs(variable_name=variable, credentials=credentials) == []
    clock.advance(400)
    assert await watch_retrohunt_jobs(variable_name=variable, credentials=credentials) == [second.id]
    assert await Variable.aget(variable) == {"announced": [second.id, first.id]}
    # A deleted job leaves the Variable, so it does not grow forever.
    await vt.retrohunt.delete(first.id)
    await vt.retrohunt.create("rule three { condition: true }")
    clock.advance(2000)
    (third,) = await watch_retrohunt_jobs(variable_name=variable, credentials=credentials)
    assert await Variable.aget(variable) == {"announced": [third, second.id]}


async def test_collect_results_for_an_automation(
    credentials: VirusTotalCredentials, mounted: Emulator, vt: VirusTotalClient, clock: FakeClock
) -> None:
    marker = campaign_marker(mounted.world, 2)
    job = await vt.retrohunt.create(marker_rule(marker))
    clock.advance(5000)
    report = await collect_retrohunt_results(
        job.id, credentials=credentials, max_matches=3, delete_after=True
    )
    assert report.status == "finished" and len(report.matches) == 3 and report.more_matches
    assert {m.id for m in report.matches} <= files_containing(mounted.world, marker)
    assert report.deleted and job.id not in mounted.hunting.jobs


async def test_matches_handed_to_a_collection(
    retrohunt: Any, credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    marker = campaign_marker(mounted.world, 6)
    expected = files_containing(mounted.world, marker)
    report = await retrohunt(
        rules=marker_rule(marker), credentials=credentials, poll_interval=120, collection="hunt-matches"
    )
    assert {m.id for m in report.matches} == expected
    (stored,) = [c for c in mounted.collections.collections.values() if c.name == "hunt-matches"]
    assert set(stored.items["files"]) == expected


async def test_watcher_keeps_its_checkpoint_in_the_store_it_is_given(
    credentials: VirusTotalCredentials, mounted: Emulator, vt: VirusTotalClient, clock: FakeClock
) -> None:
    store = MemoryCheckpointStore()
    variable = f"retrohunt-watch-{uuid.uuid4().hex[:8]}"
    job = await vt.retrohunt.create("rule four { condition: true }")
    clock.advance(2000)
    assert await watch_retrohunt_jobs(variable_name=variable, checkpoints=store, credentials=credentials) == [
        job.id
    ]
    assert (
        await watch_retrohunt_jobs(variable_name=variable, checkpoints=store, credentials=credentials) == []
    )
    assert await store.load(variable) == {"announced": [job.id]} and store.writes == 1
    assert await Variable.aget(variable) is None
