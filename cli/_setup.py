"""Set up a Prefect server for prefect-virustotal: blocks, the shared quota, the work pool.

Run it against a running server (``PREFECT_API_URL`` set), from anywhere::

    VT_API_KEY=... prefect-virustotal setup --requests-per-minute 4
    VT_API_KEY=... python deployments/setup.py --requests-per-minute 4   # the same

It is idempotent; run it again to change the quota or to rotate the key. In order it

1. registers the pack's block types (as ``prefect block register -m prefect_virustotal.blocks``);
2. saves the credentials block (``--block-name``, default ``virustotal``) from the
   environment variable ``VT_API_KEY``, which is never printed, with ``rate_limit_name``
   pointing at the limit below;
3. creates or updates the global concurrency limit ``virustotal-<block name>`` that carries
   the key's per-minute quota for every flow run on every worker (see
   ``prefect_virustotal.blocks.rate_limit_settings`` for its ``limit`` and decay);
4. creates the process work pool (``--work-pool``, default ``virustotal-process``) if missing.

Environment: ``VT_API_KEY`` (required), ``VT_BASE_URL`` (optional, e.g. the emulator's
``http://127.0.0.1:8080/api/v3``), ``VT_REQUESTS_PER_MINUTE`` (optional).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists
from pydantic import SecretStr

from prefect_virustotal.blocks import VirusTotalCredentials, rate_limit_name_for, rate_limit_settings
from prefect_virustotal.client import DEFAULT_BASE_URL

DEFAULT_WORK_POOL = "virustotal-process"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python deployments/setup.py",
        description="Register blocks, save the VirusTotal credentials from VT_API_KEY, create the "
        "shared quota (a global concurrency limit) and the process work pool.",
    )
    parser.add_argument("--block-name", default="virustotal", help="credentials block name")
    parser.add_argument(
        "--base-url",
        default=os.environ.get("VT_BASE_URL", DEFAULT_BASE_URL),
        help="API root (default: $VT_BASE_URL or the real API)",
    )
    parser.add_argument(
        "--requests-per-minute",
        type=int,
        default=int(os.environ.get("VT_REQUESTS_PER_MINUTE", "4")),
        help="the key's per-minute quota (default: $VT_REQUESTS_PER_MINUTE or 4, a public key)",
    )
    parser.add_argument(
        "--batch", type=int, default=None, help="slots taken per server round trip (default: quota / 15)"
    )
    parser.add_argument(
        "--daily-reserve",
        type=int,
        default=None,
        help="requests per day kept for incident response; routine runs that would eat into them fail",
    )
    parser.add_argument("--work-pool", default=DEFAULT_WORK_POOL, help="process work pool name")
    return parser


async def setup(args: argparse.Namespace, api_key: str) -> None:
    """Do the four steps (see the module docstring)."""
    await VirusTotalCredentials.aregister_type_and_schema()
    print("registered block type: virustotal-credentials")

    limit_name = rate_limit_name_for(args.block_name)
    block = VirusTotalCredentials(
        api_key=SecretStr(api_key),
        base_url=args.base_url,
        requests_per_minute=args.requests_per_minute,
        daily_budget=None,  # the shared limit and the daily reserve guard the day instead
        rate_limit_name=limit_name,
        daily_reserve=args.daily_reserve,
    )
    await block.asave(args.block_name, overwrite=True)
    print(f"saved credentials block {args.block_name!r} (base URL {block.base_url}; key from VT_API_KEY)")

    limit, decay = rate_limit_settings(args.requests_per_minute, args.batch)
    async with get_client() as client:
        await client.upsert_global_concurrency_limit_by_name(limit_name, limit, slot_decay_per_second=decay)
        print(
            f"global concurrency limit {limit_name!r}: limit {limit}, decay {decay:.2f}/s in hundredths "
            f"of a request (quota {args.requests_per_minute}/min)"
        )

        from prefect.workers.process import ProcessWorker

        template = ProcessWorker.get_default_base_job_template()
        try:
            await client.create_work_pool(
                WorkPoolCreate(name=args.work_pool, type="process", base_job_template=template)
            )
            print(f"created process work pool {args.work_pool!r}")
        except ObjectAlreadyExists:
            print(f"process work pool {args.work_pool!r} exists")


def main(argv: Sequence[str] | None = None) -> int:
    """Run the set-up; returns the exit status."""
    args = _parser().parse_args(argv)
    api_key = os.environ.get("VT_API_KEY", "").strip()
    if not api_key:
        print("VT_API_KEY is not set: export the VirusTotal API key first", file=sys.stderr)
        return 2
    if args.requests_per_minute < 1:
        print("--requests-per-minute must be at least 1", file=sys.stderr)
        return 2
    asyncio.run(setup(args, api_key))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
