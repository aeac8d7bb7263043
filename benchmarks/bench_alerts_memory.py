"""Memory of ``poll_alerts``: 100,000 notifications in one run against 1,000, same process.

The flow streams pages (40 at a time) and keeps only counters and a bounded checkpoint, so
its peak should not grow with the stream. The emulator's own store (the notifications
themselves) is built before measuring and not counted: ``tracemalloc.reset_peak()`` runs
after seeding and after one warm-up read that builds the emulator's sorted index.

Measured (2 shared cores, Prefect's SQLite test server): 1,000 -> peak +9.05 MB in 99 s;
4,000 -> peak +3.73 MB in 402 s (ratio 0.41: bounded, not proportional). Prefect's events
client keeps at most 700 unconfirmed events (``checkpoint_every``), the flow keeps counters,
the checkpoint (< 5,000 characters) and one page. Time is ~0.1 s per notification here,
almost all of it the checkpoint write after each page's task run (a Variable PATCH waits
~1 s behind the SQLite server's task-run recording; 25 ms without a task run before it), so
100,000 takes hours on the test server: run ``4000`` (or ``20000``) locally.

Run: ``PREFECT_HOME=$(mktemp -d) .venv/bin/python benchmarks/bench_alerts_memory.py [N]``
"""

from __future__ import annotations

import asyncio
import itertools
import os
import sys
import tempfile
import time
import tracemalloc
import uuid

os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
for _name in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(_name, None)

from pydantic import SecretStr  # noqa: E402

from prefect_virustotal.blocks import VirusTotalCredentials  # noqa: E402
from prefect_virustotal.client import VirusTotalClient, mount_transport  # noqa: E402
from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, Emulator, FakeClock  # noqa: E402
from prefect_virustotal.flows import poll_alerts  # noqa: E402

KINDS = ("file", "url", "domain", "ip_address")


async def measure(count: int, first_id: int) -> tuple[int, float, int]:
    """(peak bytes above the baseline, seconds, alerts handed on) for one run over ``count``."""
    emulator = Emulator(seed=0, clock=FakeClock())
    # Notification ids unique across the runs of this process: an event id (uuid5 of the id)
    # seen twice makes Prefect's SQLite event persister drop the whole batch.
    emulator.notifications._ids = itertools.count(first_id)
    for i in range(count):
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
        tracemalloc.reset_peak()
        baseline, _ = tracemalloc.get_traced_memory()
        started = time.perf_counter()
        report = await poll_alerts(
            credentials=credentials,
            checkpoint=f"bench-{uuid.uuid4().hex[:8]}",
            max_alerts=count,
            max_requests=count,
            emit_events=True,
        )
        elapsed = time.perf_counter() - started
        _, peak = tracemalloc.get_traced_memory()
    return peak - baseline, elapsed, report.handed_on


async def main(big: int) -> None:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        tracemalloc.start()
        await measure(200, 10_000_000)  # warm-up: imports, first task runs, connection pools
        small_peak, small_s, small_n = await measure(1_000, 20_000_000)
        big_peak, big_s, big_n = await measure(big, 30_000_000)
        tracemalloc.stop()
    print(f"poll_alerts {small_n:>7} notifications: peak +{small_peak / 1e6:.2f} MB in {small_s:.1f}s")
    print(f"poll_alerts {big_n:>7} notifications: peak +{big_peak / 1e6:.2f} MB in {big_s:.1f}s")
    print(
        f"peak ratio {big_n // max(small_n, 1)}x notifications: {big_peak / max(small_peak, 1):.2f}x memory"
    )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000))
