"""``python -m prefect_virustotal.emulator``: serve the emulator on loopback.

Prints the base URL (``http://127.0.0.1:<port>/api/v3``; ``--port 0`` picks a free port and
prints the real one) and the keys it accepts, then serves until interrupted.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from ._clock import ScaledClock, SystemClock
from ._emulator import DEFAULT_MAX_BODY_BYTES, Emulator
from ._quota import ApiKey, KeyTier
from ._server import base_url_for, bind, is_loopback, make_server

DEFAULT_PORT = 8080


def _key(text: str) -> ApiKey:
    """``KEY``, ``KEY:public`` / ``KEY:premium``, or ``KEY:<tier>:<per-minute quota>``."""
    head, sep, last = text.rpartition(":")
    if sep and last.isdigit():
        secret, sep2, tier = head.rpartition(":")
        if sep2 and tier in {t.value for t in KeyTier}:
            return ApiKey(secret, KeyTier(tier), per_minute=int(last))
    if sep and last in {t.value for t in KeyTier}:
        return ApiKey(head, KeyTier(last))
    return ApiKey(text)


def _scale(text: str) -> float:
    """``--time-scale``: a positive, finite number."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 0 < value < float("inf"):
        raise argparse.ArgumentTypeError("must be greater than 0")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m prefect_virustotal.emulator",
        description="Serve an offline VirusTotal API v3 emulator (all data is fiction).",
    )
    parser.add_argument("--host", default="127.0.0.1", help="interface to bind (default: 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help=f"port (default: {DEFAULT_PORT}; 0 picks a free one)"
    )
    parser.add_argument(
        "--api-key",
        action="append",
        default=[],
        type=_key,
        metavar="KEY[:public|premium[:PER_MINUTE]]",
        help="accept this key, optionally with its own per-minute quota "
        "(repeatable; default: the built-in demo keys)",
    )
    parser.add_argument("--seed", type=int, default=0, help="world seed (default: 0)")
    parser.add_argument("--allow-remote", action="store_true", help="allow binding a non-loopback interface")
    parser.add_argument(
        "--max-body-mb",
        type=float,
        default=DEFAULT_MAX_BODY_BYTES / 2**20,
        help="largest request body in MiB; larger ones get 413 (default: 700)",
    )
    parser.add_argument(
        "--time-scale",
        type=_scale,
        default=1.0,
        metavar="N",
        help="run the emulator's clock N times faster than real time: analyses, retrohunt phases "
        "and quota windows alike (default: 1)",
    )
    parser.add_argument(
        "--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"]
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the emulator server; returns the exit status."""
    args = _parser().parse_args(argv)
    if not is_loopback(args.host) and not args.allow_remote:
        print(
            f"refusing to bind non-loopback host {args.host!r} without --allow-remote "
            "(the emulator has no real security)",
            file=sys.stderr,
        )
        return 2
    emulator = Emulator(
        seed=args.seed,
        clock=SystemClock() if args.time_scale == 1 else ScaledClock(args.time_scale),
        keys=args.api_key or None,
        max_body_bytes=int(args.max_body_mb * 2**20),
    )
    sock = bind(args.host, args.port)
    emulator.base_url = base_url_for(sock)
    print(f"VirusTotal API v3 emulator (fiction, seed {args.seed}) at {emulator.base_url}")
    if args.time_scale != 1:
        print(f"  clock runs {args.time_scale:g}x faster than real time")
    for api_key in emulator.keys:
        print(f"  accepts x-apikey: {api_key.key} ({api_key.tier.value})")
    sys.stdout.flush()
    try:
        make_server(emulator, log_level=args.log_level).run(sockets=[sock])
    finally:
        sock.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
