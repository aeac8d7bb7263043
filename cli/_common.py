"""What every command shares: credentials, the emulator switch, output and exit codes."""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
import sys
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from enum import IntEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal, NoReturn, TypeVar

import typer
from pydantic import BaseModel, SecretStr
from rich.console import Console
from rich.text import Text

from prefect_virustotal.client import (
    DEFAULT_BASE_URL,
    APIConnectionError,
    APIError,
    InvalidIndicatorError,
    InvalidParameterError,
    RequestBudgetExceededError,
    RetryPolicy,
    VirusTotalClient,
    VirusTotalError,
    mount_transport,
    redact_all,
    shared_limiter,
)
from prefect_virustotal.core import escape_control, read_text_file

if TYPE_CHECKING:
    # Prefect is imported only where a command runs a flow or reads a saved block: a direct
    # command (no Prefect API configured) never pays for it (~2-4 s on a small machine).
    from prefect_virustotal.blocks import VirusTotalCredentials
    from prefect_virustotal.core import DirectoryCheckpointStore

T = TypeVar("T")

# What Prefect says when its ephemeral server does not answer in time (prefect.server.api.server).
_EPHEMERAL_FAILURE = "ephemeral Prefect API server"

EMULATED_LABEL = "[EMULATED] data from the prefect-virustotal emulator: fiction, not VirusTotal."

console = Console(stderr=False, highlight=False, soft_wrap=True)
errors = Console(stderr=True, highlight=False, soft_wrap=True)


# When the command started (this module is imported first thing): the spinner's clock.
STARTED = time.monotonic()

# A command that has not answered within this many seconds of starting shows a spinner.
SPINNER_AFTER = 1.0


class _Logging:
    """The ``-v`` count, kept until Prefect is imported (a direct command never imports it)."""

    verbosity = 0


def _drop_emulated_notice(record: logging.LogRecord) -> bool:
    """The flows warn that data is emulated; the command line labels its output itself."""
    return not str(record.msg).startswith("EMULATED DATA")


def _drop_run_failures(record: logging.LogRecord) -> bool:
    """Prefect's own error records (a failed flow or task run, an event it could not send) are
    for ``-v`` and the UI: the command reports what failed itself, in one line and an exit code.
    The pack's warnings (through the run loggers) still show."""
    return not (record.levelno >= logging.ERROR and record.name.startswith("prefect."))


def configure_logging(verbosity: int) -> None:
    """Keep the terminal for the answer: WARNING by default, INFO with ``-v``, DEBUG with ``-vv``.

    Prefect's console handler is turned down when Prefect is loaded (a flow or a saved block);
    a direct command sends the pack's own log lines to stderr instead (see ``run_command``).
    """
    _Logging.verbosity = verbosity
    if "prefect" in sys.modules:
        _quiet_prefect_console()


def _quiet_prefect_console() -> None:
    """Turn Prefect's console handler down to the ``-v`` level.

    Only the console handler: flow and task runs still send their INFO lines to the Prefect
    API, so the UI shows the whole run.
    """
    from prefect.logging.handlers import PrefectConsoleHandler

    verbosity = _Logging.verbosity
    level = {0: logging.WARNING, 1: logging.INFO}.get(verbosity, logging.DEBUG)
    for handler in logging.getLogger().handlers:
        if isinstance(handler, PrefectConsoleHandler):
            # Prefect bound its console to the stderr of the moment it was imported; the
            # command's lines go to the stderr the command has now.
            # (Not ``setStream``: it flushes the old stream, which may be closed by now.)
            handler.stream = handler.console.file = sys.stderr
            handler.setLevel(level)
            if not verbosity:
                handler.addFilter(_drop_emulated_notice)
                handler.addFilter(_drop_run_failures)
    if verbosity >= 2:
        logging.getLogger("prefect_virustotal").setLevel(logging.DEBUG)
    # Prefect's notice that events are still being flushed at exit is not the user's business.
    logging.getLogger("EventsWorker").setLevel(logging.WARNING if verbosity else logging.ERROR)


def _log_direct() -> None:
    """With ``-v``, the pack's own log lines go to stderr (no Prefect handler is there)."""
    if not _Logging.verbosity:
        return
    logger = logging.getLogger("prefect_virustotal")
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    logger.addHandler(handler)
    logger.setLevel(logging.INFO if _Logging.verbosity == 1 else logging.DEBUG)


def start_prefect() -> None:
    """Import Prefect (through the pack's flows) and quiet its console to the ``-v`` level.

    Called where a command runs a flow or reads a saved block, and only there.
    """
    import prefect_virustotal.flows  # noqa: F401 - the import is the point (Prefect's logging set-up)

    _quiet_prefect_console()


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


@dataclasses.dataclass(frozen=True)
class KeySettings:
    """A key and how to use it, without Prefect: what a direct command builds its client from.

    The fields and defaults of the ``VirusTotalCredentials`` block but the two that need a
    Prefect server (``rate_limit_name``, ``daily_reserve``); a test holds them equal, so a new
    block field fails it until it is added here. :meth:`block` builds that block when a command
    runs as a flow. A key from ``VT_API_KEY`` or the emulator's key lives here; a saved
    ``--block`` is read from Prefect instead.
    """

    api_key: SecretStr
    base_url: str = DEFAULT_BASE_URL
    timeout: float = 60.0
    requests_per_minute: int = 4
    burst: int | None = None
    daily_budget: int | None = 500
    max_retries: int = 3
    retry_initial_delay: float = 1.0
    retry_max_delay: float = 30.0
    retry_quota_delay: float = 30.0
    key_tier: Literal["public", "premium"] = "public"

    @contextlib.asynccontextmanager
    async def get_client(self) -> AsyncIterator[VirusTotalClient]:
        """A client paced by this process's limiter for the key, as the block builds it."""
        limiter = shared_limiter(
            self.api_key.get_secret_value(),
            self.requests_per_minute,
            burst=self.burst,
            daily_budget=self.daily_budget,
        )
        client = VirusTotalClient(
            self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            limiter=limiter,
            retry=RetryPolicy(
                max_retries=self.max_retries,
                initial_delay=self.retry_initial_delay,
                max_delay=self.retry_max_delay,
                quota_delay=self.retry_quota_delay,
            ),
        )
        async with client:
            yield client

    def block(self) -> VirusTotalCredentials:
        """The same settings as a ``VirusTotalCredentials`` block, for a flow (imports Prefect)."""
        from prefect_virustotal.blocks import VirusTotalCredentials

        fields = {field.name: getattr(self, field.name) for field in dataclasses.fields(self)}
        return VirusTotalCredentials(**fields)


class Target:
    """Where commands send requests: a key (``VT_API_KEY``, the emulator's) or a saved block."""

    def __init__(
        self,
        settings: KeySettings | None = None,
        *,
        emulated: bool = False,
        block: VirusTotalCredentials | None = None,
    ) -> None:
        if (settings is None) == (block is None):
            raise ValueError("a target has either key settings or a saved block")
        self.settings = settings
        self.emulated = emulated
        self._block = block
        self._emulator: Any = None

    @property
    def credentials(self) -> VirusTotalCredentials:
        """The credentials block a flow takes (built from the key on first use: imports Prefect)."""
        if self._block is None:
            assert self.settings is not None
            self._block = self.settings.block()
        return self._block

    def client(self) -> contextlib.AbstractAsyncContextManager[VirusTotalClient]:
        """A client for a direct command: from the key, without Prefect."""
        if self.settings is not None:
            return self.settings.get_client()
        return self.credentials.get_client()

    @property
    def base_url(self) -> str:
        """The API root requests go to (without building a block)."""
        return self.settings.base_url if self.settings is not None else self.credentials.base_url

    @property
    def key_tier(self) -> Literal["public", "premium"]:
        """The key's licence, ``public`` or ``premium`` (without building a block)."""
        return self.settings.key_tier if self.settings is not None else self.credentials.key_tier

    @contextlib.contextmanager
    def active(self) -> Iterator[None]:
        """Mount the in-process emulator while a command runs (no-op for real targets)."""
        if not self.emulated:
            yield
            return
        # Imported here: only --emulator needs the emulator (Starlette, its world).
        from prefect_virustotal.emulator import Emulator

        self._emulator = Emulator(seed=0)
        with mount_transport(self.base_url, self._emulator.transport()):
            yield

    @property
    def emulator(self) -> Any:
        """The running in-process emulator (only with ``--emulator``)."""
        return self._emulator


def local_checkpoints(target: Target) -> DirectoryCheckpointStore:
    """Where a direct command keeps its checkpoints (submissions, collections' stable names):
    ``$VT_STATE_DIR``, one folder per API (an emulator's ids mean nothing to VirusTotal)."""
    from prefect_virustotal.core import DirectoryCheckpointStore, default_state_dir

    api = hashlib.sha256(target.base_url.encode()).hexdigest()[:12]
    return DirectoryCheckpointStore(default_state_dir() / "checkpoints" / api)


def emulator_settings(base_url: str | None = None) -> KeySettings:
    """The in-process emulator's premium demo key, fast pacing, no budget (no Prefect)."""
    from prefect_virustotal.emulator import DEFAULT_BASE_URL as EMULATOR_URL
    from prefect_virustotal.emulator import PREMIUM_DEMO_KEY

    return KeySettings(
        api_key=SecretStr(PREMIUM_DEMO_KEY),
        base_url=base_url or EMULATOR_URL,
        requests_per_minute=1000,
        daily_budget=None,
        key_tier="premium",
    )


def emulator_credentials(base_url: str | None = None) -> VirusTotalCredentials:
    """Credentials for the in-process emulator: its premium demo key, fast pacing, no budget.

    ``base_url`` defaults to the emulator's in-process ``DEFAULT_BASE_URL``. Used by
    ``--emulator`` (as a flow) and by ``make demo``.
    """
    return emulator_settings(base_url).block()


def resolve_target(block: str | None, emulator: bool) -> Target:
    """Pick the credentials: ``--emulator``, ``--block NAME``, or ``VT_API_KEY``.

    ``VT_BASE_URL``, when set, is the endpoint for a block and for ``VT_API_KEY`` alike. Only
    ``--block`` imports Prefect (the block is saved on its server).

    Exits with ``BAD_INPUT`` and a pointer to ``--emulator`` when nothing is configured.
    """
    if emulator:
        return Target(emulator_settings(), emulated=True)
    base_url = _base_url_from_env()
    if block:
        start_prefect()
        from prefect_virustotal.blocks import VirusTotalCredentials

        try:
            found = asyncio.run(VirusTotalCredentials.aload(block))
        except ValueError as exc:
            fail(ExitCode.BAD_INPUT, f"no credentials block named {block!r}: {exc}")
        assert isinstance(found, VirusTotalCredentials)
        loaded: VirusTotalCredentials = found
        if base_url:
            # A new block (not a copy, which would keep the saved document's identity).
            loaded = VirusTotalCredentials(
                **(loaded.model_dump() | {"api_key": loaded.api_key, "base_url": base_url})
            )
        return Target(block=loaded)
    key = os.environ.get("VT_API_KEY", "").strip()
    if key:
        settings = KeySettings(api_key=SecretStr(key))
        return Target(dataclasses.replace(settings, base_url=base_url) if base_url else settings)
    fail(
        ExitCode.BAD_INPUT,
        "no VirusTotal key configured: set VT_API_KEY, or pass --block NAME for a saved "
        "credentials block, or try it offline with --emulator",
    )


def _base_url_from_env() -> str | None:
    """``VT_BASE_URL`` without its trailing slash; not an http(s) URL is bad input (exit 2)."""
    value = os.environ.get("VT_BASE_URL", "").strip()
    if not value:
        return None
    if not value.startswith(("http://", "https://")):
        fail(ExitCode.BAD_INPUT, "VT_BASE_URL: base_url must be an http(s) URL")
    return value.rstrip("/")


RecordOption = Annotated[
    bool,
    typer.Option(
        "--record",
        help="Run as a Prefect flow (shown in the UI) even without a Prefect API configured.",
    ),
]


def prefect_api_configured() -> bool:
    """Whether Prefect has an API to record runs in (``PREFECT_API_URL``, a profile, a test harness).

    Prefect is imported to ask only when some source of its settings could name an API:
    otherwise there is none, and a direct command stays free of Prefect.
    """
    if "prefect.settings" not in sys.modules and not _may_name_a_prefect_api():
        return False
    from prefect.settings import get_current_settings

    return bool(get_current_settings().api.url)


def _may_name_a_prefect_api() -> bool:
    """Whether any source Prefect reads its settings from could name an API (checked without Prefect).

    Prefect 3 reads the environment, the active profile of ``profiles.toml`` (under
    ``PREFECT_HOME``, ``~/.prefect`` by default, or at ``PREFECT_PROFILES_PATH``), and ``.env``,
    ``prefect.toml`` and ``pyproject.toml``'s ``[tool.prefect]`` in the working directory. Any
    doubt is a yes: Prefect itself then decides.
    """
    if any(name.startswith(("PREFECT_API", "PREFECT_PROFILE")) for name in os.environ):
        return True
    home = Path(os.environ.get("PREFECT_HOME") or "~/.prefect").expanduser()
    sources = [
        (home / "profiles.toml", "PREFECT_API"),
        (Path(".env"), "PREFECT_"),
        (Path("prefect.toml"), ""),
        (Path("pyproject.toml"), "tool.prefect"),
    ]
    for path, mark in sources:
        try:
            if path.is_file() and mark in path.read_text(encoding="utf-8", errors="replace"):
                return True
        except OSError:
            return True  # unreadable by us: let Prefect decide
    return False


def runs_direct(target: Target, *, record: bool) -> bool:
    """Whether a command calls the client and core directly instead of running a flow.

    Direct when nothing would be recorded anyway (no Prefect API configured, no ``--record``)
    and nothing needs Prefect's server: a saved ``--block`` is read from it (and a block may
    share a rate limit or keep a daily reserve there), so a target from a block never is.
    """
    if record or target.settings is None:
        return False
    return not prefect_api_configured()


def run_command(
    target: Target,
    *,
    flow: Callable[[VirusTotalCredentials], Awaitable[T]],
    direct: Callable[[VirusTotalClient], Awaitable[T]] | None = None,
    record: bool = False,
    progress: bool = True,
    label: str = "waiting for VirusTotal",
) -> T:
    """Run a command directly or as a flow, with the target active and errors as exit codes.

    A command that is one or a few client (or core) calls gives ``direct``: it runs at once,
    without importing Prefect, when ``runs_direct`` says so (no Prefect API configured, no
    ``--record``, no saved block), with a spinner on a terminal's stderr once the command has
    taken ``SPINNER_AFTER`` seconds (``progress=False`` with ``--json``, or where the command
    shows its own progress). Otherwise ``flow`` runs with the credentials block: a Prefect
    flow, shown in the UI. Import the flow inside ``flow``, never at module level.

    Example:
        ```python
        async def as_flow(credentials: VirusTotalCredentials) -> Report:
            from prefect_virustotal.flows import some_flow

            return await some_flow(value, credentials=credentials)

        async def at_once(vt: VirusTotalClient) -> Report:
            return await core_function(vt, value)

        report = run_command(target, flow=as_flow, direct=at_once, record=record, progress=not as_json)
        ```
    """
    if direct is not None and runs_direct(target, record=record):
        _log_direct()

        async def at_once() -> T:
            async with target.client() as vt:
                return await with_spinner(direct(vt), errors if progress else None, label)

        return _run(target, at_once)
    return run(target, lambda: flow(target.credentials))


async def with_spinner(
    work: Awaitable[T], console: Console | None, label: str, *, after: float | None = None
) -> T:
    """Await ``work``, with a transient spinner on ``console`` if it is still running ``after`` s on.

    By default the spinner shows once the command has been running ``SPINNER_AFTER`` seconds
    (its start-up counts), but never for less than a quarter second of work, so that a quick
    answer does not flash. No spinner when ``console`` is None or not a terminal.
    """
    job = asyncio.ensure_future(work)
    if console is None or not console.is_terminal:
        return await job
    if after is None:
        after = max(0.25, SPINNER_AFTER - (time.monotonic() - STARTED))
    done, _ = await asyncio.wait({job}, timeout=after)
    if done:
        return job.result()
    with console.status(label):
        return await job


def fail(code: ExitCode, message: str) -> NoReturn:
    """Print ``message`` to stderr (control characters escaped) and exit with ``code``."""
    errors.print(f"error: {escape_control(message)}", markup=False)
    raise typer.Exit(int(code))


def run(target: Target, work: Callable[[], Awaitable[T]]) -> T:
    """Run a flow call (imported inside ``work``) with the target active, errors as exit codes.

    Prefect is imported here, before ``work`` starts, and its console quieted to ``-v``.
    """
    start_prefect()
    return _run(target, work)


def _run(target: Target, work: Callable[[], Awaitable[T]]) -> T:
    """Run ``work`` with the target active, turning errors into exit codes."""
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
