"""The ``prefect-virustotal`` command line."""

import os

# Set before Prefect is imported, for a command that must start Prefect's ephemeral server from
# a user's shell: a start-up timeout that fits a small, busy machine (Prefect's default of 20 s
# does not) and no analytics. A user's own settings win.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "90")
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")

from ._app import app
from ._common import ExitCode, emulator_credentials
from ._setup import main as setup_main

__all__ = ["ExitCode", "app", "emulator_credentials", "setup_main"]
