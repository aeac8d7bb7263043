"""``/collections``."""

from __future__ import annotations

from ._lookups import _Area


class Collections(_Area):
    """``/collections``."""
