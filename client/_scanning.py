"""``/private``: private scanning of files and URLs (public scanning lives on Files, URLs, Analyses)."""

from __future__ import annotations

from ._lookups import _Area


class PrivateScanning(_Area):
    """``/private``: private scanning of files and URLs (public scanning lives on Files, URLs, Analyses)."""
