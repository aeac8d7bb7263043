"""Memory and time of a large ``lookup --file`` feed: N indicators against 1,000, same process.

The batch goes chunk by chunk (``core.enrich_in_chunks`` with ``core.enrich_chunk``, what
``enrich_iocs`` and the command line run) and its rows keep the assessment, not the reports,
so the peak should be set by one chunk plus the slim rows, not by N reports.

The emulator runs in process (``httpx.ASGITransport``), with a premium key and no pacing; the
feed is mostly unknown hashes and domains, with one known domain in 50. Peak Python memory is
measured with tracemalloc (which slows everything about 2x), from after the emulator and the
feed are built; the figures printed are each peak (and per indicator), what the result still
holds once the run is over (per row: the rows' own cost, the feed's strings aside), the ratio
of the two peaks, and wall time per indicator.

Run: ``.venv/bin/python benchmarks/bench_feed.py [N ...] [--chunk-size SIZE] [--offline]`` (N
defaults to 100,000; the baseline, 1,000, is measured first in the same run). ``--offline``
answers every lookup "not found" without the emulator: the rows and the chunking alone.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import time
import tracemalloc
from collections.abc import Awaitable, Callable
from functools import partial

from prefect_virustotal.client import VirusTotalClient, parse_indicator
from prefect_virustotal.core import (
    DEFAULT_CHUNK_SIZE,
    EnrichmentReport,
    LookupResult,
    LookupStatus,
    enrich_chunk,
    enrich_in_chunks,
    enrich_results,
    vt_link,
)
from prefect_virustotal.emulator import Emulator

KEY = "bench-feed-key"


def feed(emulator: Emulator, n: int) -> list[str]:
    """``n`` indicators: one known domain in 50, the rest unknown hashes and domains."""
    known = [emulator.world.pick("domain", index=i) for i in range(20)]
    out = []
    for i in range(n):
        if i % 50 == 0:
            out.append(known[i % len(known)])
        elif i % 2:
            out.append(f"{i:064x}")
        else:
            out.append(f"unknown-{i}.example.org")
    return out


async def measure(n: int, chunk_size: int) -> tuple[float, float, EnrichmentReport]:
    """(peak MB, seconds, the result) of enriching ``n`` indicators; tracemalloc is running."""
    emulator = Emulator(seed=0)
    emulator.add_key(KEY, tier="premium", per_minute=10**9, per_day=10**9, per_month=10**9)
    indicators = feed(emulator, n)
    async with VirusTotalClient(KEY, base_url=emulator.base_url, transport=emulator.transport()) as vt:

        async def enrich(chunk: list[str]) -> EnrichmentReport:
            return await enrich_chunk(vt, chunk, concurrency=16)

        # Warm-up (imports, the emulator's world and indexes), not measured.
        await enrich_in_chunks(enrich, indicators[:50], chunk_size=chunk_size)
        peak, elapsed, report = await timed(enrich_in_chunks(enrich, indicators, chunk_size=chunk_size))
    assert len(report.items) == n
    return peak, elapsed, report


async def timed(run: Awaitable[EnrichmentReport]) -> tuple[float, float, EnrichmentReport]:
    """(peak MB above the memory held before, seconds, the result) of awaiting ``run``."""
    tracemalloc.reset_peak()
    base, _ = tracemalloc.get_traced_memory()
    start = time.perf_counter()
    report = await run
    elapsed = time.perf_counter() - start
    _, peak = tracemalloc.get_traced_memory()
    return (peak - base) / 1e6, elapsed, report


def not_found(raw: str) -> LookupResult:
    """The row a lookup of ``raw`` gives when VirusTotal has no record (what most of a feed is)."""
    indicator = parse_indicator(raw)
    page = indicator.value if indicator.kind == "url" else indicator.id
    return LookupResult(
        indicator=raw,
        kind=indicator.kind,
        id=indicator.id,
        status=LookupStatus.NOT_FOUND,
        error="VirusTotal has no record of it",
        link=vt_link(indicator.kind, page),
    )


async def measure_offline(n: int, chunk_size: int) -> tuple[float, float, EnrichmentReport]:
    """Like ``measure``, with every lookup answered "not found" without a request: the rows and
    the chunking alone, in seconds rather than the emulator's minutes (a loaded machine)."""
    indicators = feed(Emulator(seed=0), n)

    async def enrich(chunk: list[str]) -> EnrichmentReport:
        return enrich_results([not_found(raw) for raw in chunk], keep_reports=False)

    return await timed(enrich_in_chunks(enrich, indicators, chunk_size=chunk_size))


def held_by(
    run: Callable[[], tuple[float, float, EnrichmentReport]],
) -> tuple[float, float, float, EnrichmentReport]:
    """(peak MB, MB the result still holds once the run is over, seconds, the result) of ``run``:
    the rows and their strings, the emulator and the client gone."""
    gc.collect()
    tracemalloc.start()
    before, _ = tracemalloc.get_traced_memory()
    peak, elapsed, report = run()
    gc.collect()
    held, _ = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak, (held - before) / 1e6, elapsed, report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("n", type=int, nargs="*", default=[100_000], help="feed sizes to measure")
    parser.add_argument("--chunk-size", type=int, default=DEFAULT_CHUNK_SIZE)
    parser.add_argument(
        "--offline",
        action="store_true",
        help="no emulator: every lookup answered 'not found' without a request (rows and chunks only)",
    )
    args = parser.parse_args()
    results = {}
    for n in (1_000, *args.n):
        how = measure_offline if args.offline else measure
        peak, held, elapsed, report = held_by(partial(asyncio.run, how(n, args.chunk_size)))
        results[n] = peak
        print(
            f"{n:>7,} indicators: peak +{peak:.2f} MB ({peak * 1e6 / n:,.0f} bytes per indicator), "
            f"result held +{held:.2f} MB ({held * 1e6 / n:,.0f} bytes per row), {elapsed:.1f} s, "
            f"{elapsed / n * 1e3:.2f} ms per indicator, {report.summary}",
            flush=True,
        )
        del report.items[:]  # the next size is measured without this one's rows
    for n in args.n:
        ratio = results[n] / results[1_000]
        print(f"peak ratio {n:,} / 1,000: {ratio:.2f}x for {n / 1_000:.0f}x the indicators")


if __name__ == "__main__":
    main()
