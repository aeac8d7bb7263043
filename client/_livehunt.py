"""``/intelligence/hunting_rulesets``."""

from __future__ import annotations

from ._lookups import _Area


class Livehunt(_Area):
    """``/intelligence/hunting_rulesets``."""
