"""Community votes and DNS resolution objects."""

from __future__ import annotations

from ._base import EpochDatetime, VTModel, VTObject


class VoteAttributes(VTModel):
    """Attributes of a ``vote``: ``verdict`` is ``malicious`` or ``harmless``."""

    verdict: str = ""
    value: int | None = None
    date: EpochDatetime | None = None


VoteObject = VTObject[VoteAttributes]


class ResolutionAttributes(VTModel):
    """Attributes of a ``resolution``: a domain seen resolving to an IP address."""

    date: EpochDatetime | None = None
    host_name: str = ""
    ip_address: str = ""
    resolver: str | None = None


ResolutionObject = VTObject[ResolutionAttributes]
