"""An offline emulator of the VirusTotal API v3, for tests and rehearsals.

Everything it returns is fiction: a seeded, deterministic world of files, URLs, domains and IP
addresses (see ``World``), served by a Starlette app under ``/api/v3``, in process through
``Emulator.transport()`` or on loopback with ``python -m prefect_virustotal.emulator``.

Example:
    >>> import httpx
    >>> from prefect_virustotal.emulator import Emulator, FakeClock, PUBLIC_DEMO_KEY
    >>> emulator = Emulator(seed=0, clock=FakeClock())
    >>> sha256 = emulator.world.pick("file", "malicious")
    >>> client = httpx.AsyncClient(
    ...     transport=emulator.transport(),
    ...     base_url=emulator.base_url,
    ...     headers={"x-apikey": PUBLIC_DEMO_KEY},
    ... )
"""

from ._app import create_app
from ._clock import EmulatorClock, FakeClock, ScaledClock, SystemClock
from ._emulator import (
    DEFAULT_BASE_URL,
    DEMO_KEYS,
    PREMIUM_DEMO_KEY,
    PUBLIC_DEMO_KEY,
    Emulator,
)
from ._errors import ERROR_STATUS, ApiError, error_response
from ._faults import ConnectionDropped, Fault, FaultPlan
from ._hunting import RetrohuntDurations
from ._pagination import paginate
from ._quota import ApiKey, KeyTier, QuotaBook
from ._requests import RequestRecord
from ._world import NATURES, RELATIONSHIPS, Analysis, Relationship, Resolution, World, WorldObject

__all__ = [
    "DEFAULT_BASE_URL",
    "DEMO_KEYS",
    "ERROR_STATUS",
    "NATURES",
    "PREMIUM_DEMO_KEY",
    "PUBLIC_DEMO_KEY",
    "RELATIONSHIPS",
    "Analysis",
    "ApiError",
    "ApiKey",
    "ConnectionDropped",
    "Emulator",
    "EmulatorClock",
    "FakeClock",
    "Fault",
    "FaultPlan",
    "KeyTier",
    "QuotaBook",
    "Relationship",
    "RequestRecord",
    "Resolution",
    "RetrohuntDurations",
    "ScaledClock",
    "SystemClock",
    "World",
    "WorldObject",
    "create_app",
    "error_response",
    "paginate",
]
