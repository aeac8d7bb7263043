"""The ``prefect-virustotal`` command line."""

from ._app import app
from ._common import ExitCode

__all__ = ["ExitCode", "app"]
