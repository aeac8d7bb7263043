"""``poll_alerts`` overhead: this tree against a baseline revision, in one run, on PostgreSQL (and SQLite).

Issue 20's target: 100,000 notifications in one run in at most 5 minutes of pack and Prefect
overhead on a PostgreSQL-backed server, peak memory as before (+40 MB). The emulator runs in
process with no latency and no quota (the key's minute quota is lifted), so the time measured
is the pack's and Prefect's: task runs, checkpoint writes, event emission, model parsing.

For each backend a fresh database and ``prefect server start`` (all services on, as in
production; ``bench_backends.prefect_server``) is started per measured code version, so that
neither version inherits the other's recorded runs. Each version runs in its own child
process (Prefect's client-side services are process-wide), importing the pack from:

* ``baseline``: ``git archive <ref>`` (``--baseline``, default ``main``) extracted to a
  temporary folder and put first on ``sys.path``;
* ``current``: this working tree.

Each child seeds the emulator with ``N`` notifications (five per second, every entity type),
runs ``poll_alerts`` once (``limit=request_budget=N``, events on, default batch size) and
prints seconds per notification, the run's peak resident memory above the level before it,
and the checkpoint writes. The parent prints both versions side by side and current/baseline.

Run: ``PREFECT_HOME=$(mktemp -d) .venv/bin/python benchmarks/bench_alerts_overhead.py [N]
[--baseline REF] [--backends postgresql,sqlite] [--only current] [--server-env K=V,...]
[--current-server-env "K=V,...;K=V,..."]`` (N defaults to 20,000; ``--server-env`` sets the
Prefect servers' environment, ``--current-server-env`` more of it for the current code, one
row per ``;``-separated alternative, each on a server of its own;
``BENCH_PROFILE=<file>`` runs the child under cProfile).
No figure is asserted anywhere.

Measured (load average 24-30 on 2 shared cores), ``... 20000 --backends postgresql --baseline 8c343a2``:
baseline 24.64 ms per notification (20.13 outside the emulator), +40.7 MB; one batch per task run
and events prepared per batch: 15.62 ms (11.99), +39.7 MB: 0.63 of the wall time, 0.60 of the
overhead; 100,000 extrapolated: about 20 minutes of overhead (target 5).

Measured again (load average 8-16), ``... 100000 --backends postgresql --baseline 2d802ad``, after the
IoC Stream's objects were kept raw until read, list bodies decoded once, events built without
re-validation and the run's resources looked up once: baseline 6.71 ms of overhead per
notification, +38.6 MB; current 6.34 ms, +31.1 MB (0.94 of the overhead; the emulator's own time,
the same work in both, took 25 % longer in the current half: the machine was busier then).
100,000 in one run: 10.6 minutes of overhead (target 5).

Measured alone on the machine (``/work/tools/calm``, load 1.0-1.3), ``... 100000 --backends
postgresql --baseline main``: main 1.85 ms of overhead per notification, but its server dropped
54,290 messages (in-memory queues full) and stored 46,943 of the run's 100,000 events; each
batch's events posted at once and paced by the server's event store: 3.08 ms, all 100,000
stored. Then, the stored events looked up once per several batches (``--only current``, load
4.2 -> 1.9): 2.80 ms, 100,000 in 4.7 minutes of overhead, all stored 3 s after the run, +31.7 MB.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import threading
import time
import uuid
from contextlib import ExitStack
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
LAYERS = ("client", "core", "blocks", "tasks", "flows", "emulator", "cli")
KINDS = ("file", "url", "domain", "ip_address")


def baseline_tree(ref: str) -> Path:
    """The pack at ``ref`` as an importable ``prefect_virustotal`` folder; its parent folder."""
    root = Path(tempfile.mkdtemp(prefix="bench-alerts-baseline-"))
    archive = root / "src.tar"
    with archive.open("wb") as out:
        subprocess.run(["git", "archive", ref, *LAYERS], cwd=ROOT, stdout=out, check=True)
    package = root / "prefect_virustotal"
    with tarfile.open(archive) as tar:
        tar.extractall(package, filter="data")
    return root


class RssSampler:
    """Peak resident set size, sampled every 50 ms by a thread from ``/proc/self/statm``."""

    def __init__(self) -> None:
        self.page = os.sysconf("SC_PAGE_SIZE")
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def rss(self) -> int:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * self.page

    def start(self) -> int:
        self.peak = baseline = self.rss()
        self._thread.start()
        return baseline

    def _run(self) -> None:
        while not self._stop.wait(0.05):
            self.peak = max(self.peak, self.rss())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.peak, self.rss())


def child(count: int, api: str) -> dict[str, float]:
    """Run in the child: one ``poll_alerts`` over ``count`` notifications against ``api``."""
    os.environ["PREFECT_API_URL"] = api
    import httpx
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from pydantic import SecretStr

    import prefect_virustotal.flows._alerts as alerts_module
    from prefect_virustotal.blocks import VirusTotalCredentials
    from prefect_virustotal.client import VirusTotalClient, mount_transport
    from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, Emulator, FakeClock
    from prefect_virustotal.flows import poll_alerts

    print(f"[code: {Path(alerts_module.__file__).parent.parent}]", file=sys.stderr, flush=True)

    class TimedTransport(httpx.AsyncBaseTransport):
        """The emulator's transport, timing the requests: the stand-in for VirusTotal's latency."""

        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner = inner
            self.seconds = 0.0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            started = time.perf_counter()
            try:
                return await self.inner.handle_async_request(request)
            finally:
                self.seconds += time.perf_counter() - started

    spent: dict[str, float] = {}

    def timed(label: str, function: Any) -> Any:
        """``function`` (a coroutine function), its wall time summed under ``label``."""

        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return await function(*args, **kwargs)
            finally:
                spent[label] = spent.get(label, 0.0) + time.perf_counter() - started

        return wrapper

    # Where the run's time goes (each version's own names; a name it lacks is not timed):
    # the batch task runs (emulator included), the hand-offs, the checkpoint writes, and the
    # events' flush (which overlaps the next batch's read).
    from prefect_virustotal.flows._checkpoints import VariableCheckpointStore

    VariableCheckpointStore.save = timed("checkpoint writes", VariableCheckpointStore.save)  # type: ignore[method-assign]
    for label, name in (("batch task runs", "fetch_alert_batch"), ("hand-offs", "_hand_on")):
        if hasattr(alerts_module, name):
            setattr(alerts_module, name, timed(label, getattr(alerts_module, name)))
    for owner_name in ("_AlertEvents", "_BatchEvents"):
        owner = getattr(alerts_module, owner_name, None)
        if owner is not None and hasattr(owner, "flush"):
            owner.flush = timed("events flush (overlapped)", owner.flush)

    async def stored_events(flow_run_id: str, started: float) -> tuple[int, float]:
        """The run's alert events in the server's event store, waited for while their count grows.

        Accepted is not stored: the server's event persister writes them behind the run, and
        its in-memory queues drop what comes while they are full. Seconds from the run's
        start until all ``count`` were stored (or until the count stopped growing for 20 s).
        """
        from prefect.client.orchestration import get_client
        from prefect.events.filters import EventFilter, EventNameFilter, EventRelatedFilter

        deadline = time.perf_counter() + 20
        last = -1
        async with get_client() as prefect:
            while True:
                page = await prefect.read_events(
                    EventFilter(
                        event=EventNameFilter(prefix=["virustotal.alert."]),
                        related=EventRelatedFilter(id=[f"prefect.flow-run.{flow_run_id}"]),
                    ),
                    limit=1,
                )
                if page.total >= count or time.perf_counter() > deadline:
                    return page.total, time.perf_counter() - started
                if page.total > last:
                    last, deadline = page.total, time.perf_counter() + 20
                await asyncio.sleep(0.5)

    async def run() -> dict[str, float]:
        emulator = Emulator(seed=0, clock=FakeClock())
        emulator.add_key(PREMIUM_DEMO_KEY, "premium", per_minute=10_000_000)
        emulator.notifications._ids = itertools.count(70_000_000)
        for i in range(count):
            emulator.inject_ioc_notification(
                key=PREMIUM_DEMO_KEY,
                date=1767225600 + i // 5,
                entity_type=KINDS[i % 4],
                origin="subscriptions",
            )
        credentials = VirusTotalCredentials(
            api_key=SecretStr(PREMIUM_DEMO_KEY),
            base_url=emulator.base_url,
            requests_per_minute=1_000_000,
            daily_budget=None,
        )
        transport = TimedTransport(emulator.transport())
        with mount_transport(emulator.base_url, transport):
            async with VirusTotalClient(PREMIUM_DEMO_KEY, base_url=emulator.base_url) as vt:
                await vt.ioc_stream.list(order="date+", page_size=1, limit=1).collect()  # the index
            # Warm-up on another checkpoint: the flow's registration, pools, imports. No events:
            # they would carry the ids of the measured run's first 40 (the server keeps one).
            await poll_alerts(
                credentials=credentials,
                checkpoint=f"bench-warm-{uuid.uuid4().hex[:8]}",
                limit=40,
                emit_events=False,
            )
            spent.clear()
            sampler = RssSampler()
            before = sampler.start()
            transport.seconds = 0.0
            started = time.perf_counter()
            state = await poll_alerts(
                credentials=credentials,
                checkpoint=f"bench-{uuid.uuid4().hex[:8]}",
                limit=count,
                request_budget=count,
                emit_events=True,
                return_state=True,
            )
            elapsed = time.perf_counter() - started
            peak = sampler.stop()
            report = await state.result()
            stored, stored_s = await stored_events(str(state.state_details.flow_run_id), started)
        if report.handed_on != count:
            raise SystemExit(f"handed on {report.handed_on} of {count}: {report}")
        overhead = elapsed - transport.seconds
        return {
            "seconds": elapsed,
            "emulator_s": transport.seconds,
            "ms_per_alert": elapsed / count * 1000,
            "overhead_ms": overhead / count * 1000,
            "peak_mb": (peak - before) / 1e6,
            "events_stored": stored,
            "all_stored_s": stored_s,
            **{f"spent: {label}": seconds for label, seconds in spent.items()},
        }

    with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        return asyncio.run(run())


def measure(backend: str, code: Path | None, count: int, server_env: dict[str, str]) -> dict[str, float]:
    """A fresh database and server for ``backend``; the child measures ``code`` against it."""
    sys.path.insert(0, str(ROOT))
    sys.path.insert(0, str(ROOT / "benchmarks"))
    from bench_backends import prefect_server

    from tests.postgres import postgres_server

    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if code is not None:
        env["PYTHONPATH"] = str(code)
    with ExitStack() as stack:
        url = stack.enter_context(postgres_server(fast=False)) if backend == "postgresql" else None
        api = stack.enter_context(prefect_server(url, server_env))
        profile = os.environ.get("BENCH_PROFILE")  # a file: the child runs under cProfile
        python = [sys.executable, "-m", "cProfile", "-o", profile] if profile else [sys.executable]
        result = subprocess.run(
            [*python, __file__, "--child", str(count), api],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    sys.stderr.write(result.stderr[-400:] if result.returncode == 0 else result.stderr[-4000:])
    if result.returncode != 0:
        raise SystemExit(f"{backend} child failed ({result.returncode}):\n{result.stdout[-3000:]}")
    figures: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def option(name: str, default: str) -> str:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def parse_settings(text: str) -> dict[str, str]:
    """``K=V,K=V``: environment variables for the Prefect server."""
    return dict(pair.split("=", 1) for pair in text.split(",") if pair)


def settings_option(name: str) -> dict[str, str]:
    return parse_settings(option(name, ""))


def main() -> None:
    numbers = [a for a in sys.argv[1:] if a.isdigit()]
    count = int(numbers[0]) if numbers else 20_000
    ref = option("--baseline", "main")
    backends = option("--backends", "postgresql,sqlite").split(",")
    versions = option("--only", "baseline,current").split(",")
    trees = {"baseline": baseline_tree(ref), "current": None} if "baseline" in versions else {"current": None}
    # Rows: (label, code, server environment). ``--current-server-env A;B`` measures the
    # current code once per alternative (``current``, ``current+1``, ...), each on its server.
    common = settings_option("--server-env")
    runs: list[tuple[str, str, dict[str, str]]] = []
    if "baseline" in versions:
        runs.append(("baseline", "baseline", common))
    if "current" in versions:
        alternatives = option("--current-server-env", "").split(";")
        for n, alternative in enumerate(alternatives):
            label = "current" if n == 0 else f"current+{n}"
            runs.append((label, "current", {**common, **parse_settings(alternative)}))
    for label, _, env in runs:
        if env:
            print(f"[{label}: server with {' '.join(f'{k}={v}' for k, v in sorted(env.items()))}]")
    rows: dict[tuple[str, str], dict[str, float]] = {}
    for backend in backends:
        for label, version, env in runs:
            started = time.perf_counter()
            rows[backend, label] = measure(backend, trees[version], count, env)
            print(f"[{backend} {label}: {time.perf_counter() - started:.0f} s in all]", flush=True)
    revision = subprocess.run(
        ["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True, check=False
    ).stdout.strip()
    print(f"poll_alerts over {count} notifications, one run; baseline {ref} ({revision}), current this tree")
    print("overhead = wall time less the time spent inside the emulator (VirusTotal's stand-in)")
    print(
        f"{'':28} {'wall s':>7} {'emul. s':>7} {'ms/alert':>9} {'overhead':>9} {'peak MB':>8} "
        f"{'100k min':>9} {'100k ovh':>9}"
    )
    for (backend, version), fig in rows.items():
        print(
            f"{backend + ' ' + version:28} {fig['seconds']:7.1f} {fig['emulator_s']:7.1f} "
            f"{fig['ms_per_alert']:9.2f} {fig['overhead_ms']:9.2f} {fig['peak_mb']:8.1f} "
            f"{fig['ms_per_alert'] * 100 / 60:9.1f} {fig['overhead_ms'] * 100 / 60:9.1f}"
        )
    print("where the measured run's wall time went (s; the flush overlaps the next batch's read):")
    for (backend, version), fig in rows.items():
        parts = [f"{k[len('spent: ') :]} {v:.1f}" for k, v in fig.items() if k.startswith("spent: ")]
        print(f"  {backend} {version}: wall {fig['seconds']:.1f}; " + ", ".join(parts))
    print("the run's alert events in the server's event store (the persister writes them behind the run):")
    for (backend, version), fig in rows.items():
        print(
            f"  {backend} {version}: {fig['events_stored']:.0f} of {count} stored, "
            f"the last by {fig['all_stored_s']:.1f} s after the run started"
        )
    for backend in backends:
        for label, _, _ in runs:
            if label == "baseline" or (backend, "baseline") not in rows:
                continue
            now, before = rows[backend, label], rows[backend, "baseline"]
            wall = now["ms_per_alert"] / before["ms_per_alert"]
            overhead = now["overhead_ms"] / before["overhead_ms"]
            print(f"{backend}: {label}/baseline per notification: wall {wall:.2f}, overhead {overhead:.2f}")


if __name__ == "__main__":
    if "--child" in sys.argv:
        at = sys.argv.index("--child")
        print(json.dumps(child(int(sys.argv[at + 1]), sys.argv[at + 2])))
    else:
        os.environ.setdefault("DO_NOT_TRACK", "1")
        os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
        os.environ.setdefault("PREFECT_LOGGING_LEVEL", "ERROR")
        os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
        os.environ.setdefault("PREFECT_LOGGING_TO_API_ENABLED", "false")
        for _name in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
            os.environ.pop(_name, None)
        main()
