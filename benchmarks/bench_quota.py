"""Quota utilisation: one key, 1-3 concurrent runs, paced by a Prefect global concurrency limit.

Prints achieved requests per minute / the key's per-minute quota (and the 429s the emulator
answered) for 1, 2 and 3 concurrent runs, each run a separate process (as a process worker
runs each flow run), for two pacers measured in the same run:

- ``batched``: ``PrefectRateLimiter`` (the pack's: batches of slots, read-then-take);
- ``plain``: ``prefect.concurrency.asyncio.rate_limit(name, occupy=1, strict=True)`` per
  request, on a limit of one slot per request with the same burst (the batch) and the
  nominal decay ``quota / 60`` (more generous than the pack's guarded decay).

Usage: ``python benchmarks/bench_quota.py [--quota 360] [--seconds 30]``. Uses the server
in ``PREFECT_API_URL`` if set, else starts Prefect's test server. Each measurement uses its
own emulator key, so quota windows of one measurement never leak into the next.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Sequence
from contextlib import ExitStack, suppress
from pathlib import Path

WARMUP = 5.0
INDICATORS = ["8.8.8.8", "1.1.1.1", "example.com", "9.9.9.9", "example.org"]


async def _run(args: argparse.Namespace) -> None:
    """One "flow run": look indicators up until the deadline, paced by the chosen limiter."""
    from prefect.concurrency.asyncio import rate_limit

    from prefect_virustotal.blocks import PrefectRateLimiter
    from prefect_virustotal.client import NotFoundError, VirusTotalClient

    class PlainLimiter:
        async def acquire(self) -> None:
            await rate_limit(args.limit_name, occupy=1, strict=True)

    limiter = PrefectRateLimiter(args.limit_name) if args.mode == "batched" else PlainLimiter()
    end = args.start_at + args.seconds
    await asyncio.sleep(max(0.0, args.start_at - time.time()))
    async with VirusTotalClient(args.key, base_url=args.base_url, limiter=limiter) as vt:

        async def loop(i: int) -> None:
            n = i
            while time.time() < end:
                n += 1
                with suppress(NotFoundError):
                    await vt.ip_addresses.get(f"10.{i}.{n // 250 % 250}.{n % 250 + 1}")

        await asyncio.gather(*(loop(i) for i in range(8)))


def _rate(times: list[float], start: float, end: float) -> float:
    """Requests per minute from the first burst after ``start`` to the start of the last
    before ``end`` (requests leave in bursts, one per batch; whole bursts, whatever the edges)."""
    bursts: list[list[float]] = []
    for t in sorted(times):
        if bursts and t - bursts[-1][-1] < 0.3:
            bursts[-1].append(t)
        else:
            bursts.append([t])
    inside = [b for b in bursts if start <= b[0] <= end]
    if len(inside) < 4:  # no batches (plain pacing is continuous): count the window
        return sum(1 for t in times if start <= t < end) * 60.0 / (end - start)
    return sum(len(b) for b in inside[:-1]) * 60.0 / (inside[-1][0] - inside[0][0])


def _measure(mode: str, runs: int, quota: int, seconds: float, emulator: object, base_url: str) -> str:
    """Start ``runs`` processes with one fresh key and limit; return the result line."""
    from prefect.client.orchestration import get_client

    from prefect_virustotal.blocks import rate_limit_settings
    from prefect_virustotal.blocks._ratelimit import SLOTS_PER_REQUEST

    key = f"bench-{mode}-{runs}-{time.monotonic_ns()}"
    emulator.add_key(key, tier="premium", per_minute=quota)  # type: ignore[attr-defined]
    limit_name = f"bench-{mode}-{runs}-{os.getpid()}"
    limit, decay = rate_limit_settings(quota)
    if mode == "plain":  # one slot per request, the same burst, Prefect's nominal rate
        limit, decay = max(1, limit // SLOTS_PER_REQUEST - 1), quota / 60.0

    async def create() -> None:
        async with get_client() as client:
            await client.upsert_global_concurrency_limit_by_name(limit_name, limit, decay)

    asyncio.run(create())
    start_at = time.time() + 12.0  # every process imported and waiting
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--run",
                "--mode",
                mode,
                "--key",
                key,
                "--limit-name",
                limit_name,
                "--base-url",
                base_url,
                "--start-at",
                str(start_at),
                "--seconds",
                str(seconds),
            ],
        )
        for _ in range(runs)
    ]
    for proc in procs:
        proc.wait(timeout=seconds + 120)
    records = [r for r in emulator.requests if r.api_key == key]  # type: ignore[attr-defined]
    refused = sum(1 for r in records if r.status == 429)
    per_minute = _rate([r.time for r in records if r.status != 429], start_at + WARMUP, start_at + seconds)
    return (
        f"{mode:8s} runs={runs}  {per_minute:6.1f}/min of {quota}/min = {per_minute / quota:6.1%}"
        f"   429s={refused}"
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quota", type=int, default=360, help="the key's per-minute quota")
    parser.add_argument("--seconds", type=float, default=30.0, help="measurement window per case")
    parser.add_argument("--runs", default="1,2,3", help="concurrent runs to measure")
    parser.add_argument("--modes", default="batched,plain")
    parser.add_argument("--run", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--mode", help=argparse.SUPPRESS)
    parser.add_argument("--key", help=argparse.SUPPRESS)
    parser.add_argument("--limit-name", help=argparse.SUPPRESS)
    parser.add_argument("--base-url", help=argparse.SUPPRESS)
    parser.add_argument("--start-at", type=float, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.run:
        asyncio.run(_run(args))
        return 0

    os.environ.setdefault("DO_NOT_TRACK", "1")
    os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
    os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
    from prefect.settings import PREFECT_API_URL

    from prefect_virustotal.emulator import Emulator
    from prefect_virustotal.emulator._server import serve_in_thread

    with ExitStack() as stack:
        if not os.environ.get("PREFECT_API_URL"):
            from prefect.testing.utilities import prefect_test_harness

            stack.enter_context(prefect_test_harness(server_startup_timeout=120))
            os.environ["PREFECT_API_URL"] = str(PREFECT_API_URL.value())
        emulator = Emulator(seed=0)
        base_url = stack.enter_context(serve_in_thread(emulator))
        print(
            f"{Path(__file__).name}: quota {args.quota}/min, {args.seconds:.0f}s per case, "
            f"{WARMUP:.0f}s warm-up"
        )
        for runs in (int(n) for n in args.runs.split(",")):
            for mode in args.modes.split(","):
                print(_measure(mode, runs, args.quota, args.seconds, emulator, base_url), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
