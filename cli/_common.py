"""What every command shares: credentials, the emulator switch, output and exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from enum import IntEnum
from pathlib import Path
from typing import Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, SecretStr
from rich.console import Console
from rich.text import Text

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import (
    APIConnectionError,
    APIError,
    InvalidIndicatorError,
    InvalidParameterError,
    RequestBudgetExceededError,
    VirusTotalError,
    mount_transport,
    redact_all,
)
from prefect_virustotal.core import escape_control, read_text_file

T = TypeVar("T")

EMULATED_LABEL = "[EMULATED] data from the prefect-virustotal emulator: fiction, not VirusTotal."

console = Console(stderr=False, highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


class ExitCode(IntEnum):
    """Exit codes a pipeline can rely on."""

    OK = 0
    MALICIOUS = 1
    """The verdict is malicious and ``--fail-on malicious`` was given."""
    BAD_INPUT = 2
    """Invalid indicator, option or file; or no key configured."""
    SERVICE = 3
    """The run failed: every request failed with the same authentication, quota or connection
    error, or VirusTotal (or the network) failed."""
    PARTIAL = 4
    """The run finished but some rows failed (error, quota) or were not looked up; see them."""
    INTERNAL = 5
    """An unexpected error inside the pack (a bug): one line on stderr, no traceback."""


class Target:
    """Where commands send requests: a saved block, a key from the environment, or the emulator."""

    def __init__(self, credentials: VirusTotalCredentials, emulated: bool) -> None:
        self.credentials = credentials
        self.emulated = emulated
        self._emulator: Any = None

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Mount the in-process emulator while a command runs (no-op for real targets)."""
        if not self.emulated:
            yield
            return
        from prefect_virustotal.emulator import Emulator

        self._emulator = Emulator(seed=0)
        with mount_transport(self.credentials.base_url, self._emulator.transport()):
            yield

    @property
    def emulator(self) -> Any:
        """The running in-process emulator (only with ``--emulator``)."""
        return self._emulator


def emulator_credentials(base_url: str | None = None) -> VirusTotalCredentials:
    """Credentials for the in-process emulator: its premium demo key, fast pacing, no budget.

    ``base_url`` defaults to the emulator's in-process ``DEFAULT_BASE_URL``. Used by
    ``--emulator`` and by ``make demo``.
    """
    from prefect_virustotal.emulator import DEFAULT_BASE_URL, PREMIUM_DEMO_KEY

    return VirusTotalCredentials(
        api_key=SecretStr(PREMIUM_DEMO_KEY),
        base_url=base_url or DEFAULT_BASE_URL,
        requests_per_minute=1000,
        daily_budget=None,
    )


def resolve_target(block: str | None, emulator: bool) -> Target:
    """Pick the credentials: ``--emulator``, ``--block NAME``, or ``VT_API_KEY``.

    Exits with ``BAD_INPUT`` and a pointer to ``--emulator`` when nothing is configured.
    """
    if emulator:
        return Target(emulator_credentials(), emulated=True)
    if block:
        try:
            loaded = asyncio.run(VirusTotalCredentials.aload(block))
        except ValueError as exc:
            fail(ExitCode.BAD_INPUT, f"no credentials block named {block!r}: {exc}")
        assert isinstance(loaded, VirusTotalCredentials)
        return Target(loaded, emulated=False)
    key = os.environ.get("VT_API_KEY", "").strip()
    if key:
        return Target(VirusTotalCredentials(api_key=SecretStr(key)), emulated=False)
    fail(
        ExitCode.BAD_INPUT,
        "no VirusTotal key configured: set VT_API_KEY, or pass --block NAME for a saved "
        "credentials block, or try it offline with --emulator",
    )


def fail(code: ExitCode, message: str) -> NoReturn:
    """Print ``message`` to stderr (control characters escaped) and exit with ``code``."""
    errors.print(f"error: {escape_control(message)}", markup=False)
    raise typer.Exit(int(code))


def run(target: Target, work: Callable[[], Awaitable[T]]) -> T:
    """Run a flow call with the target active, turning errors into exit codes."""
    try:
        with target.active():
            return asyncio.run(work())  # type: ignore[arg-type]
    except (InvalidIndicatorError, InvalidParameterError, FileNotFoundError, IsADirectoryError) as exc:
        fail(ExitCode.BAD_INPUT, str(exc))
    except (RequestBudgetExceededError, APIError, APIConnectionError) as exc:
        fail(ExitCode.SERVICE, f"{type(exc).__name__}: {exc}")
    except VirusTotalError as exc:
        fail(ExitCode.SERVICE, f"{type(exc).__name__}: {exc}")
    except (KeyboardInterrupt, typer.Exit):
        raise
    except Exception as exc:
        fail(ExitCode.INTERNAL, f"internal error {type(exc).__name__}: {exc}")


def shown(value: object) -> str:
    """A value as a person may see it: control characters and terminal escapes escaped."""
    return escape_control(str(value))


def text_cell(value: object) -> Text:
    """A table cell or line that is shown literally: no markup, no escapes interpreted."""
    return Text(shown(value))


def warn(message: str) -> None:
    """One warning line on stderr, literal."""
    errors.print(f"warning: {shown(message)}", markup=False)


def scrub(values: list[str]) -> list[str]:
    """Remove ``user:password@`` from the URLs in the values, warning with each URL masked:
    credentials never reach a request, a flow-run parameter, a report or the output."""
    cleaned, masked = redact_all(values)
    for url in masked:
        warn(f"removed credentials from {url}; they are not sent or stored")
    return cleaned


def read_input(path: Path | str, what: str) -> str:
    """A text input file (see ``core.read_text_file``); exit 2 with one line when unusable."""
    try:
        return read_text_file(path, what)
    except InvalidParameterError as exc:
        fail(ExitCode.BAD_INPUT, str(exc))


def emit(result: Any, *, as_json: bool, emulated: bool, render: Callable[[], None]) -> None:
    """Print ``result``: JSON for machines, ``render()`` for people; label emulated data."""
    if as_json:
        payload = result.model_dump(mode="json") if isinstance(result, BaseModel) else result
        json.dump({"emulated": emulated, "result": payload}, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
        return
    if emulated:
        console.print(f"[bold yellow]{EMULATED_LABEL}[/]")
    render()
    if emulated:
        console.print(f"[bold yellow]{EMULATED_LABEL}[/]")
