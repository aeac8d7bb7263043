"""The command line in process on its direct path, as a user's shell without Prefect runs it.

A command answers directly when no Prefect API is configured (``cli.runs_direct``). In a test
process that can depend on what ran before: the session's Prefect harness, once started,
configures one for the rest of the session. ``direct_cli`` takes it away for one test, so that
a test of the command line's handling of its input runs the direct path whatever the order,
without Prefect's per-run cost; and it gives the test a local state folder (``$VT_STATE_DIR``)
of its own, never the user's.

``cli_batch`` runs the real command line in a fresh process, several commands one after
another (``tests/cli_batch.py``), for the tests that must see a process as a shell does:
its imports, its stdout and stderr, its exit code, no Prefect server started.
"""

from __future__ import annotations

import dataclasses
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest


@pytest.fixture
def direct_cli(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    """No Prefect API for this test, and a state folder of its own (its path)."""
    for name in list(os.environ):
        if name.startswith(("PREFECT_API", "PREFECT_PROFILE")):
            monkeypatch.delenv(name)
    state = tmp_path_factory.mktemp("vt-state")
    monkeypatch.setenv("VT_STATE_DIR", str(state))
    if "prefect.settings" not in sys.modules:
        yield state  # Prefect not even imported: nothing can name an API but the files it would read
        return
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(restore_defaults={PREFECT_API_URL}):
        yield state


BATCH = Path(__file__).resolve().with_name("cli_batch.py")


@dataclasses.dataclass(frozen=True)
class Ran:
    """One command of a ``cli_batch`` process: what a shell would have seen, and the process after it."""

    args: list[str]
    returncode: int
    stdout: str
    stderr: str
    modules: frozenset[str]
    """Every module the process held once this command was over (those of the commands before it too)."""
    databases: list[str]
    """The ``*.db`` files under ``PREFECT_HOME`` once this command was over."""

    @property
    def prefect_modules(self) -> list[str]:
        return sorted(m for m in self.modules if m == "prefect" or m.startswith("prefect."))


def cli_batch(
    runs: list[tuple[list[str], dict[str, str]]], env: dict[str, str], cwd: Path, timeout: float = 300
) -> list[Ran]:
    """Run the commands one after another in ONE fresh interpreter (``tests/cli_batch.py``).

    ``runs`` are (arguments, environment added for that command); ``env`` is the process's
    whole environment. The first command is a fresh process's first, as from a shell; the
    process start is paid once for all of them.
    """
    spec, result = cwd / "batch-spec.json", cwd / "batch-result.json"
    spec.write_text(json.dumps([{"args": args, "env": extra} for args, extra in runs]))
    try:
        # -P: nothing prepended to sys.path (``-m`` would prepend the working folder, empty here).
        done = subprocess.run(
            [sys.executable, "-P", str(BATCH), str(spec), str(result)],
            env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout, check=False,
        )  # fmt: skip
        assert done.returncode == 0 and result.exists(), done.stdout + done.stderr
        ran = [Ran(**{**r, "modules": frozenset(r["modules"])}) for r in json.loads(result.read_text())]
    finally:
        spec.unlink(missing_ok=True)
        result.unlink(missing_ok=True)
    assert [r.args for r in ran] == [args for args, _ in runs]
    return ran
