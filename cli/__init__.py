"""The ``prefect-virustotal`` command line.

A command with no Prefect API configured answers directly through the client and core and
never imports Prefect; a flow (or ``--record``, or ``PREFECT_API_URL``) imports it on demand.
"""

import os
from collections.abc import Sequence

# Set before Prefect is imported, for a command that must start Prefect's ephemeral server from
# a user's shell: a start-up timeout that fits a small, busy machine (Prefect's default of 20 s
# does not) and no analytics. A user's own settings win.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from ._app import app
from ._common import ExitCode, emulator_credentials


def setup_main(argv: Sequence[str] | None = None) -> int:
    """Run ``prefect-virustotal setup`` with ``argv``; returns the exit status (imports Prefect)."""
    from ._setup import main

    return main(argv)


__all__ = ["ExitCode", "app", "emulator_credentials", "setup_main"]
