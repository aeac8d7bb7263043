"""Secrets: every flow runs with a recognisable key; nothing the runs leave behind holds it.

Scanned: log records at DEBUG (httpx and httpcore included) and their tracebacks, the text and
traceback of a failed run, every file under PREFECT_HOME and the test server's database
directory (persisted task results, the SQLite database with flow-run parameters, events,
artifacts, Variables), and the same through the Prefect API: artifacts, events, Variables and
flow runs with their parameters.
"""

from __future__ import annotations

import logging
import os
import traceback
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from prefect import task
from prefect.client.orchestration import PrefectClient, get_client
from prefect.client.schemas.objects import FlowRun
from prefect.client.schemas.sorting import FlowRunSort
from prefect.settings import PREFECT_HOME, PREFECT_SERVER_DATABASE_CONNECTION_URL
from pydantic import SecretStr

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.blocks._credentials import REFUSED_KEY_PARAMETER
from prefect_virustotal.client import InvalidParameterError, VirusTotalClient, VirusTotalError
from prefect_virustotal.client.models import Alert
from prefect_virustotal.emulator import Emulator, FakeClock
from prefect_virustotal.flows import (
    enrich_iocs,
    expand_iocs,
    poll_alerts,
    retrohunt,
    submit_and_wait,
    sync_collection,
    triage,
    watch_retrohunt_jobs,
)
from tests.hunting import campaign_marker, marker_rule

pytestmark = pytest.mark.usefixtures("prefect_harness")

#: Recognisable, and not key-shaped (64 hex), so the block accepts it as a block's key.
SECRET = "SeCrEt-KeY-7f3a9c1e-do-not-leak-42b8d6"
NEEDLES = (SECRET, SECRET.lower(), SECRET.encode().hex())


def leaks(text: str) -> bool:
    lowered = text.lower()
    return any(n.lower() in lowered for n in NEEDLES)


@pytest.fixture
def debug_logs(caplog: pytest.LogCaptureFixture) -> Iterator[pytest.LogCaptureFixture]:
    """Everything at DEBUG, httpx, httpcore and Prefect's own (non-propagating) loggers too."""
    names = [
        "",
        "httpx",
        "httpcore",
        "prefect_virustotal",
        "prefect",
        "prefect.flow_runs",
        "prefect.task_runs",
    ]
    attached = []
    for name in names:
        logger = logging.getLogger(name)
        caplog.set_level(logging.DEBUG, logger=name)
        if not logger.propagate and caplog.handler not in logger.handlers:
            logger.addHandler(caplog.handler)
            attached.append(logger)
    yield caplog
    for logger in attached:
        logger.removeHandler(caplog.handler)


def scan_tree(root: Path) -> list[str]:
    """Files under ``root`` whose bytes hold the key (plain, or hex-encoded)."""
    found = []
    raw = [n.encode() for n in NEEDLES]
    for path in root.rglob("*"):
        if not path.is_file():
            continue
        try:
            data = path.read_bytes()
        except OSError:
            continue
        if any(r in data for r in raw):
            found.append(str(path))
    return found


async def all_flow_runs(client: PrefectClient) -> list[FlowRun]:
    """Every flow run of the session's test server, page by page (the server is shared)."""
    runs: list[FlowRun] = []
    while True:
        page = await client.read_flow_runs(sort=FlowRunSort.ID_DESC, limit=200, offset=len(runs))
        runs.extend(page)
        if len(page) < 200:
            return runs


async def test_no_flow_leaves_the_key_anywhere(
    mounted: Emulator,
    clock: FakeClock,
    tmp_path: Path,
    debug_logs: pytest.LogCaptureFixture,
) -> None:
    mounted.add_key(SECRET, tier="premium")
    mounted.scanning.set_durations(queued=0, running=0)
    world = mounted.world
    block = VirusTotalCredentials(
        api_key=SecretStr(SECRET), base_url=mounted.base_url, requests_per_minute=10_000, daily_budget=None
    )
    # A saved block, used by name, as deployments do (its data is encrypted at rest).
    await block.save("hardening-secret", overwrite=True)
    failures: list[str] = []

    async def failing(coro: Any) -> None:
        try:
            await coro
        except Exception as exc:
            assert isinstance(exc, VirusTotalError) or "VirusTotal" in type(exc).__name__ or str(exc)
            failures.append("".join(traceback.format_exception(exc)))

    await enrich_iocs(indicators=[world.pick("file", "malicious"), "evil[.]example"], credentials=block)
    await enrich_iocs(indicators=[world.pick("domain")], credentials="hardening-secret")
    await submit_and_wait(file_bytes=b"secret-scan sample 1", credentials=block)
    marker = campaign_marker(world, 2)
    await retrohunt(rules=marker_rule(marker), credentials=block, poll_interval=120, clock=clock)
    await watch_retrohunt_jobs(credentials=block, variable_name="hardening-secret-watch")
    mounted.inject_ioc_notification(key=SECRET, entity_type="domain")
    mounted.inject_hunting_notification(key=SECRET, sha256=world.pick("file"))

    @task
    async def hand_on(alert: Alert) -> None:
        logging.getLogger("tests.handoff").debug("alert %r", alert)

    await poll_alerts(credentials=block, checkpoint="hardening-secret-poll", enrich=True, handoff=hand_on)
    await sync_collection("hardening-secret-case", indicators=[world.pick("domain")], credentials=block)
    await expand_iocs(
        [world.pick("file", "malicious")],
        credentials=block,
        max_depth=1,
        fan_out=2,
        reuse_cached_levels=False,
    )
    sample = tmp_path / "unknown.bin"
    sample.write_bytes(b"secret-scan triage sample")
    await triage(
        "hardening secret",
        files=[str(sample)],
        indicators=[world.pick("domain")],
        credentials=block,
        expand_budget=2,
    )
    # Failures: the server echoes the key in an error message; a wrong key; a refused request.
    mounted.faults.add("error", code="BadRequestError", message=f"bad request from {SECRET}", count=1)
    await failing(enrich_iocs(indicators=[world.pick("domain")], credentials=block))
    await failing(
        sync_collection(
            mounted.collections.create("someone-else", "theirs").id, ["a.example"], credentials=block
        )
    )
    async with VirusTotalClient(
        SECRET + "-wrong", base_url=mounted.base_url, transport=mounted.transport()
    ) as vt:
        try:
            await vt.domains.get("example.com")
        except VirusTotalError as exc:
            failures.append("".join(traceback.format_exception(exc)))
            assert not leaks(repr(vt)) and not leaks(str(vt.__dict__.get("base_url")))
    mounted.faults.add("drop", count=1)
    await failing(submit_and_wait(file_bytes=b"secret-scan sample 2", credentials=block))
    assert failures, "the failing runs did not fail"

    # 1. Logs at DEBUG, with tracebacks, and the texts of the failures.
    assert any(r.name.startswith("httpx") for r in debug_logs.records), "httpx DEBUG not captured"
    for record in debug_logs.records:
        text = record.getMessage() + (
            "".join(traceback.format_exception(*record.exc_info)) if record.exc_info else ""
        )
        assert not leaks(text), f"key in a log record of {record.name}: {text[:200]}"
    for text in failures:
        assert not leaks(text), "key in an exception or traceback"

    # 2. Through the API: artifacts, events, Variables, flow runs and their parameters.
    async with get_client() as client:
        artifacts = await client.read_artifacts()
        assert artifacts
        for artifact in artifacts:
            assert not leaks(artifact.model_dump_json()), f"key in artifact {artifact.key}"
        page = await client.read_events(limit=50)
        seen_events = 0
        while True:
            seen_events += len(page.events)
            assert not leaks(page.model_dump_json()), "key in an event"
            if not page.next_page or seen_events >= 2000:
                break
            page = await client.read_events_page(str(page.next_page))
        assert seen_events, "no events recorded by the test server"
        variables = await client.read_variables()
        assert variables
        for variable in variables:
            assert not leaks(variable.model_dump_json()), f"key in Variable {variable.name}"
        runs = await all_flow_runs(client)
        assert runs
        for run in runs:
            assert not leaks(run.model_dump_json()), f"key in flow run {run.name} (parameters)"
        # Prefect's client asks for secrets by default (PREFECT-NOTES.md); a UI or API read does not.
        documents = await client.read_block_documents(include_secrets=False)
        assert any(d.name == "hardening-secret" for d in documents)
        for document in documents:
            assert not leaks(document.model_dump_json()), "key in a block document read without secrets"

    # 3. On disk: persisted results, the local storage, the database and its journal.
    roots = {Path(PREFECT_HOME.value())}
    db_url = PREFECT_SERVER_DATABASE_CONNECTION_URL.value() or ""
    if db_url.startswith("sqlite"):
        roots.add(Path(db_url.split(":///", 1)[1]).parent)
    roots.add(Path(os.environ.get("PREFECT_HOME", str(PREFECT_HOME.value()))))
    assert any(root.rglob("*.db") for root in roots), "the test server's database was not scanned"
    for root in roots:
        assert not scan_tree(root), f"key on disk under {root}"


async def test_a_key_given_as_the_credentials_parameter_is_refused_and_not_stored(mounted: Emulator) -> None:
    key = "0123456789abcdef" * 4  # the shape of a real key
    with pytest.raises(InvalidParameterError) as info:
        await enrich_iocs(indicators=["example.com"], credentials=key)
    assert "VirusTotalCredentials" in str(info.value) and key not in str(info.value)
    assert mounted.count() == 0
    async with get_client() as client:
        runs = await all_flow_runs(client)
        page = await client.read_events(limit=50)
    stored = [r.name for r in runs if key in r.model_dump_json()]
    assert not stored, f"the key was stored as a flow-run parameter of {stored}"
    assert any(REFUSED_KEY_PARAMETER in str(r.parameters) for r in runs)
    assert page.events and key not in page.model_dump_json(), "the refused key in an event"
