"""``/intelligence/retrohunt_jobs``."""

from __future__ import annotations

from ._lookups import _Area


class Retrohunt(_Area):
    """``/intelligence/retrohunt_jobs``."""
