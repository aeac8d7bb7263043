"""``make demo``: the triage runbook on the bundled sample incident, against the emulator.

No key, no network, no server to start: the emulator runs inside this process and Prefect
uses its embedded ephemeral server. Everything shown is emulated fiction.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from prefect_virustotal.cli import emulator_credentials
from prefect_virustotal.client import mount_transport
from prefect_virustotal.core import EMULATED_BANNER
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import triage

HERE = Path(__file__).resolve().parent
TICKET = HERE / "ticket.txt"
SAMPLES = sorted((HERE / "samples").iterdir())
OUT = HERE / "out"


async def main() -> int:
    started = time.monotonic()
    emulator = Emulator(seed=0)
    emulator.scanning.set_durations(queued=2, running=3)  # seconds on the emulator's clock
    credentials = emulator_credentials(emulator.base_url)
    OUT.mkdir(exist_ok=True)
    report_file = OUT / "triage-report.md"
    print(f"{EMULATED_BANNER}\n")
    print(f"Incident ticket: {TICKET}")
    for sample in SAMPLES:
        print(f"Attached file:   {sample}")
    print("\nRunning the triage runbook (Prefect's embedded server and the emulator, in this process)...\n")
    with mount_transport(emulator.base_url, emulator.transport()):
        report = await triage(
            "INC-2026-1127",
            text=TICKET.read_text(),
            files=[str(sample) for sample in SAMPLES],
            credentials=credentials,
            expand_budget=12,
            report_path=str(report_file),
        )
    print(report.markdown)
    print(f"Summary verdict: {report.summary_verdict.upper()}  {report.counts}")
    print(f"\nThe report is in {report_file}")
    print("It is also a Prefect artifact ('virustotal-triage-inc-2026-1127'), and the run emitted the")
    print(f"event 'virustotal.triage.completed'. Took {time.monotonic() - started:.0f}s.")
    print(f"\n{EMULATED_BANNER}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
