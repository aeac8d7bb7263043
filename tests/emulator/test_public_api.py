"""The emulator's public surface is pinned."""

from __future__ import annotations

import prefect_virustotal.emulator as emulator_pkg


def test_all_is_pinned() -> None:
    assert emulator_pkg.__all__ == [
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


def test_demo_keys() -> None:
    keys = {k.key: k.tier.value for k in emulator_pkg.DEMO_KEYS}
    assert keys == {"emulator-public-key": "public", "emulator-premium-key": "premium"}
    assert "emulator-public-key" not in repr(emulator_pkg.DEMO_KEYS[0])


def test_clocks() -> None:
    clock = emulator_pkg.FakeClock(start=100.0)
    assert isinstance(clock, emulator_pkg.EmulatorClock)
    assert isinstance(emulator_pkg.SystemClock(), emulator_pkg.EmulatorClock)
    clock.advance(5)
    assert clock.time() == clock.monotonic() == 105.0
