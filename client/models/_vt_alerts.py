"""VT Alerts objects: watchlist assets (``alerting_asset``) and notifications (``alerting_notification``)."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Any

from pydantic import Field, field_validator

from ._base import EpochDatetime, VTModel, VTObject

ASSET_TYPES = ("domain", "ip range", "brand")
"""What a watchlist asset watches: a base domain, a CIDR range, or a brand."""

EVENT_SEVERITIES = ("info", "low", "medium", "high")
"""``event_severity`` of a notification, lowest first."""


class AlertingAssetAttributes(VTModel):
    """Attributes of an ``alerting_asset``."""

    asset_type: str
    value: str
    asset_info: dict[str, Any] = Field(default_factory=dict)
    creation_date: EpochDatetime | None = None
    last_modification_date: EpochDatetime | None = None


class AlertingNotificationAttributes(VTModel):
    """Attributes of an ``alerting_notification``.

    ``created`` is an ISO-8601 string on the wire (``YYYY-MM-DDThh:mm:ss.sss``, not epoch
    seconds like the rest of v3); without a zone it is read as UTC.
    """

    created: datetime
    event_severity: str = "info"
    use_case_category: str | None = None
    detection_category: str | None = None
    is_read: bool = False
    event_message_json: dict[str, Any] = Field(default_factory=dict)

    @field_validator("created")
    @classmethod
    def _utc(cls, value: datetime) -> datetime:
        return value if value.tzinfo is not None else value.replace(tzinfo=timezone.utc)


AlertingAsset = VTObject[AlertingAssetAttributes]
AlertingNotification = VTObject[AlertingNotificationAttributes]
