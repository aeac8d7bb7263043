"""Set up a Prefect server for prefect-virustotal: blocks, the shared quota, the work pool.

Run it against a running server (``PREFECT_API_URL`` set), from anywhere::

    VT_API_KEY=... prefect-virustotal setup --requests-per-minute 4
    VT_API_KEY=... python deployments/setup.py --requests-per-minute 4   # the same

It is idempotent, and it merges: what a flag or an environment variable gives changes,
everything else stays as saved. Rotating the key is ``VT_API_KEY=new prefect-virustotal setup``
(the base URL, the quota and the daily reserve stay); a quota change alone
(``prefect-virustotal setup --requests-per-minute 60``) needs no key. It prints what changed,
old → new (the key only as "replaced"). In order it

1. registers the pack's block types (as ``prefect block register -m prefect_virustotal.blocks``);
2. saves the credentials block (``--block-name``, default ``virustotal``): the key from the
   environment variable ``VT_API_KEY`` (never printed), ``rate_limit_name`` pointing at the
   limit below;
3. creates or updates the global concurrency limit ``virustotal-<block name>`` that carries
   the key's per-minute quota for every flow run on every worker (see
   ``prefect_virustotal.blocks.rate_limit_settings`` for its ``limit`` and decay);
4. creates the process work pool (``--work-pool``, default ``virustotal-process``) if missing.

Environment: ``VT_API_KEY`` (required for a new block), ``VT_BASE_URL`` (optional, e.g. the
emulator's ``http://127.0.0.1:8080/api/v3``), ``VT_REQUESTS_PER_MINUTE`` (optional). A flag
wins over its variable.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Sequence
from typing import Any

from prefect.client.orchestration import get_client
from prefect.client.schemas.actions import WorkPoolCreate
from prefect.exceptions import ObjectAlreadyExists
from pydantic import SecretStr, ValidationError

from prefect_virustotal.blocks import VirusTotalCredentials, rate_limit_name_for, rate_limit_settings

DEFAULT_WORK_POOL = "virustotal-process"
DEFAULT_REQUESTS_PER_MINUTE = 4
"""A new block's minute quota when nothing says otherwise: a public key's."""

_MERGED_FIELDS = ("base_url", "requests_per_minute", "daily_reserve", "rate_limit_name")


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="prefect-virustotal setup",
        description="Register blocks, save the VirusTotal credentials block, create the shared quota "
        "(a global concurrency limit) and the process work pool. Re-running it changes only what a "
        "flag or variable gives: VT_API_KEY rotates the key, VT_BASE_URL or --base-url moves the "
        "endpoint; everything else stays as saved.",
    )
    parser.add_argument(
        "--block-name", default="virustotal", help="credentials block name (default: virustotal)"
    )
    parser.add_argument(
        "--base-url",
        default=None,
        help="API root, e.g. the emulator's http://127.0.0.1:8080/api/v3 (default: $VT_BASE_URL, else "
        "the saved value, else the real API)",
    )
    parser.add_argument(
        "--requests-per-minute",
        type=int,
        default=None,
        help="the key's per-minute quota (default: $VT_REQUESTS_PER_MINUTE, else the saved value, "
        f"else {DEFAULT_REQUESTS_PER_MINUTE}, a public key)",
    )
    parser.add_argument(
        "--batch",
        type=int,
        default=None,
        help="most requests' slots taken per server round trip (default: a third of a second of the quota)",
    )
    parser.add_argument(
        "--guard",
        type=float,
        default=None,
        help="seconds added to the minute, so that a slot may live that long less 0.1 s after it was "
        "asked for (default 1.5, safe for a busy Prefect server; one that answers well within 0.7 s "
        "can take 0.8, each 0.1 s less giving about 0.16 %% more of the quota)",
    )
    parser.add_argument(
        "--daily-reserve",
        type=int,
        default=None,
        help="requests per day kept for incident response; routine runs that would eat into them fail "
        "(default: the saved value, else none)",
    )
    parser.add_argument(
        "--work-pool",
        default=DEFAULT_WORK_POOL,
        help=f"process work pool name (default: {DEFAULT_WORK_POOL})",
    )
    return parser


def _given(args: argparse.Namespace) -> dict[str, Any]:
    """What the flags and the environment ask for (a flag wins over its variable)."""
    given: dict[str, Any] = {}
    base_url = args.base_url or os.environ.get("VT_BASE_URL", "").strip()
    if base_url:
        given["base_url"] = base_url
    rpm = args.requests_per_minute
    if rpm is None and os.environ.get("VT_REQUESTS_PER_MINUTE", "").strip():
        rpm = int(os.environ["VT_REQUESTS_PER_MINUTE"])
    if rpm is not None:
        given["requests_per_minute"] = rpm
    if args.daily_reserve is not None:
        given["daily_reserve"] = args.daily_reserve
    return given


def _shown(value: Any) -> str:
    return "(none)" if value is None else str(value)


async def _saved(name: str) -> VirusTotalCredentials | None:
    try:
        block = await VirusTotalCredentials.aload(name)
    except ValueError:  # no block of that name yet
        return None
    assert isinstance(block, VirusTotalCredentials)
    return block


def merge(
    saved: VirusTotalCredentials | None, given: dict[str, Any], api_key: str | None, limit_name: str
) -> tuple[VirusTotalCredentials, list[str]]:
    """The block to save, and the lines saying what changed (old → new; never the key).

    Fields not given keep their saved values; a new block gets the set-up defaults (no
    per-process daily cap: the shared limit and the daily reserve guard the day instead).
    """
    if saved is None:
        if api_key is None:
            raise ValueError("no key to save")
        values: dict[str, Any] = {
            "requests_per_minute": DEFAULT_REQUESTS_PER_MINUTE,
            "daily_budget": None,
        }
        values |= given
        block = VirusTotalCredentials(api_key=SecretStr(api_key), rate_limit_name=limit_name, **values)
        changes = [f"{field}: {_shown(getattr(block, field))}" for field in _MERGED_FIELDS]
        return block, ["api_key: set from VT_API_KEY", *changes]
    updates = dict(given, rate_limit_name=limit_name)
    if api_key is not None:
        updates["api_key"] = SecretStr(api_key)
    block = VirusTotalCredentials.model_validate(saved.model_dump() | updates)
    changes = []
    if api_key is not None and api_key != saved.api_key.get_secret_value():
        changes.append("api_key: replaced from VT_API_KEY")
    for field in _MERGED_FIELDS:
        old, new = getattr(saved, field), getattr(block, field)
        if old != new:
            changes.append(f"{field}: {_shown(old)} -> {_shown(new)}")
    return block, changes


async def setup(args: argparse.Namespace, api_key: str | None) -> int:
    """Do the four steps (see the module docstring); returns the exit status."""
    guard = {} if args.guard is None else {"guard": args.guard}
    try:
        rate_limit_settings(args.batch or 1, None, **guard)  # bad --guard: exit 2 before any change
    except ValueError as exc:
        print(f"invalid setting: {exc}", file=sys.stderr)
        return 2
    await VirusTotalCredentials.aregister_type_and_schema()
    print("registered block type: virustotal-credentials")

    limit_name = rate_limit_name_for(args.block_name)
    saved = await _saved(args.block_name)
    if saved is None and api_key is None:
        print(
            f"no credentials block {args.block_name!r} yet and VT_API_KEY is not set: export the "
            "VirusTotal API key first",
            file=sys.stderr,
        )
        return 2
    try:
        block, changes = merge(saved, _given(args), api_key, limit_name)
    except ValidationError as exc:
        print(f"invalid setting: {exc.errors()[0]['loc'][0]}: {exc.errors()[0]['msg']}", file=sys.stderr)
        return 2
    await block.asave(args.block_name, overwrite=True)
    state = "saved" if saved is None else ("updated" if changes else "unchanged")
    print(f"credentials block {args.block_name!r} {state}")
    for line in changes:
        print(f"  {line}")

    try:
        limit, decay = rate_limit_settings(block.requests_per_minute, args.batch, **guard)
    except ValueError as exc:
        print(f"invalid setting: {exc}", file=sys.stderr)
        return 2
    async with get_client() as client:
        await client.upsert_global_concurrency_limit_by_name(limit_name, limit, slot_decay_per_second=decay)
        print(
            f"global concurrency limit {limit_name!r}: limit {limit}, decay {decay:.2f}/s in hundredths "
            f"of a request (quota {block.requests_per_minute}/min)"
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
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Run the set-up; returns the exit status."""
    args = _parser().parse_args(argv)
    api_key = os.environ.get("VT_API_KEY", "").strip() or None
    rpm = os.environ.get("VT_REQUESTS_PER_MINUTE", "").strip()
    if rpm and not rpm.isdigit():
        print("VT_REQUESTS_PER_MINUTE must be a whole number", file=sys.stderr)
        return 2
    if args.requests_per_minute is not None and args.requests_per_minute < 1:
        print("--requests-per-minute must be at least 1", file=sys.stderr)
        return 2
    if args.daily_reserve is not None and args.daily_reserve < 0:
        print("--daily-reserve must be at least 0", file=sys.stderr)
        return 2
    return asyncio.run(setup(args, api_key))


if __name__ == "__main__":
    raise SystemExit(main())
