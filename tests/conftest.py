"""Shared fixtures: a quiet Prefect, the emulator, and clients wired to it.

The environment is set before Prefect is imported anywhere (see PREFECT-NOTES.md).
"""

from __future__ import annotations

import functools
import gc
import inspect
import os
import pickle
import shutil
import sqlite3
import tempfile
import threading
import time
import warnings

os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ["PREFECT_SERVER_ANALYTICS_ENABLED"] = "false"
os.environ.setdefault("PREFECT_HOME", tempfile.mkdtemp(prefix="prefect-home-"))
if _worker := os.environ.get("PYTEST_XDIST_WORKER"):
    # Each pytest-xdist worker has its own Prefect test server: a home of its own too, so
    # that result files and settings are never shared between two servers.
    os.environ["PREFECT_HOME"] = tempfile.mkdtemp(prefix=f"prefect-home-{_worker}-")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ["PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS"] = "120"
# Tasks called outside a flow (as runbooks do) have no flow run to attach API logs to.
os.environ["PREFECT_LOGGING_TO_API_WHEN_MISSING_FLOW"] = "ignore"
for _name in ("PREFECT_API_URL", "PREFECT_API_KEY", "PREFECT_PROFILE"):
    os.environ.pop(_name, None)

from collections.abc import AsyncIterator, Iterator  # noqa: E402
from contextlib import ExitStack, closing  # noqa: E402
from pathlib import Path  # noqa: E402
from typing import TYPE_CHECKING, Any  # noqa: E402

import pytest  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from prefect_virustotal.client import VirusTotalClient, mount_transport  # noqa: E402
from prefect_virustotal.emulator import Emulator, FakeClock, World  # noqa: E402
from tests.postgres import free_port  # noqa: E402

if TYPE_CHECKING:
    from prefect.server.api.server import SubprocessASGIServer

PUBLIC_KEY = "test-public-key-0123456789"
PREMIUM_KEY = "test-premium-key-0123456789"


# Set by the controller of a pytest-xdist run for its workers: the folder of the session's template.
_TEMPLATE_DIR = "PREFECT_VIRUSTOTAL_TEST_TEMPLATE_DIR"


class _Template:
    """A pytest-xdist session's migrated test database: the first worker's, copied by the others.

    Each worker has a test server of its own, on a new SQLite database. Migrating that database
    and registering Prefect's block types take ~10 s of CPU per server, the same work each time:
    the first worker to claim the template starts its server as before and saves a copy of the
    database once the server is up; the other workers' servers start on a copy, with Prefect's
    migrations and block registration off (``PREFECT_API_DATABASE_MIGRATE_ON_START``,
    ``PREFECT_API_BLOCKS_REGISTER_ON_START``). If that first server fails, the others migrate
    their own databases, as before.
    """

    def __init__(self, folder: str) -> None:
        self.path = Path(folder, "template.db")
        self._claim = Path(folder, "claimed")
        self._failed = Path(folder, "failed")

    @classmethod
    def of_session(cls) -> _Template | None:
        folder = os.environ.get(_TEMPLATE_DIR)
        return cls(folder) if folder and os.path.isdir(folder) else None

    def claim(self) -> bool:
        """True for the one worker that makes the template (the first to ask)."""
        try:
            os.close(os.open(self._claim, os.O_CREAT | os.O_EXCL | os.O_WRONLY))
        except FileExistsError:
            return False
        return True

    def save(self, database: str) -> None:
        """Copy the started server's database (SQLite's backup: consistent while the server runs)."""
        partial = self.path.with_suffix(".partial")
        with closing(sqlite3.connect(database)) as source, closing(sqlite3.connect(partial)) as target:
            source.backup(target)
        partial.rename(self.path)  # atomic: a worker never copies half a template

    def fail(self) -> None:
        self._failed.touch()

    def copy_to(self, database: str, timeout: float = 300.0) -> bool:
        """Wait for the template and copy it to ``database``; False if there will be none."""
        deadline = time.monotonic() + timeout
        while not self.path.exists():
            if self._failed.exists() or time.monotonic() > deadline:
                return False
            time.sleep(0.2)
        shutil.copyfile(self.path, database)
        return True


class _TestServer:
    """Prefect's test server, as ``prefect_test_harness`` starts it, started in a thread of its own.

    Starting it (a subprocess that imports Prefect's server, migrates a new SQLite database and
    registers block types: ~20 s of CPU, up to 90 s on a busy machine) is the longest wait of a
    session; started as soon as the session knows it will need it, it comes up while the tests
    that need no Prefect run. Under pytest-xdist, only the first worker's server migrates: the
    others start on a copy of its database (``_Template``).
    """

    def __init__(self) -> None:
        self.db_file = os.path.join(tempfile.mkdtemp(), "prefect-test.db")
        self.db_url = "sqlite+aiosqlite:///" + self.db_file
        self.server: SubprocessASGIServer | None = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._start, name="prefect-test-server", daemon=True)
        self._thread.start()

    def _start(self) -> None:
        template = _Template.of_session()
        makes_template = template is not None and template.claim()
        try:
            from prefect.server.api.server import SubprocessASGIServer
            from prefect.settings import (
                PREFECT_API_BLOCKS_REGISTER_ON_START,
                PREFECT_API_DATABASE_MIGRATE_ON_START,
                PREFECT_SERVER_DATABASE_CONNECTION_URL,
                temporary_settings,
            )

            # The subprocess takes its settings from this context: the database is the test's own.
            settings: dict[Any, Any] = {PREFECT_SERVER_DATABASE_CONNECTION_URL: self.db_url}
            if template is not None and not makes_template and template.copy_to(self.db_file):
                settings[PREFECT_API_DATABASE_MIGRATE_ON_START] = False
                settings[PREFECT_API_BLOCKS_REGISTER_ON_START] = False
            with temporary_settings(settings):
                server = SubprocessASGIServer(port=free_port())
                # Counted in polls of 0.1 s; generous, as the machine may be busy: a server that
                # does not start is still an error, after five minutes instead of two.
                server.start(timeout=300)
            self.server = server
            if makes_template:
                assert template is not None
                template.save(self.db_file)
        except BaseException as exc:  # handed to the fixture, which raises it in the test
            self.error = exc
        finally:
            if makes_template and template is not None and not template.path.exists():
                template.fail()  # the other workers migrate their own databases, as before

    def wait(self) -> SubprocessASGIServer:
        self._thread.join()
        if self.error is not None:
            raise self.error
        assert self.server is not None
        return self.server

    def stop(self) -> None:
        self._thread.join()
        if self.server is not None:
            self.server.stop()


_test_server: _TestServer | None = None


_template_dir: str | None = None  # made by this process (an xdist controller), removed at its end


def pytest_configure(config: pytest.Config) -> None:
    global _template_dir
    if getattr(config.option, "numprocesses", None) and not os.environ.get("PYTEST_XDIST_WORKER"):
        # The controller of a pytest-xdist run, before its workers start: they inherit the
        # folder of the session's template database (``_Template``).
        _template_dir = os.environ[_TEMPLATE_DIR] = tempfile.mkdtemp(prefix="prefect-template-")


def pytest_unconfigure(config: pytest.Config) -> None:
    if _template_dir is not None:
        os.environ.pop(_TEMPLATE_DIR, None)
        shutil.rmtree(_template_dir, ignore_errors=True)


def _uses_harness(item: pytest.Item) -> bool:
    return "prefect_harness" in getattr(item, "fixturenames", ())


@pytest.hookimpl(trylast=True)  # after -k/-m have deselected: only the tests that will run
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Modules that need no Prefect server first, and the server started now, in the background.

    Modules move whole (their tests keep their order), so that the tests of the session's first
    minute run while the server starts. The order is the same in every pytest-xdist worker.
    """
    global _test_server
    with_server = {getattr(item, "module", None) for item in items if _uses_harness(item)}
    items.sort(key=lambda item: getattr(item, "module", None) in with_server)
    if with_server and _test_server is None:
        # Prefect's server is imported here, in the main thread and before any test runs: the
        # warnings filters belong to the process, and imported in the server's thread while a
        # test runs under ``filterwarnings = error``, a warning Prefect's models give at import
        # failed the import, and with it every test of the worker that needs the server.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # Prefect's import-time warnings are not ours
            import prefect.server.api.server  # noqa: F401
        _test_server = _TestServer()
    # What is loaded by now (Prefect, the pack, the collected tests) lives until the session ends:
    # moved out of the garbage collector's generations, it is not walked again by every full
    # collection the tests' allocations set off.
    gc.freeze()
    # Then collections far less often than Python's default (a young generation of 700 objects):
    # a test's emulator world alone is ~130,000 objects, and with the session frozen the old
    # generation is small, so the default thresholds walked every live world again and again.
    # The cycles the tests leave are still collected, in fewer and larger passes (a worker's
    # peak memory ~0.6 -> ~0.9 GB; its CPU -6 to -20 %, `pytest -n 3` A/B in the closing note).
    gc.set_threshold(50_000, 20, 100)


def pytest_sessionfinish(session: pytest.Session) -> None:
    # A server started for tests that never ran (interrupted session): not left behind.
    if _test_server is not None:
        _test_server.stop()


def _one_ca_file() -> str:
    """A CA file with one certificate of certifi's bundle (valid PEM, ~1/150 of the loading)."""
    import certifi

    bundle = Path(certifi.where()).read_text(encoding="ascii")
    end = "-----END CERTIFICATE-----\n"
    first = bundle[bundle.index("-----BEGIN CERTIFICATE-----") : bundle.index(end) + len(end)]
    path = Path(tempfile.mkdtemp(prefix="prefect-ca-"), "one-ca.pem")
    path.write_text(first, encoding="ascii")
    return str(path)


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole session (per xdist worker), heartbeat off.

    What ``prefect.testing.utilities.prefect_test_harness`` does, with the server started early
    (``_TestServer``): the session's settings point at it and at its database, Prefect's own code
    finds it as the default server, and logs and events are drained before it stops.
    """
    import prefect.context
    from prefect.events.worker import EventsWorker
    from prefect.logging.handlers import APILogWorker
    from prefect.server.api.server import SubprocessASGIServer
    from prefect.server.database.dependencies import temporary_database_interface
    from prefect.settings import (
        PREFECT_API_SSL_CERT_FILE,
        PREFECT_API_URL,
        PREFECT_FLOWS_HEARTBEAT_FREQUENCY,
        PREFECT_SERVER_DATABASE_CONNECTION_URL,
        temporary_settings,
    )
    from prefect.utilities.asyncutils import run_coro_as_sync

    global _test_server
    started = _test_server or _TestServer()
    _test_server = started
    server = started.wait()
    prior = SubprocessASGIServer._instances.get(None)
    SubprocessASGIServer._instances[None] = server  # no second server for code that asks for one
    global_context = getattr(prefect.context, "_temporary_global_settings_context", None)

    async def drain() -> None:
        try:
            result = APILogWorker.instance().drain()
            if inspect.isawaitable(result):
                await result
        except RuntimeError:  # never started
            pass
        result = EventsWorker.drain_all()
        if inspect.isawaitable(result):
            await result

    try:
        with ExitStack() as stack:
            stack.enter_context(temporary_database_interface())
            stack.enter_context(
                temporary_settings(
                    {
                        PREFECT_SERVER_DATABASE_CONNECTION_URL: started.db_url,
                        PREFECT_API_URL: server.api_url,
                        PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None,
                        # Prefect's API client builds a TLS context for every client (~1,000
                        # per worker), loading certifi's ~150 CAs each time (~30 ms of CPU).
                        # The test server is plain HTTP on loopback: one CA is enough to build it.
                        PREFECT_API_SSL_CERT_FILE: _one_ca_file(),
                    }
                )
            )
            if global_context is not None:  # code in contexts copied before the session started
                stack.enter_context(global_context(prefect.context.get_settings_context()))
            yield
            run_coro_as_sync(drain())
    finally:
        started.stop()
        if prior is not None:
            SubprocessASGIServer._instances[None] = prior
        else:
            SubprocessASGIServer._instances.pop(None, None)


@pytest.fixture
def clock() -> FakeClock:
    """One fake clock shared by the emulator's quota windows and the client's waits."""
    return FakeClock()


@functools.cache
def _seed_0_world() -> bytes:
    return pickle.dumps(World(seed=0), protocol=pickle.HIGHEST_PROTOCOL)


def fresh_world() -> World:
    """A new seed-0 world of its own, equal to ``World(seed=0)`` (a test holds them equal).

    Unpickled from one built once per process: about half the CPU of building it, which every
    test using the ``emulator`` fixture paid.
    """
    # Without the cyclic garbage collector while the ~3 MB world is unpickled: its objects
    # (new, live, no garbage among them) would set off collections that walk the whole worker
    # (Prefect and the collected tests): ~0.1-0.4 s of CPU per copy, 2-4x the unpickling itself.
    enabled = gc.isenabled()
    gc.disable()
    try:
        return pickle.loads(_seed_0_world())  # our own bytes, made just above
    finally:
        if enabled:
            gc.enable()


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    """A fresh emulator (seed 0, a world of its own) with a public and a premium test key."""
    emu = Emulator(seed=0, clock=clock, world=fresh_world())
    emu.add_key(PUBLIC_KEY, tier="public")
    emu.add_key(PREMIUM_KEY, tier="premium")
    return emu


@pytest.fixture
async def vt(emulator: Emulator, clock: FakeClock) -> AsyncIterator[VirusTotalClient]:
    """The real client, premium key, through the emulator's transport, on the fake clock."""
    async with VirusTotalClient(
        PREMIUM_KEY, base_url=emulator.base_url, transport=emulator.transport(), clock=clock
    ) as client:
        yield client


@pytest.fixture
def mounted(emulator: Emulator) -> Iterator[Emulator]:
    """Route clients built by blocks for the emulator's base URL into the emulator."""
    with mount_transport(emulator.base_url, emulator.transport()):
        yield emulator


@pytest.fixture
def credentials(mounted: Emulator) -> object:
    """An unsaved credentials block for the emulator with the premium key (fast pacing)."""
    from prefect_virustotal.blocks import VirusTotalCredentials

    return VirusTotalCredentials(
        api_key=SecretStr(PREMIUM_KEY),
        base_url=mounted.base_url,
        requests_per_minute=10_000,
        daily_budget=None,
        key_tier="premium",
    )


async def latest_artifact(key: str) -> object:
    """The newest artifact with ``key`` on the session's test server (others' runs share it)."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey
    from prefect.client.schemas.sorting import ArtifactSort

    async with get_client() as prefect:
        found = await prefect.read_artifacts(
            artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=[key])),
            sort=ArtifactSort.CREATED_DESC,
            limit=1,
        )
    assert found, f"no artifact {key!r}"
    return found[0]
