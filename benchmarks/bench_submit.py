"""Benchmark ``submit_and_wait``: files and URLs against the emulator, 50 ms of latency, in one run.

Issue 20's target: wall time within 1.3x of the ideal through Prefect, requests per submission
unchanged or fewer. The same submissions go through the flow (``BENCH_CONCURRENCY`` at a time,
each a flow run) and then through the client alone at the same concurrency, on the same
emulator, so that the two ratios share the machine's load.

* ideal: ``rounds * (analysis duration + 2 * latency)``, ``rounds = submissions / concurrency``:
  the submission's answer, the analysis itself, and the report read; the poll that sees the end
  can be in flight while the analysis finishes, so its latency is not added.
* schedule floor: the same with the wait's own schedule (first poll at once, then pauses of
  ``initial * factor**k``, each poll's latency added): what the client alone can reach.
* the same number of submissions in ONE flow run (``submit_and_wait_many``, the same concurrency),
  when the measured code has it: Prefect's per-flow-run work paid once instead of per submission.
* requests to VirusTotal per submission, against ``1 + minimum polls`` (submission + polls).
* Prefect API requests per submission, by kind, and the answers that were 503 (SQLite's "database
  is locked", retried by Prefect's client after ~2 s), and CPU seconds per submission.

The emulator runs in process on the real clock (analyses take ``QUEUED + RUNNING`` seconds), with
a premium key whose quota is large; the credentials block paces at REQUESTS_PER_MINUTE.

``--baseline REF`` measures the pack at ``REF`` (``git archive``) and this tree, each in its own
child process with its own Prefect server and a fresh database, one after the other, ``--rounds
N`` times alternating, and prints them side by side. Without it, this tree only. ``--backend
sqlite`` (default: Prefect's test server on a SQLite file) or ``postgresql`` (a fresh PostgreSQL
from ``tests/postgres.py`` and ``prefect server start`` on it, as in production).
Run under ``nice -n -10`` on a shared machine:
``PREFECT_HOME=$(mktemp -d) .venv/bin/python benchmarks/bench_submit.py [--baseline main] [--rounds 2]
[--backend postgresql]``
(``BENCH_FILES`` / ``BENCH_URLS``, 50 each by default; ``BENCH_CONCURRENCY``, 10). No figure is
asserted anywhere.
"""

from __future__ import annotations

import asyncio
import collections
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
FILES = int(os.environ.get("BENCH_FILES", "50"))
URLS = int(os.environ.get("BENCH_URLS", "50"))
CONCURRENCY = int(os.environ.get("BENCH_CONCURRENCY", "10"))
LATENCY = 0.05
QUEUED, RUNNING = 2.0, 4.0
INITIAL, FACTOR, MAX_INTERVAL = 1.0, 1.15, 60.0
REQUESTS_PER_MINUTE = 6000
KEY = "bench-premium-key"


def minimum_polls(duration: float) -> int:
    """Polls the wait's schedule makes for an analysis that completes after ``duration``."""
    polls, at, interval = 1, 0.0, INITIAL
    while at < duration:
        at += interval
        interval = min(MAX_INTERVAL, interval * FACTOR)
        polls += 1
    return polls


def schedule_floor(duration: float) -> float:
    """Seconds from sending the submission to the report, with the wait's schedule and no overhead.

    The analysis starts when the submission is handled (after one latency); the first poll is
    sent on its answer, each poll is handled one latency after it is sent, and the next is sent
    a pause after the answer.
    """
    started = sent = LATENCY
    interval = INITIAL
    while sent + LATENCY < started + duration:
        sent += LATENCY + interval
        interval = min(MAX_INTERVAL, interval * FACTOR)
    return sent + LATENCY + LATENCY  # the poll that sees the end, then the report


def child(api: str | None) -> dict[str, Any]:
    """Run in a child process: the submissions through the flow, then through the client alone.

    ``api``: a running Prefect server's API URL; None starts Prefect's test server (SQLite).
    """
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
    for name in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
        os.environ.pop(name, None)

    if api is not None:
        os.environ["PREFECT_API_URL"] = api
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    if api is not None:
        with temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
            return asyncio.run(_measure())
    with (
        prefect_test_harness(
            server_startup_timeout=int(os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"])
        ),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        return asyncio.run(_measure())


async def _measure() -> dict[str, Any]:
    import httpx
    import psutil
    from prefect.settings import PREFECT_API_URL
    from pydantic import SecretStr

    import prefect_virustotal
    from prefect_virustotal.blocks import VirusTotalCredentials
    from prefect_virustotal.client import mount_transport
    from prefect_virustotal.emulator import Emulator
    from prefect_virustotal.emulator._scanning import EICAR
    from prefect_virustotal.flows import submit_and_wait

    print(f"[code: {Path(prefect_virustotal.flows.__file__).parent}]", file=sys.stderr, flush=True)
    calls: collections.Counter[str] = collections.Counter()
    unavailable: collections.Counter[str] = collections.Counter()
    netloc = urlsplit(str(PREFECT_API_URL.value())).netloc
    send = httpx.AsyncClient.send

    async def counting(client: httpx.AsyncClient, request: httpx.Request, **kwargs: Any) -> httpx.Response:
        # Every attempt is counted (Prefect's client retries below this); events travel on a
        # websocket and are not.
        response = await send(client, request, **kwargs)
        if counting.on and request.url.netloc.decode() == netloc:  # type: ignore[attr-defined]
            shape = re.sub(r"/[0-9a-f-]{36}|/name/[^/]+", "/{id}", request.url.path.removeprefix("/api"))
            calls[f"{request.method} {shape}"] += 1
            if response.status_code == 503:
                unavailable[f"{request.method} {shape}"] += 1
        return response

    counting.on = False  # type: ignore[attr-defined]
    httpx.AsyncClient.send = counting  # type: ignore[method-assign]

    def cpu_seconds() -> tuple[float, float]:
        me = psutil.Process()
        children = sum(sum(c.cpu_times()[:2]) for c in me.children(recursive=True))
        return sum(me.cpu_times()[:2]), children

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

    def samples(prefix: str) -> list[str]:
        paths = []
        for i in range(FILES):
            path = folder / f"{prefix}-{i}.bin"
            path.write_bytes(f"{prefix} sample {i}\n".encode() * 40 + (EICAR if i % 5 == 0 else b""))
            paths.append(str(path))
        return paths

    gate = asyncio.Semaphore(CONCURRENCY)
    common = {
        "credentials": block,
        "rescan": "always",
        "initial_interval": INITIAL,
        "factor": FACTOR,
        "max_interval": MAX_INTERVAL,
        "timeout": 600.0,
    }

    async def through_prefect(**kwargs: object) -> str:
        async with gate:
            result = await submit_and_wait(**common, **kwargs)  # type: ignore[arg-type]
            return result.verdict

    total = FILES + URLS
    figures: dict[str, Any] = {}

    def vt_figures(records: list[Any]) -> dict[str, float]:
        polls = sum(
            1
            for r in records
            if r.method == "GET" and r.path.startswith("/api/v3/analyses/") and not r.path.endswith("/item")
        )
        submits = sum(1 for r in records if r.method == "POST")
        items = sum(1 for r in records if r.path.endswith("/item"))
        return {
            "vt_requests": len(records) / total,
            "submits": submits / total,
            "polls": polls / total,
            "items": items / total,
            "other": (len(records) - submits - polls - items) / total,
        }

    with mount_transport(emulator.base_url, emulator.transport()):
        await through_prefect(file_bytes=b"warm-up")  # Prefect's first flow run is slow; not measured
        emulator.reset_log()
        uploads_before = emulator.scanning.uploads
        cpu_before = cpu_seconds()
        counting.on = True  # type: ignore[attr-defined]
        start = time.perf_counter()
        verdicts = await asyncio.gather(
            *(through_prefect(file_path=p) for p in samples("flow")),
            *(through_prefect(url=f"http://bench-{i}.example/landing/{i}") for i in range(URLS)),
        )
        figures["wall"] = time.perf_counter() - start
        counting.on = False  # type: ignore[attr-defined]
        cpu_after = cpu_seconds()
        figures["load"] = os.getloadavg()[0]
        figures["verdicts"] = dict(collections.Counter(verdicts))
        figures["uploads"] = emulator.scanning.uploads - uploads_before
        figures.update(vt_figures(list(emulator.requests)))
        figures.update(
            prefect_requests=sum(calls.values()) / total,
            prefect_kinds={k: n / total for k, n in calls.most_common()},
            unavailable={k: n / total for k, n in unavailable.most_common()},
            cpu_process=(cpu_after[0] - cpu_before[0]) / total,
            cpu_server=(cpu_after[1] - cpu_before[1]) / total,
        )

        # The same number of submissions in ONE flow run (submit_and_wait_many), when the
        # measured code has it: each submission's task runs and checkpoints as above.
        many = getattr(prefect_virustotal.flows, "submit_and_wait_many", None)
        if many is not None:
            calls.clear()
            unavailable.clear()
            emulator.reset_log()
            uploads_before = emulator.scanning.uploads
            cpu_before = cpu_seconds()
            counting.on = True  # type: ignore[attr-defined]
            start = time.perf_counter()
            batch = await many(
                file_paths=samples("batch"),
                urls=[f"http://batch-{i}.example/landing/{i}" for i in range(URLS)],
                concurrency=CONCURRENCY,
                **common,
            )
            figures["batch_wall"] = time.perf_counter() - start
            counting.on = False  # type: ignore[attr-defined]
            cpu_after = cpu_seconds()
            figures["batch_summary"] = batch.summary()
            figures["batch_uploads"] = emulator.scanning.uploads - uploads_before
            figures["batch_vt"] = vt_figures(list(emulator.requests))
            figures["batch_prefect_requests"] = sum(calls.values()) / total
            figures["batch_prefect_kinds"] = {k: n / total for k, n in calls.most_common()}
            figures["batch_unavailable"] = {k: n / total for k, n in unavailable.most_common()}
            figures["batch_cpu_process"] = (cpu_after[0] - cpu_before[0]) / total
            figures["batch_cpu_server"] = (cpu_after[1] - cpu_before[1]) / total

        # The same submissions through the client alone, at the same concurrency.
        async with block.get_client() as vt:

            async def through_client(target: str, is_url: bool) -> None:
                async with gate:
                    analysis = await (vt.urls.scan(target) if is_url else vt.files.upload(target))
                    await vt.analyses.wait(
                        analysis.id, initial_interval=INITIAL, factor=FACTOR, max_interval=MAX_INTERVAL
                    )
                    await vt.analyses.get_item(analysis.id)

            client_cpu = cpu_seconds()[0]
            start = time.perf_counter()
            await asyncio.gather(
                *(through_client(p, False) for p in samples("client")),
                *(through_client(f"http://client-{i}.example/x", True) for i in range(URLS)),
            )
            figures["client_wall"] = time.perf_counter() - start
            figures["cpu_client"] = (cpu_seconds()[0] - client_cpu) / total
    httpx.AsyncClient.send = send  # type: ignore[method-assign]
    return figures


def report(label: str, fig: dict[str, Any]) -> None:
    """Print one version's figures."""
    total = FILES + URLS
    duration = QUEUED + RUNNING
    rounds = total / CONCURRENCY
    ideal = rounds * (duration + 2 * LATENCY)
    floor = rounds * schedule_floor(duration)
    print(f"== {label} (load average {fig['load']:.1f} at the end)")
    print(f"   verdicts {fig['verdicts']}, uploads {fig['uploads']}")
    print(
        f"   wall through Prefect {fig['wall']:.1f} s, client alone {fig['client_wall']:.1f} s; ideal "
        f"{ideal:.1f} s, schedule floor {floor:.1f} s"
    )
    print(
        f"   wall/ideal: Prefect {fig['wall'] / ideal:.2f}, client alone {fig['client_wall'] / ideal:.2f} "
        f"(schedule floor {floor / ideal:.2f}); Prefect/client {fig['wall'] / fig['client_wall']:.2f}"
    )
    print(
        f"   VirusTotal requests per submission {fig['vt_requests']:.2f} = submit {fig['submits']:.2f} + "
        f"polls {fig['polls']:.2f} + report {fig['items']:.2f} + other {fig['other']:.2f} (target "
        f"1 + minimum polls = {1 + minimum_polls(duration)}, plus the report)"
    )
    kinds = " + ".join(f"{k} {n:.2f}" for k, n in fig["prefect_kinds"].items())
    print(f"   Prefect API requests per submission {fig['prefect_requests']:.2f} = {kinds}")
    busy = " + ".join(f"{k} {n:.2f}" for k, n in fig["unavailable"].items()) or "none"
    print(f"   of which answered 503 (retried after ~2 s by Prefect's client): {busy}")
    if "batch_wall" in fig:
        vt = fig["batch_vt"]
        print(
            f"   ONE flow run for all (submit_and_wait_many, concurrency {CONCURRENCY}): wall "
            f"{fig['batch_wall']:.1f} s = {fig['batch_wall'] / ideal:.2f} x ideal "
            f"({fig['batch_wall'] / fig['client_wall']:.2f} x client alone); {fig['batch_summary']}, "
            f"uploads {fig['batch_uploads']}"
        )
        print(
            f"     VirusTotal requests per submission {vt['vt_requests']:.2f} = submit {vt['submits']:.2f} "
            f"+ polls {vt['polls']:.2f} + report {vt['items']:.2f} + other {vt['other']:.2f}"
        )
        kinds = " + ".join(f"{k} {n:.2f}" for k, n in fig["batch_prefect_kinds"].items())
        print(f"     Prefect API requests per submission {fig['batch_prefect_requests']:.2f} = {kinds}")
        busy = " + ".join(f"{k} {n:.2f}" for k, n in fig["batch_unavailable"].items()) or "none"
        print(f"     of which answered 503: {busy}")
        print(
            f"     CPU s per submission: this process {fig['batch_cpu_process']:.3f}, Prefect's server "
            f"{fig['batch_cpu_server']:.3f}"
        )
    print(
        f"   CPU s per submission: this process {fig['cpu_process']:.3f}, Prefect's server "
        f"{fig['cpu_server']:.3f} (0 when not this child's: --backend postgresql); the client alone "
        f"{fig.get('cpu_client', float('nan')):.3f}"
    )


def run_child(code: Path | None, backend: str) -> dict[str, Any]:
    """One measurement in a child process, importing the pack from ``code`` (this tree if None).

    ``sqlite``: the child starts Prefect's test server (a fresh SQLite file). ``postgresql``: a
    fresh PostgreSQL and a ``prefect server start`` on it (``bench_backends.prefect_server``).
    """
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PREFECT_HOME"] = tempfile.mkdtemp(prefix="bench-submit-home-")
    if code is not None:
        env["PYTHONPATH"] = str(code)
    with ExitStack() as stack:
        command = [sys.executable, __file__, "--child"]
        if backend == "postgresql":
            sys.path.insert(0, str(ROOT))
            sys.path.insert(0, str(ROOT / "benchmarks"))
            from bench_backends import prefect_server

            from tests.postgres import postgres_server

            command.append(
                stack.enter_context(prefect_server(stack.enter_context(postgres_server(fast=False))))
            )
        result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    sys.stderr.write(
        "\n".join(line for line in result.stderr.splitlines() if line.startswith("[code")) + "\n"
    )
    if result.returncode != 0:
        raise SystemExit(f"child failed ({result.returncode}):\n{result.stderr[-4000:]}")
    figures: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return figures


def option(name: str, default: str | None) -> str | None:
    return sys.argv[sys.argv.index(name) + 1] if name in sys.argv else default


def main() -> None:
    ref = option("--baseline", None)
    rounds = int(option("--rounds", "1") or 1)
    backend = option("--backend", "sqlite") or "sqlite"
    duration = QUEUED + RUNNING
    print(
        f"submissions: {FILES + URLS} ({FILES} files, {URLS} URLs), concurrency {CONCURRENCY}, latency "
        f"{LATENCY * 1000:.0f} ms, analysis {duration:.0f} s, schedule {INITIAL:g} s x{FACTOR:g}; "
        f"{os.cpu_count()} cores; Prefect server on {backend}",
        flush=True,
    )
    versions: list[tuple[str, Path | None]] = [("current", None)]
    if ref is not None:
        sys.path.insert(0, str(ROOT / "benchmarks"))
        from bench_alerts_overhead import baseline_tree

        revision = subprocess.run(
            ["git", "rev-parse", "--short", ref], cwd=ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        versions.insert(0, (f"baseline {ref} ({revision})", baseline_tree(ref)))
    results: dict[str, list[dict[str, Any]]] = collections.defaultdict(list)
    for n in range(rounds):
        for label, code in versions:
            figures = run_child(code, backend)
            results[label].append(figures)
            report(f"{label}, round {n + 1}", figures)
            sys.stdout.flush()
    if ref is not None:
        ideal = (FILES + URLS) / CONCURRENCY * (duration + 2 * LATENCY)
        (before_label, _), (after_label, _) = versions
        print("side by side (mean over rounds): before -> after")
        for key, name in (
            ("wall", "wall/ideal through Prefect, a flow run per submission"),
            ("batch_wall", "wall/ideal through Prefect, one flow run for all"),
            ("client_wall", "wall/ideal client alone"),
        ):
            shown = []
            for label in (before_label, after_label):
                walls = [f[key] for f in results[label] if key in f]
                shown.append(f"{sum(walls) / rounds / ideal:.2f}" if len(walls) == rounds else "n/a")
            print(f"   {name}: {shown[0]} -> {shown[1]}")
        for key, name in (
            ("vt_requests", "VirusTotal requests per submission"),
            ("prefect_requests", "Prefect API requests per submission"),
            ("cpu_process", "CPU s per submission, this process"),
            ("cpu_server", "CPU s per submission, Prefect's server"),
        ):
            before = sum(f[key] for f in results[before_label]) / rounds
            after = sum(f[key] for f in results[after_label]) / rounds
            print(f"   {name}: {before:.3f} -> {after:.3f}")


if __name__ == "__main__":
    if "--child" in sys.argv:
        at = sys.argv.index("--child")
        print(json.dumps(child(sys.argv[at + 1] if len(sys.argv) > at + 1 else None)))
    else:
        main()
