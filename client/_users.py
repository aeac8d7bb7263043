"""``/users (quotas)``."""

from __future__ import annotations

from ._lookups import _Area


class Users(_Area):
    """``/users (quotas)``."""
