"""``python -m prefect_virustotal.cli``."""

from ._app import app

app()
