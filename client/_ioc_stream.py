"""``/ioc_stream and /ioc_stream_notifications``."""

from __future__ import annotations

from ._lookups import _Area


class IoCStream(_Area):
    """``/ioc_stream and /ioc_stream_notifications``."""
