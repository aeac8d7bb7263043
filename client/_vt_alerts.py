"""VT Alerts (``vt.alerts``): watchlist assets and their notifications.

A product of its own, not the IoC Stream: ``/alerts/assets`` and ``/alerts/notifications``.
Every input is checked before a request is sent. UNCONFIRMED in the reference: the list
``order`` values (``created-``/``created+`` are sent only when asked) and any ``filter``.
"""

from __future__ import annotations

import ipaddress
from typing import Any

from pydantic import ValidationError

from ._errors import InvalidParameterError, UnexpectedResponseError
from ._identifiers import parse_domain
from ._lookups import _Area
from ._notices import MAX_PAGE_SIZE, parse_notification_id
from ._pagination import Paginator
from .models._vt_alerts import (
    ASSET_TYPES,
    AlertingAsset,
    AlertingAssetAttributes,
    AlertingNotification,
    AlertingNotificationAttributes,
)

_ASSETS = "/alerts/assets"
_NOTIFICATIONS = "/alerts/notifications"
NOTIFICATION_ORDERS = ("created-", "created+")


def _parse(model: type[Any], raw: Any, what: str) -> Any:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise UnexpectedResponseError("InvalidResponse", f"malformed {what}", 200) from exc


def parse_asset(raw: Any) -> AlertingAsset:
    """One ``alerting_asset`` object."""
    return _parse(AlertingAsset, raw, "alerting_asset")  # type: ignore[no-any-return]


def parse_alerting_notification(raw: Any) -> AlertingNotification:
    """One ``alerting_notification`` object."""
    return _parse(AlertingNotification, raw, "alerting_notification")  # type: ignore[no-any-return]


def check_asset(asset_type: str, value: str) -> str:
    """The value to send for an asset of this type (a bad one costs no request)."""
    if asset_type not in ASSET_TYPES:
        raise InvalidParameterError(f"asset_type must be one of {', '.join(ASSET_TYPES)}, got {asset_type!r}")
    if not isinstance(value, str) or not value.strip():
        raise InvalidParameterError("an asset needs a value")
    if asset_type == "domain":
        return parse_domain(value)
    if asset_type == "ip range":
        try:
            return str(ipaddress.ip_network(value.strip(), strict=False))
        except ValueError:
            raise InvalidParameterError(f"{value!r} is not an IP range in CIDR form") from None
    if len(value) > 1024:
        raise InvalidParameterError("a brand description is at most 1024 characters")
    return value.strip()


def _page_size(value: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_PAGE_SIZE:
        raise InvalidParameterError(f"page_size must be 1..{MAX_PAGE_SIZE}")
    return value


class VtAlerts(_Area):
    """``/alerts/assets`` and ``/alerts/notifications``."""

    def list_assets(
        self, *, page_size: int = MAX_PAGE_SIZE, limit: int | None = None, cursor: str | None = None
    ) -> Paginator[AlertingAsset]:
        """The watchlist assets of the key's user (``GET /alerts/assets``)."""
        return self._client.paginate(
            _ASSETS, parse_asset, page_size=_page_size(page_size), limit=limit, cursor=cursor
        )

    async def create_asset(
        self, asset_type: str, value: str, *, asset_info: dict[str, Any] | None = None
    ) -> AlertingAsset:
        """Watch a base domain, an IP range (CIDR) or a brand (``POST /alerts/assets``)."""
        attributes: dict[str, Any] = {"asset_type": asset_type, "value": check_asset(asset_type, value)}
        if asset_info:
            attributes["asset_info"] = dict(asset_info)
        body = {"data": {"type": "alerting_asset", "attributes": attributes}}
        answer = await self._client.request_json("POST", _ASSETS, json_body=body, idempotent=False)
        return parse_asset((answer or {}).get("data"))

    async def get_asset(self, asset_id: str) -> AlertingAsset:
        """One asset (``GET /alerts/assets/{id}``)."""
        ident = parse_notification_id(asset_id)
        return parse_asset((await self._client.request_json("GET", f"{_ASSETS}/{ident}")).get("data"))

    async def delete_asset(self, asset_id: str) -> None:
        """Stop watching an asset (``DELETE /alerts/assets/{id}``)."""
        ident = parse_notification_id(asset_id)
        await self._client.request("DELETE", f"{_ASSETS}/{ident}")

    def list_notifications(
        self,
        *,
        order: str | None = None,
        page_size: int = MAX_PAGE_SIZE,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[AlertingNotification]:
        """The notifications of the user's assets (``GET /alerts/notifications``).

        ``order``: ``created-`` (newest first) or ``created+``; not sent when None.
        """
        params: dict[str, str] = {}
        if order is not None:
            if order not in NOTIFICATION_ORDERS:
                raise InvalidParameterError(f"order must be one of {', '.join(NOTIFICATION_ORDERS)}")
            params["order"] = order
        return self._client.paginate(
            _NOTIFICATIONS,
            parse_alerting_notification,
            params=params,
            page_size=_page_size(page_size),
            limit=limit,
            cursor=cursor,
        )

    async def get_notification(self, notification_id: str) -> AlertingNotification:
        """One notification (``GET /alerts/notifications/{id}``)."""
        ident = parse_notification_id(notification_id)
        answer = await self._client.request_json("GET", f"{_NOTIFICATIONS}/{ident}")
        return parse_alerting_notification(answer.get("data"))


__all__ = ["NOTIFICATION_ORDERS", "AlertingAssetAttributes", "AlertingNotificationAttributes", "VtAlerts"]
