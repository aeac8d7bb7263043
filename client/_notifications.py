"""``/intelligence/hunting_notifications and /intelligence/hunting_notification_files``."""

from __future__ import annotations

from ._lookups import _Area


class HuntingNotifications(_Area):
    """``/intelligence/hunting_notifications and /intelligence/hunting_notification_files``."""
