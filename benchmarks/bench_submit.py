"""Benchmark ``submit_and_wait``: 50 files and 50 URLs against the emulator, 50 ms of latency.

Prints two ratios measured in the same run (no absolute timings are asserted anywhere):

* requests per submission against ``1 + minimum polls``: the minimum polls are those the
  wait's own schedule (immediate first poll, then ``initial * factor**k``) needs to see an
  analysis of the emulated duration complete; the measured figure is broken down into
  submissions, polls, final reports and anything else.
* wall time against ``sum(analysis durations) / concurrency``.

The emulator runs in process on the real clock (analyses take ``QUEUED + RUNNING`` seconds),
with a premium key whose quota is large; the credentials block paces at REQUESTS_PER_MINUTE.
Run: ``PREFECT_HOME=$(mktemp -d) .venv/bin/python benchmarks/bench_submit.py`` (about 1.5 min).
"""

from __future__ import annotations

import asyncio
import collections
import os
import re
import tempfile
import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import psutil

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")
os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
# Many concurrent flow runs on one SQLite file: give a busy machine time instead of 503s.
os.environ.setdefault("PREFECT_SERVER_DATABASE_TIMEOUT", "60")
os.environ.setdefault("PREFECT_SERVER_DATABASE_CONNECTION_TIMEOUT", "60")
os.environ.setdefault("PREFECT_CLIENT_MAX_RETRIES", "10")
# Run logs are not what is measured; shipping them to the API only loads the one SQLite file.
os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
for _name in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(_name, None)

from prefect.settings import PREFECT_API_URL, PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings  # noqa: E402
from prefect.testing.utilities import prefect_test_harness  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from prefect_virustotal.blocks import VirusTotalCredentials  # noqa: E402
from prefect_virustotal.client import mount_transport  # noqa: E402
from prefect_virustotal.emulator import Emulator  # noqa: E402
from prefect_virustotal.emulator._scanning import EICAR  # noqa: E402
from prefect_virustotal.flows import submit_and_wait  # noqa: E402

FILES = int(os.environ.get("BENCH_FILES", "50"))
URLS = int(os.environ.get("BENCH_URLS", "50"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "10"))
CLIENT_CONCURRENCY = 50
LATENCY = 0.05
QUEUED, RUNNING = 2.0, 4.0
INITIAL, FACTOR, MAX_INTERVAL = 1.0, 1.15, 60.0
REQUESTS_PER_MINUTE = 6000
KEY = "bench-premium-key"


class PrefectCalls:
    """Counts the requests this process sends to Prefect's API, by method and path shape.

    A machine shared with other work stretches wall times several-fold; the calls each
    submission costs do not change with the load (events travel on a websocket: not counted).
    """

    def __init__(self) -> None:
        self.counts: collections.Counter[str] = collections.Counter()
        self._send = httpx.AsyncClient.send

    def __enter__(self) -> PrefectCalls:
        netloc = urlsplit(str(PREFECT_API_URL.value())).netloc
        counts, send = self.counts, self._send

        async def counting(
            client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any
        ) -> httpx.Response:
            if request.url.netloc.decode() == netloc:
                shape = re.sub(r"/[0-9a-f-]{36}|/name/[^/]+", "/{id}", request.url.path.removeprefix("/api"))
                counts[f"{request.method} {shape}"] += 1
            return await send(client, request, **kwargs)

        httpx.AsyncClient.send = counting  # type: ignore[method-assign]
        return self

    def __exit__(self, *_: object) -> None:
        httpx.AsyncClient.send = self._send  # type: ignore[method-assign]


def cpu_seconds() -> tuple[float, float]:
    """CPU seconds (user + system) of this process, and of its children (Prefect's server)."""
    me = psutil.Process()
    children = sum(sum(c.cpu_times()[:2]) for c in me.children(recursive=True))
    return sum(me.cpu_times()[:2]), children


def minimum_polls(duration: float) -> int:
    """Polls the wait's schedule makes for an analysis that completes after ``duration``."""
    polls, at, interval = 1, 0.0, INITIAL
    while at < duration:
        at += interval
        interval = min(MAX_INTERVAL, interval * FACTOR)
        polls += 1
    return polls


async def main() -> None:
    emulator = Emulator(seed=1)
    emulator.add_key(KEY, tier="premium", per_minute=100_000, per_day=10_000_000)
    emulator.scanning.set_durations(queued=QUEUED, running=RUNNING)
    emulator.faults.add("latency", seconds=LATENCY)
    block = VirusTotalCredentials(
        api_key=SecretStr(KEY),
        base_url=emulator.base_url,
        requests_per_minute=REQUESTS_PER_MINUTE,
        daily_budget=None,
    )
    folder = Path(tempfile.mkdtemp(prefix="bench-submit-"))
    paths = []
    for i in range(FILES):
        path = folder / f"sample-{i}.bin"
        path.write_bytes(f"benchmark sample {i}\n".encode() * 40 + (EICAR if i % 5 == 0 else b""))
        paths.append(path)
    urls = [f"http://bench-{i}.example/landing/{i}" for i in range(URLS)]
    gate = asyncio.Semaphore(CONCURRENCY)
    common = {
        "credentials": block,
        "rescan": "always",
        "initial_interval": INITIAL,
        "poll_factor": FACTOR,
        "max_interval": MAX_INTERVAL,
        "timeout": 600.0,
    }

    async def one(**kwargs: object) -> str:
        async with gate:
            result = await submit_and_wait(**common, **kwargs)  # type: ignore[arg-type]
            return result.verdict

    with mount_transport(emulator.base_url, emulator.transport()):
        await one(file_bytes=b"warm-up")  # Prefect's first flow run is slow; not measured
        emulator.reset_log()
        uploads_before, submissions_before = emulator.scanning.uploads, len(emulator.scanning.submissions)
        cpu_before = cpu_seconds()
        start = time.perf_counter()
        with PrefectCalls() as calls:
            verdicts = await asyncio.gather(
                *(one(file_path=str(p)) for p in paths), *(one(url=u) for u in urls)
            )
        wall = time.perf_counter() - start
        cpu_after = cpu_seconds()

    total = FILES + URLS
    records = emulator.requests
    submits = sum(1 for r in records if r.method == "POST")
    polls = sum(
        1
        for r in records
        if r.method == "GET" and r.path.startswith("/api/v3/analyses/") and not r.path.endswith("/item")
    )
    items = sum(1 for r in records if r.path.endswith("/item"))
    other = len(records) - submits - polls - items
    duration = QUEUED + RUNNING
    floor = minimum_polls(duration)
    per_submission = len(records) / total
    spent = (submits + polls) / total
    ideal = total * duration / CONCURRENCY
    print(
        f"submissions: {total} ({FILES} files, {URLS} URLs), concurrency {CONCURRENCY}, "
        f"latency {LATENCY * 1000:.0f} ms, analysis {duration:.0f} s"
    )
    print(f"verdicts: { {v: verdicts.count(v) for v in sorted(set(verdicts))} }")
    print(
        f"uploads/submissions at the emulator: {emulator.scanning.uploads - uploads_before} / "
        f"{len(emulator.scanning.submissions) - submissions_before}"
    )
    print(
        f"requests per submission: {per_submission:.2f} = submit {submits / total:.2f} + polls "
        f"{polls / total:.2f} + final report {items / total:.2f} + other {other / total:.2f}"
    )
    print(
        f"target 1 + minimum polls = {1 + floor} (schedule {INITIAL:g}s x{FACTOR:g}); "
        f"submit + polls = {spent:.2f} -> ratio {spent / (1 + floor):.2f}"
    )
    print(
        f"wall time: {wall:.1f} s vs sum(durations)/concurrency = {ideal:.1f} s -> ratio {wall / ideal:.2f}"
        f" (load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
    )
    print(
        f"Prefect API requests per submission: {sum(calls.counts.values()) / total:.2f} = "
        + " + ".join(f"{kind} {n / total:.2f}" for kind, n in calls.counts.most_common())
    )
    print(
        f"CPU seconds per submission: this process {(cpu_after[0] - cpu_before[0]) / total:.3f}, "
        f"Prefect's server {(cpu_after[1] - cpu_before[1]) / total:.3f}"
    )
    await client_only(emulator, block, folder)


async def client_only(emulator: Emulator, block: VirusTotalCredentials, folder: Path) -> None:
    """The same submissions through the client alone: the wait's own overshoot, without Prefect."""
    gate = asyncio.Semaphore(CLIENT_CONCURRENCY)
    with mount_transport(emulator.base_url, emulator.transport()):
        async with block.get_client() as vt:

            async def one(target: str, is_url: bool) -> None:
                async with gate:
                    analysis = await (vt.urls.scan(target) if is_url else vt.files.upload(target))
                    await vt.analyses.wait(
                        analysis.id, initial_interval=INITIAL, factor=FACTOR, max_interval=MAX_INTERVAL
                    )
                    await vt.analyses.item(analysis.id)

            paths = []
            for i in range(FILES):
                path = folder / f"client-{i}.bin"
                path.write_bytes(f"client-only sample {i}\n".encode() * 40)
                paths.append(str(path))
            start = time.perf_counter()
            await asyncio.gather(
                *(one(p, False) for p in paths),
                *(one(f"http://client-{i}.example/x", True) for i in range(URLS)),
            )
            wall = time.perf_counter() - start
    ideal = (FILES + URLS) * (QUEUED + RUNNING) / min(CLIENT_CONCURRENCY, FILES + URLS)
    print(
        f"client only (no Prefect), concurrency {CLIENT_CONCURRENCY}: wall {wall:.1f} s vs {ideal:.1f} s "
        f"-> ratio {wall / ideal:.2f}"
    )


if __name__ == "__main__":
    with (
        prefect_test_harness(
            server_startup_timeout=int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
        ),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        asyncio.run(main())
