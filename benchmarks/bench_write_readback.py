"""What reading back an uncertain write costs: requests per write at a 20 % fault rate.

Each round makes the three writes a runbook makes once (an upload, a retrohunt job, a
collection) with the real client over the emulator's in-process transport, on a fake clock, one
fresh emulator per round, with one fault kind switched on at a 20 % rate over every request.
Counted per round: requests sent, and among them the read-backs' requests and the resends; the
fault-free round is the baseline (one request per write). Writes that still failed, typed,
after their three attempts (or whose read-back failed) are counted too.

Measured (200 rounds per row = 600 writes, seeds 0-199, 2 cores shared with other test runs;
means per round of three writes; fault-free = 3.00 requests):

================== ======== ========== ================== ======= ====================
fault (20 %)       requests read-backs read-back requests resends failed (of 600 writes)
================== ======== ========== ================== ======= ====================
none                   3.00       0.00               0.00    0.00                    0
transient (503)        3.74       0.00               0.00    0.74                    7
drop after commit      4.31       0.59               1.31    0.00                    1
drop before commit     4.87       0.70               1.20    0.68                    5
truncate               4.31       0.59               1.31    0.00                    1
non_json (502)         4.87       0.70               1.20    0.68                    5
================== ======== ========== ================== ======= ====================

At a 20 % rate an answer is lost on about one write in five; resolving it costs about two read
requests (the upload's report by hash and its analysis; the job listing; the user and their
collections): 1.2-1.3 read-back requests per round of three writes, 0.4 per write. A write that
had not arrived costs one more send on top. The writes that still failed (typed, nothing written
twice) met the caps: three 503s in a row on one write (0.8 % at 20 %), or a read-back whose own
GET was dropped four times in a row. Before this change every one of those rounds failed at the
first fault on a write.

Run: ``.venv/bin/python benchmarks/bench_write_readback.py [rounds]``
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from typing import Any

from prefect_virustotal.client import RetryPolicy, VirusTotalClient, VirusTotalError
from prefect_virustotal.emulator import Emulator, FakeClock, World

KEY = "bench-premium-key"
RULES = 'rule bench { strings: $a = "bench-readback-marker" condition: $a }'
FAULTS: dict[str, dict[str, Any]] = {
    "none": {},
    "transient (503)": {"kind": "transient"},
    "drop after commit": {"kind": "drop", "after_processing": True},
    "drop before commit": {"kind": "drop"},
    "truncate": {"kind": "truncate"},
    "non_json (502)": {"kind": "non_json"},
}


async def one_round(world: World, fault: dict[str, Any], seed: int) -> tuple[int, int, int, int, int]:
    """(requests, read-backs, read-back requests, resends, failed writes) of one round."""
    clock = FakeClock()
    emulator = Emulator(seed=seed, clock=clock, world=world)
    emulator.add_key(KEY, tier="premium")
    if fault:
        emulator.faults.add(fault["kind"], rate=0.2, after_processing=fault.get("after_processing", False))
    retry = RetryPolicy(initial_delay=0.01, max_delay=0.05, quota_delay=0.05)
    failed = 0
    async with VirusTotalClient(
        KEY, base_url=emulator.base_url, transport=emulator.transport(), clock=clock, retry=retry
    ) as vt:
        writes = (
            lambda: vt.files.upload(f"bench sample {uuid.uuid4().hex}".encode()),
            lambda: vt.retrohunt.create(RULES, validate=False),
            lambda: vt.collections.create(f"bench {uuid.uuid4().hex[:8]}"),
        )
        for write in writes:
            try:
                await write()
            except VirusTotalError:
                failed += 1
        return vt.request_count, vt.read_backs, vt.read_back_requests, vt.write_resends, failed


async def main(rounds: int) -> None:
    world = World(0)
    print(f"{'fault (20 %)':<20} requests read-backs read-back-requests resends failed")
    for name, fault in FAULTS.items():
        totals = [0, 0, 0, 0, 0]
        for seed in range(rounds):
            for i, value in enumerate(await one_round(world, fault, seed)):
                totals[i] += value
        requests, backs, back_requests, resends, failed = totals
        print(
            f"{name:<20} {requests / rounds:8.2f} {backs / rounds:10.2f} {back_requests / rounds:18.2f}"
            f" {resends / rounds:7.2f} {failed:6d}"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 200))
