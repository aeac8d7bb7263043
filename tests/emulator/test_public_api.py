"""The emulator's demo keys and clocks (its `__all__` is pinned in tests/test_public_api.py)."""

from __future__ import annotations

import prefect_virustotal.emulator as emulator_pkg


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
