"""The ``prefect-virustotal`` command line."""

from ._app import app
from ._common import ExitCode, emulator_credentials
from ._setup import main as setup_main

__all__ = ["ExitCode", "app", "emulator_credentials", "setup_main"]
