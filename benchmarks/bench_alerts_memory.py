"""Memory of ``poll_alerts``: 100,000 notifications in one run against 1,000, same process.

The flow streams pages (40 at a time, handed on in batches of ``batch_pages`` pages) and keeps
only counters, one batch and a bounded checkpoint, so its peak should not grow with the stream.
The emulator's own store (the notifications themselves) is built before measuring and not
counted: the baseline is taken after seeding and after one warm-up read that builds the
emulator's sorted index.

Two ways to measure, the same for both runs of one invocation:
- ``tracemalloc`` (default): Python allocations, exact, but it slows everything about 2x;
- ``--rss``: the process's resident set, sampled every 50 ms by a thread (no slowdown; includes
  allocator slack and anything else the process touches, so it is the pessimistic figure).

Measured (2 cores shared with a test run, Prefect's SQLite test server, default
``batch_pages=5``):

- ``--rss``: 1,000 -> +27.99 MB in 19.2 s; 100,000 -> +39.93 MB in 1,542.5 s (1.43x the peak
  for 100x the notifications);
- tracemalloc: 1,000 -> +34.89 MB in 22.7 s; 100,000 -> +47.96 MB in 2,498 s (1.37x).

The peak is set by one batch: 200 alerts with their full objects and the events queued for
them (pages of 40 handed on one at a time peaked at ~9 MB). Time is ~15 ms per notification,
most of it the one checkpoint write per batch (a Variable PATCH waits ~1.7 s behind the SQLite
server's recording of task runs and events) and one task run per page: a 100,000 run takes
about half an hour with ``--rss``, about 40 minutes under tracemalloc.

Run: ``PREFECT_HOME=$(mktemp -d) .venv/bin/python benchmarks/bench_alerts_memory.py [N] [--rss]``
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

from bench_alerts_overhead import RssSampler  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from prefect_virustotal.blocks import VirusTotalCredentials  # noqa: E402
from prefect_virustotal.client import VirusTotalClient, mount_transport  # noqa: E402
from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, Emulator, FakeClock  # noqa: E402
from prefect_virustotal.flows import poll_alerts  # noqa: E402

KINDS = ("file", "url", "domain", "ip_address")


USE_RSS = "--rss" in sys.argv


async def measure(count: int, first_id: int) -> tuple[int, float, int]:
    """(peak bytes above the baseline, seconds, alerts handed on) for one run over ``count``."""
    emulator = Emulator(seed=0, clock=FakeClock())
    # The fake clock never reaches the next minute: lift the premium key's minute quota
    # (1,000) so that 100,000 notifications (2,500 pages) can be read in one run.
    emulator.add_key(PREMIUM_DEMO_KEY, "premium", per_minute=10_000_000)
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
        sampler = RssSampler()
        if USE_RSS:
            baseline = sampler.start()
        else:
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
        peak = sampler.stop() if USE_RSS else tracemalloc.get_traced_memory()[1]
    return peak - baseline, elapsed, report.handed_on


async def main(big: int) -> None:
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        if not USE_RSS:
            tracemalloc.start()
        await measure(200, 10_000_000)  # warm-up: imports, first task runs, connection pools
        small_peak, small_s, small_n = await measure(1_000, 20_000_000)
        big_peak, big_s, big_n = await measure(big, 30_000_000)
        if not USE_RSS:
            tracemalloc.stop()
    method = "resident set" if USE_RSS else "tracemalloc"
    print(f"method: {method}")
    print(f"poll_alerts {small_n:>7} notifications: peak +{small_peak / 1e6:.2f} MB in {small_s:.1f}s")
    print(f"poll_alerts {big_n:>7} notifications: peak +{big_peak / 1e6:.2f} MB in {big_s:.1f}s")
    print(
        f"peak ratio {big_n // max(small_n, 1)}x notifications: {big_peak / max(small_peak, 1):.2f}x memory"
    )


if __name__ == "__main__":
    numbers = [a for a in sys.argv[1:] if not a.startswith("--")]
    asyncio.run(main(int(numbers[0]) if numbers else 100_000))
