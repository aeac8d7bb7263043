"""State for the SOC endpoints: download tampering, community comments and votes.

Comments and votes added through the API are kept per object (``(type, id)``); the world's
own objects start with none. ``corrupt_downloads`` makes the next N sample downloads arrive
with one byte flipped in transit, so clients can prove they check what they receive.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SocState"]


@dataclass
class SocState:
    """Downloads to corrupt, and the comments and votes added so far."""

    corrupt_downloads: int = 0
    comments: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    votes: dict[tuple[str, str], list[dict[str, Any]]] = field(default_factory=dict)
    serial: int = 0

    def next_id(self) -> int:
        """A fresh number for comment and vote ids."""
        self.serial += 1
        return self.serial
