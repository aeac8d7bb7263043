"""Fixtures for the emulator tests: one shared world, fresh emulators on a fake clock."""

from __future__ import annotations

import pytest

from prefect_virustotal.emulator import Emulator, FakeClock, World


@pytest.fixture(scope="session")
def world() -> World:
    """The seed-0 world, built once. Tests that add to a world build their own."""
    return World(seed=0)


@pytest.fixture
def fake_clock() -> FakeClock:
    """A clock at 2026-01-01T00:00:00Z that moves only when told."""
    return FakeClock()


@pytest.fixture
def emu(world: World, fake_clock: FakeClock) -> Emulator:
    """A fresh emulator (demo keys, no faults, empty log) over the shared world."""
    return Emulator(seed=0, clock=fake_clock, world=world)
