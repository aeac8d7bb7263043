"""Waiting for an analysis: this pack's client against the official vt-py, side by side.

Three emulators on loopback, one per analysis duration (30, 60 and 120 s, split queued/running
as the emulator's default 5 + 25 s), each serving both clients at once with a premium key of
its own: ``FILES`` files uploaded and awaited through this pack's client alone
(``files.upload`` then ``analyses.wait`` with its defaults, the client's limiter at the key's
1,000 requests a minute) and ``FILES`` through vt-py (``scan_file_async(wait_for_completion=
True)``, which polls every 20 s), plus ``FILES`` through this client with the schedule it had
before (5 s growing by 1.5, ``factor=1.5``), and ``FILES`` private scans through each client
(``private.upload`` then ``analyses.wait(private=True)``, which reads the sandboxes' progress;
vt-py's ``scan_file_private_async``). Everything runs on the real clock, all durations at
once (about 2.5 minutes): the emulator has no time scale, and vt-py's pause is a plain
``asyncio.sleep``.

Prints, per duration and client: the mean time from before the upload to the analysis'
completion over its duration, the worst, the same from the upload's answer (the wait alone: a
loaded machine makes uploads slow, which is not the wait's doing), and the polls per file
(``GET /analyses/{id}`` or ``/private/analyses/{id}``). No figure is asserted.
Run: ``.venv/bin/python benchmarks/bench_wait.py`` (``BENCH_WAIT_DURATIONS=45,90`` for others).
"""

from __future__ import annotations

import asyncio
import io
import os
import statistics
import sys
import time

import vt

from prefect_virustotal.client import LocalRateLimiter, VirusTotalClient
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.emulator._server import base_url_for, bind, make_server

# Durations on vt-py's 20 s grid favour it (a poll lands on the end); BENCH_WAIT_DURATIONS=45,90
# shows the other case.
DURATIONS = tuple(float(d) for d in os.environ.get("BENCH_WAIT_DURATIONS", "30,60,120").split(","))
FILES = 5
RPM = 1000
OURS, THEIRS = "bench-wait-pack-key-0123456789", "bench-wait-vtpy-key-0123456789"
OLD = "bench-wait-old-schedule-key-0123456789"  # the schedule before: 5 s growing by 1.5
PRIVATE_OURS, PRIVATE_THEIRS = "bench-wait-pack-private-key-0123", "bench-wait-vtpy-private-key-0123"


async def ours(
    base_url: str, content: bytes, factor: float | None = None, private: bool = False
) -> tuple[float, float]:
    """Seconds from before the upload, and from its answer (when the analysis starts), to the end."""
    key = PRIVATE_OURS if private else OURS if factor is None else OLD
    async with VirusTotalClient(key, base_url=base_url, limiter=LocalRateLimiter(RPM)) as client:
        start = time.perf_counter()
        analysis = await (client.private.upload(content) if private else client.files.upload(content))
        submitted = time.perf_counter()
        # A private analysis reports its sandboxes' progress: the wait uses it to look at the end.
        done = await client.analyses.wait(analysis.id, factor=factor, private=private)
        assert done.attributes.completed
        return time.perf_counter() - start, time.perf_counter() - submitted


async def theirs(host: str, content: bytes, private: bool = False) -> tuple[float, float]:
    async with vt.Client(PRIVATE_THEIRS if private else THEIRS, host=host) as client:
        start = time.perf_counter()
        file = io.BytesIO(content)
        file.name = "sample.bin"
        scan = client.scan_file_private_async if private else client.scan_file_async
        analysis = await scan(file)
        submitted = time.perf_counter()
        done = await client.wait_for_analysis_completion(analysis, private_path=private)
        assert done.status == "completed"
        return time.perf_counter() - start, time.perf_counter() - submitted


async def one_duration(duration: float) -> dict[str, tuple[list[tuple[float, float]], float]]:
    emulator = Emulator(seed=3)
    for key in (OURS, THEIRS, OLD, PRIVATE_OURS, PRIVATE_THEIRS):
        emulator.add_key(key, tier="premium", per_minute=RPM, per_day=1_000_000)
    emulator.scanning.set_durations(queued=duration / 6, running=duration * 5 / 6)
    sock = bind("127.0.0.1", 0)
    emulator.base_url = base_url_for(sock)
    server = make_server(emulator, quiet=True)
    serving = asyncio.create_task(server.serve(sockets=[sock]))
    while not server.started:  # noqa: ASYNC110 - uvicorn has a flag for this, not an event
        await asyncio.sleep(0.05)
    host = emulator.base_url.removesuffix("/api/v3")
    try:
        waits = await asyncio.gather(
            *(ours(emulator.base_url, f"pack {duration} {i}\n".encode() * 64) for i in range(FILES)),
            *(theirs(host, f"vt-py {duration} {i}\n".encode() * 64) for i in range(FILES)),
            *(ours(emulator.base_url, f"old {duration} {i}\n".encode() * 64, 1.5) for i in range(FILES)),
            *(
                ours(emulator.base_url, f"p {duration} {i}\n".encode() * 64, private=True)
                for i in range(FILES)
            ),
            *(theirs(host, f"vp {duration} {i}\n".encode() * 64, private=True) for i in range(FILES)),
        )
    finally:
        server.should_exit = True
        await serving
        sock.close()
    polls = {
        key: sum(
            1
            for r in emulator.requests
            if r.api_key == key
            and r.method == "GET"
            and r.path.startswith(("/api/v3/analyses/", "/api/v3/private/analyses/"))
        )
        / FILES
        for key in (OURS, THEIRS, OLD, PRIVATE_OURS, PRIVATE_THEIRS)
    }
    return {
        "pack client": (list(waits[:FILES]), polls[OURS]),
        "vt-py": (list(waits[FILES : 2 * FILES]), polls[THEIRS]),
        "pack, before": (list(waits[2 * FILES : 3 * FILES]), polls[OLD]),
        "pack private": (list(waits[3 * FILES : 4 * FILES]), polls[PRIVATE_OURS]),
        "vt-py private": (list(waits[4 * FILES :]), polls[PRIVATE_THEIRS]),
    }


async def main() -> None:
    results = await asyncio.gather(*(one_duration(d) for d in DURATIONS))
    print(
        f"{FILES} files per client and duration, premium keys ({RPM}/min), emulator on loopback, real clock"
    )
    print("from before the upload (upload included), and from its answer (the wait alone):")
    print(
        f"{'analysis':>8}  {'client':<13} {'mean':>7} {'/duration':>9} {'worst':>6}   "
        f"{'wait alone':>10} {'/duration':>9} {'worst':>6} {'polls/file':>10}"
    )
    for duration, result in zip(DURATIONS, results, strict=True):
        for name, (times, polls) in result.items():
            whole, alone = [t[0] for t in times], [t[1] for t in times]
            print(
                f"{duration:7.0f}s  {name:<13} {statistics.mean(whole):6.1f}s "
                f"{statistics.mean(whole) / duration:8.2f}x {max(whole) / duration:5.2f}x   "
                f"{statistics.mean(alone):9.1f}s {statistics.mean(alone) / duration:8.2f}x "
                f"{max(alone) / duration:5.2f}x {polls:10.1f}"
            )
        alone_mean = {name: statistics.mean(t[1] for t in times) for name, (times, _) in result.items()}
        public = alone_mean["pack client"] / alone_mean["vt-py"]
        private = alone_mean["pack private"] / alone_mean["vt-py private"]
        print(f"{duration:7.0f}s  pack / vt-py, the wait alone: public {public:.2f}, private {private:.2f}")


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
