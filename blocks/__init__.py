"""Prefect blocks of the pack (``prefect block register -m prefect_virustotal.blocks``)."""

from ._credentials import VirusTotalCredentials, resolve_credentials

__all__ = ["VirusTotalCredentials", "resolve_credentials"]
