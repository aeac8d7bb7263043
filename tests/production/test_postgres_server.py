"""The PostgreSQL the production test and benchmarks run on: it starts, answers, stops, or says why not."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

import tests.postgres
from tests.postgres import PostgresUnavailableError, postgres_server


async def _query(url: str) -> tuple[str, int]:
    connection = await asyncpg.connect(url.replace("postgresql+asyncpg://", "postgresql://"))
    try:
        version = await connection.fetchval("SHOW server_version")
        # Prefect's migrations create this extension: the wheel must ship it.
        available = await connection.fetchval(
            "SELECT count(*) FROM pg_available_extensions WHERE name = 'pg_trgm'"
        )
    finally:
        await connection.close()
    return str(version), int(available)


def test_a_server_starts_on_loopback_answers_and_is_gone_afterwards() -> None:
    with postgres_server() as url:
        assert url.startswith("postgresql+asyncpg://postgres@127.0.0.1:")
        version, trgm = asyncio.run(_query(url))
    assert int(version.split(".")[0]) >= 14  # Prefect needs 14.9 or later
    assert trgm == 1
    with pytest.raises(OSError, match=r"[Cc]onnect"):
        asyncio.run(_query(url))  # stopped


def test_as_root_without_an_unprivileged_account_it_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tests.postgres.os, "geteuid", lambda: 0)
    monkeypatch.setenv("VT_TEST_POSTGRES_USER", "no-such-account-vt")
    with (
        pytest.raises(PostgresUnavailableError, match=r"refuses root.*no-such-account-vt"),
        postgres_server(),
    ):
        pass
