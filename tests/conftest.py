"""Shared fixtures: a quiet Prefect, the emulator, and clients wired to it.

The environment is set before Prefect is imported anywhere (see PREFECT-NOTES.md).
"""

from __future__ import annotations

import os
import tempfile

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

import pytest  # noqa: E402
from pydantic import SecretStr  # noqa: E402

from prefect_virustotal.client import VirusTotalClient, mount_transport  # noqa: E402
from prefect_virustotal.emulator import Emulator, FakeClock  # noqa: E402

PUBLIC_KEY = "test-public-key-0123456789"
PREMIUM_KEY = "test-premium-key-0123456789"


@pytest.fixture(scope="session")
def prefect_harness() -> Iterator[None]:
    """One Prefect test server for the whole session, heartbeat off."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=120),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


@pytest.fixture
def clock() -> FakeClock:
    """One fake clock shared by the emulator's quota windows and the client's waits."""
    return FakeClock()


@pytest.fixture
def emulator(clock: FakeClock) -> Emulator:
    """A fresh emulator (seed 0) with a public and a premium test key."""
    emu = Emulator(seed=0, clock=clock)
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
