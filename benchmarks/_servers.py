"""A real ``prefect server start`` for the benchmarks that compare backends (SQLite, PostgreSQL)."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # tests/postgres.py: the one way this project starts PostgreSQL

from tests.postgres import free_port  # noqa: E402


@contextmanager
def prefect_server(database_url: str | None, settings: Mapping[str, str] | None = None) -> Iterator[str]:
    """``prefect server start`` on a free loopback port (a fresh home); yields its API URL.

    ``settings``: more of the server's environment (``PREFECT_SERVER_...`` variables).
    """
    port = free_port()
    home = tempfile.mkdtemp(prefix="bench-backend-home-")
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(
        PREFECT_HOME=home,
        PREFECT_SERVER_ANALYTICS_ENABLED="false",
        PREFECT_UI_ENABLED="false",
        PREFECT_LOGGING_LEVEL="WARNING",
    )
    if database_url is not None:
        env["PREFECT_SERVER_DATABASE_CONNECTION_URL"] = database_url
    env.update(settings or {})
    log = Path(home) / "server.log"
    with log.open("w") as out:
        server = subprocess.Popen(
            [str(Path(sys.executable).parent / "prefect"), "server", "start", "--host", "127.0.0.1",
             "--port", str(port)],
            env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    api = f"http://127.0.0.1:{port}/api"
    try:
        deadline = time.monotonic() + 150
        while True:
            if server.poll() is not None:
                raise RuntimeError(f"prefect server exited {server.returncode}:\n{log.read_text()[-3000:]}")
            try:
                if httpx.get(f"{api}/health", timeout=5).json() is True:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError(f"prefect server not ready:\n{log.read_text()[-3000:]}")
            time.sleep(0.5)
        yield api
    finally:
        server.terminate()
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        # The in-memory message broker drops what a slow consumer (the event persister,
        # the triggers) has not taken once 10,000 are queued: say so, it is a lost event.
        lines = log.read_text(errors="replace").splitlines()
        dropped = [line for line in lines if "dropping" in line.lower()]
        if dropped:
            print(f"[prefect server: {len(dropped)} log lines about dropped messages: {dropped[0][:300]}]",
                  file=sys.stderr)  # fmt: skip
