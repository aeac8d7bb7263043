"""``make demo``: enrich the bundled sample ticket against the in-process emulator.

No key, no network, no server to start: the emulator runs inside this process and
Prefect uses its embedded ephemeral server. Everything shown is emulated fiction.
"""

from __future__ import annotations

import asyncio
import sys
import time
from pathlib import Path

from pydantic import SecretStr

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import mount_transport
from prefect_virustotal.emulator import PREMIUM_DEMO_KEY, Emulator
from prefect_virustotal.flows import EMULATED_BANNER, enrich_iocs

HERE = Path(__file__).resolve().parent
TICKET = HERE / "ticket.txt"
OUT = HERE / "out"


def _table(rows: list[dict[str, str]]) -> str:
    columns = ["indicator", "type", "verdict", "detections", "reason"]
    widths = {c: min(60, max(len(c), *(len(r[c]) for r in rows))) for c in columns}
    lines = ["  ".join(c.upper().ljust(widths[c]) for c in columns)]
    for row in rows:
        lines.append("  ".join(row[c][: widths[c]].ljust(widths[c]) for c in columns))
    return "\n".join(lines)


async def main() -> int:
    started = time.monotonic()
    emulator = Emulator(seed=0)
    credentials = VirusTotalCredentials(
        api_key=SecretStr(PREMIUM_DEMO_KEY),
        base_url=emulator.base_url,
        requests_per_minute=1000,
        daily_budget=None,
    )
    text = TICKET.read_text()
    print(f"{EMULATED_BANNER}\n")
    print(f"Ticket: {TICKET.relative_to(Path.cwd()) if TICKET.is_relative_to(Path.cwd()) else TICKET}")
    print("Starting Prefect (embedded server) and the emulator in this process...\n")
    with mount_transport(emulator.base_url, emulator.transport()):
        report = await enrich_iocs(text=text, credentials=credentials)
    rows = report.rows()
    table = _table(rows)
    print(table)
    print(f"\nSummary: {report.summary}")
    OUT.mkdir(exist_ok=True)
    out_file = OUT / "enrichment.md"
    out_file.write_text(
        f"> {EMULATED_BANNER}\n\n| "
        + " | ".join(rows[0])
        + " |\n|"
        + "---|" * len(rows[0])
        + "\n"
        + "\n".join("| " + " | ".join(r.values()) + " |" for r in rows)
        + "\n"
    )
    print(
        f"\nReport written to {out_file}; the table is also a Prefect artifact "
        f"('virustotal-enrichment'). Took {time.monotonic() - started:.0f}s."
    )
    print(f"\n{EMULATED_BANNER}")
    return 0


if __name__ == "__main__":
    sys.exit(asyncio.run(main()))
