"""What every command shares: credentials, the emulator switch, output and exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import sys
from collections.abc import Awaitable, Callable, Iterator
from enum import IntEnum
from pathlib import Path
from typing import Annotated, Any, NoReturn, TypeVar

import typer
from pydantic import BaseModel, SecretStr, ValidationError
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

# What Prefect says when its ephemeral server does not answer in time (prefect.server.api.server).
_EPHEMERAL_FAILURE = "ephemeral Prefect API server"

EMULATED_LABEL = "[EMULATED] data from the prefect-virustotal emulator: fiction, not VirusTotal."

console = Console(stderr=False, highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


def _drop_emulated_notice(record: logging.LogRecord) -> bool:
    """The flows warn that data is emulated; the command line labels its output itself."""
    return not str(record.msg).startswith("EMULATED DATA")


def configure_logging(verbosity: int) -> None:
    """Keep the terminal for the answer: WARNING by default, INFO with ``-v``, DEBUG with ``-vv``.

    Only the console handler is turned down: flow and task runs still send their INFO lines to
    the Prefect API, so the UI shows the whole run.
    """
    from prefect.logging.handlers import PrefectConsoleHandler

    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            handler.setLevel(level)
    if not verbosity:
        for handler in logging.getLogger().handlers:
            if isinstance(handler, PrefectConsoleHandler):
                handler.addFilter(_drop_emulated_notice)
    if verbosity >= 2:
        logging.getLogger("prefect_virustotal").setLevel(logging.DEBUG)
    # Prefect's notice that events are still being flushed at exit is not the user's business.
    logging.getLogger("EventsWorker").setLevel(logging.WARNING if verbosity else logging.ERROR)


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
        key_tier="premium",
    )


def resolve_target(block: str | None, emulator: bool) -> Target:
    """Pick the credentials: ``--emulator``, ``--block NAME``, or ``VT_API_KEY``.

    ``VT_BASE_URL``, when set, is the endpoint for a block and for ``VT_API_KEY`` alike.

    Exits with ``BAD_INPUT`` and a pointer to ``--emulator`` when nothing is configured.
    """
    if emulator:
        return Target(emulator_credentials(), emulated=True)
    base_url = os.environ.get("VT_BASE_URL", "").strip() or None
    if block:
        try:
            loaded = asyncio.run(VirusTotalCredentials.aload(block))
        except ValueError as exc:
            fail(ExitCode.BAD_INPUT, f"no credentials block named {block!r}: {exc}")
        assert isinstance(loaded, VirusTotalCredentials)
        if base_url:
            loaded = _with_base_url(loaded, base_url)
        return Target(loaded, emulated=False)
    key = os.environ.get("VT_API_KEY", "").strip()
    if key:
        fields = {"base_url": base_url} if base_url else {}
        return Target(_credentials(api_key=SecretStr(key), **fields), emulated=False)
    fail(
        ExitCode.BAD_INPUT,
        "no VirusTotal key configured: set VT_API_KEY, or pass --block NAME for a saved "
        "credentials block, or try it offline with --emulator",
    )


RecordOption = Annotated[
    bool,
    typer.Option(
        "--record",
        help="Run as a Prefect flow (shown in the UI) even without a Prefect API configured.",
    ),
]


def prefect_api_configured() -> bool:
    """Whether Prefect has an API to record runs in (``PREFECT_API_URL``, a profile, a test harness)."""
    from prefect.settings import get_current_settings

    return bool(get_current_settings().api.url)


def runs_direct(target: Target, *, block: str | None, record: bool) -> bool:
    """Whether a command calls the core directly instead of running a flow.

    Direct when nothing would be recorded anyway (no Prefect API configured, no ``--record``)
    and nothing needs Prefect's server: a saved ``--block`` is read from it, and a block
    that shares a rate limit or keeps a daily reserve asks it too.
    """
    credentials = target.credentials
    if record or block is not None or credentials.rate_limit_name or credentials.daily_reserve:
        return False
    return not prefect_api_configured()


def _credentials(**fields: Any) -> VirusTotalCredentials:
    """A block from the environment's values; a malformed ``VT_BASE_URL`` is bad input (exit 2)."""
    try:
        return VirusTotalCredentials(**fields)
    except ValidationError as exc:
        fail(ExitCode.BAD_INPUT, f"VT_BASE_URL: {exc.errors()[0]['msg']}")


def _with_base_url(block: VirusTotalCredentials, base_url: str) -> VirusTotalCredentials:
    """The block pointed at ``VT_BASE_URL`` (which wins, as in ``setup``)."""
    return _credentials(**(block.model_dump() | {"api_key": block.api_key, "base_url": base_url}))


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
        raise  # typer.Exit is a RuntimeError: it must pass before the next clause
    except Exception as exc:
        if isinstance(exc, RuntimeError) and _EPHEMERAL_FAILURE in str(exc):
            fail(
                ExitCode.SERVICE,
                "Prefect's local server did not start in time: set PREFECT_API_URL to a running server, "
                "raise PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS, or drop --record",
            )
        # A bug of the pack: one line and exit 5, never a traceback (nor exit 1, "malicious").
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
