"""VT Alerts, a product of its own: watchlist assets and the notifications they raise.

Routes: ``GET/POST /alerts/assets``, ``GET/DELETE /alerts/assets/{id}`` (``alerting_asset``)
and ``GET /alerts/notifications``, ``GET /alerts/notifications/{id}`` (``alerting_notification``).

Assets belong to the ``user_id`` of the key that made them: a ``domain`` (a base domain), an
``ip range`` (a CIDR) or a ``brand`` (a description). Notifications are raised when something
enters the world that touches a watched domain or IP range: a URL on the domain (or a subdomain)
or on an address in the range, or a file whose bytes name the domain. Tests inject others with
``Emulator.inject_vt_alert``.

UNCONFIRMED in the reference and guessed here: the list order (newest first, ``order=created+``
for oldest first), the ``filter`` syntax (none is served), the licence the routes need (a
premium key here, 403 ``ForbiddenError`` otherwise), and the ``event_message_json`` layout
beyond its ``timestamp`` and one sighting.
"""

from __future__ import annotations

import ipaddress
import itertools
import threading
from dataclasses import dataclass, field
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from ._errors import ApiError
from ._faults import API_PREFIX
from ._pagination import paginate
from ._quota import KeyTier
from ._render import api_base, caller, emulator_of

if TYPE_CHECKING:
    from ._clock import EmulatorClock
    from ._world import World

__all__ = ["AlertingAsset", "AlertingNotification", "VtAlertsState", "routes"]

ASSET_TYPES = ("domain", "ip range", "brand")
SEVERITIES = ("info", "low", "medium", "high")
_SEVERITY_OF_NATURE = {"malicious": "high", "suspicious": "medium"}


def iso(epoch: float) -> str:
    """``created`` as the reference shows it: ``YYYY-MM-DDThh:mm:ss.sss`` (UTC)."""
    return datetime.fromtimestamp(epoch, tz=timezone.utc).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3]


@dataclass
class AlertingAsset:
    """One watched asset."""

    id: str
    owner: str
    asset_type: str
    value: str
    created: int
    modified: int
    asset_info: dict[str, Any] = field(default_factory=dict)

    def watches_host(self, host: str) -> bool:
        """Whether a host name or address falls under this asset."""
        if self.asset_type == "domain":
            return host == self.value or host.endswith("." + self.value)
        if self.asset_type == "ip range":
            try:
                return ipaddress.ip_address(host) in ipaddress.ip_network(self.value, strict=False)
            except ValueError:
                return False
        return False


@dataclass
class AlertingNotification:
    """One notification raised for an owner's asset."""

    id: str
    owner: str
    created: float
    event_severity: str
    use_case_category: str
    detection_category: str
    entity_type: str
    entity_id: str
    event: dict[str, Any]
    is_read: bool = False


class VtAlertsState:
    """Every user's assets and notifications; watches what enters the world."""

    def __init__(self, world: World, clock: EmulatorClock) -> None:
        self.world = world
        self.clock = clock
        self._lock = threading.Lock()
        self._ids = itertools.count(1)
        self.assets: dict[str, AlertingAsset] = {}
        self.notifications: list[AlertingNotification] = []
        world.on_file_added(self.on_new_file)
        world.on_url_added(self.on_new_url)

    def add_asset(self, owner: str, attributes: dict[str, Any]) -> AlertingAsset:
        """Validate and store an asset (400 ``InvalidArgumentError`` for a bad one)."""
        kind, value = attributes.get("asset_type"), attributes.get("value")
        if kind not in ASSET_TYPES:
            raise ApiError("InvalidArgumentError", f"asset_type must be one of {', '.join(ASSET_TYPES)}")
        if not isinstance(value, str) or not value.strip():
            raise ApiError("InvalidArgumentError", "an asset needs a value")
        value = value.strip().lower() if kind != "brand" else value.strip()
        if kind == "ip range":
            try:
                value = str(ipaddress.ip_network(value, strict=False))
            except ValueError:
                raise ApiError("InvalidArgumentError", f'"{value}" is not an IP range (CIDR)') from None
        elif kind == "domain" and ("." not in value or "/" in value or " " in value):
            raise ApiError("InvalidArgumentError", f'"{value}" is not a base domain')
        now = int(self.clock.time())
        info = attributes.get("asset_info") if isinstance(attributes.get("asset_info"), dict) else {}
        with self._lock:
            asset = AlertingAsset(str(next(self._ids)), owner, kind, value, now, now, dict(info or {}))
            self.assets[asset.id] = asset
        return asset

    def add_notification(
        self,
        owner: str,
        *,
        entity_type: str,
        entity_id: str,
        detection_category: str,
        event_severity: str = "high",
        use_case_category: str = "CORPORATE_INFRASTRUCTURE_ABUSE",
        created: float | None = None,
        sighting: dict[str, Any] | None = None,
    ) -> AlertingNotification:
        """Store one notification (also the test handle's way in)."""
        if event_severity not in SEVERITIES:
            raise ValueError(f"unknown severity {event_severity!r}")
        when = self.clock.time() if created is None else float(created)
        event = {
            "timestamp": {"seconds": int(when), "nanos": int((when % 1) * 1e9)},
            **(sighting or {f"{entity_type}_sighting": {"id": entity_id}}),
        }
        with self._lock:
            note = AlertingNotification(
                id=f"{next(self._ids):016d}",
                owner=owner,
                created=when,
                event_severity=event_severity,
                use_case_category=use_case_category,
                detection_category=detection_category,
                entity_type=entity_type,
                entity_id=entity_id,
                event=event,
            )
            self.notifications.append(note)
        return note

    def _watchers(self, host: str) -> list[AlertingAsset]:
        return [a for a in list(self.assets.values()) if a.watches_host(host)]

    def on_new_url(self, uid: str) -> None:
        """A URL on a watched domain or address raises ``DETECTED_URL`` for each watcher."""
        obj = self.world.get("url", uid)
        if obj is None:
            return
        url = str(obj.attributes.get("url", ""))
        host = url.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].strip("[]").lower()
        severity = _SEVERITY_OF_NATURE.get(obj.nature, "info")
        for asset in self._watchers(host):
            self.add_notification(
                asset.owner,
                entity_type="url",
                entity_id=uid,
                detection_category="DETECTED_URL",
                event_severity=severity,
                sighting={"url_sighting": {"url": {"url": url}, "asset_id": asset.id}},
            )

    def on_new_file(self, sha256: str) -> None:
        """A file whose bytes name a watched domain raises ``PATTERN_EMBEDDED_IN_FILE``."""
        domains = [a for a in list(self.assets.values()) if a.asset_type == "domain"]
        if not domains:
            return
        obj = self.world.get("file", sha256)
        content = self.world.content(sha256).lower()
        for asset in domains:
            if asset.value.encode() in content:
                self.add_notification(
                    asset.owner,
                    entity_type="file",
                    entity_id=sha256,
                    detection_category="PATTERN_EMBEDDED_IN_FILE",
                    event_severity=_SEVERITY_OF_NATURE.get(obj.nature if obj else "", "low"),
                    sighting={
                        "domain_sighting": {
                            "domain": {"name": asset.value},
                            "embedded_in_file": {"sha256": sha256},
                        }
                    },
                )


# --------------------------------------------------------------------------------- routes
def _state(request: Request) -> tuple[VtAlertsState, str]:
    key = caller(request)
    if key.tier != KeyTier.PREMIUM:
        raise ApiError("ForbiddenError", "VT Alerts requires a licence that includes it")
    return emulator_of(request).vt_alerts, key.owner


def _render_asset(base: str, asset: AlertingAsset) -> dict[str, Any]:
    return {
        "type": "alerting_asset",
        "id": asset.id,
        "links": {"self": f"{base}/alerts/assets/{asset.id}"},
        "attributes": {
            "asset_type": asset.asset_type,
            "value": asset.value,
            "asset_info": asset.asset_info,
            "creation_date": asset.created,
            "last_modification_date": asset.modified,
        },
    }


def _render_notification(base: str, note: AlertingNotification) -> dict[str, Any]:
    return {
        "type": "alerting_notification",
        "id": note.id,
        "links": {"self": f"{base}/alerts/notifications/{note.id}"},
        "attributes": {
            "created": iso(note.created),
            "event_severity": note.event_severity,
            "use_case_category": note.use_case_category,
            "detection_category": note.detection_category,
            "is_read": note.is_read,
            "event_message_json": note.event,
        },
    }


def _own_asset(request: Request) -> tuple[VtAlertsState, AlertingAsset]:
    state, owner = _state(request)
    asset = state.assets.get(request.path_params["id"])
    if asset is None or asset.owner != owner:
        raise ApiError("NotFoundError", f'Asset "{request.path_params["id"]}" not found')
    return state, asset


async def list_assets(request: Request) -> Response:
    """``GET /alerts/assets``: the caller's assets, oldest first."""
    state, owner = _state(request)
    mine = [a for a in state.assets.values() if a.owner == owner]
    base = api_base(request)
    return JSONResponse(paginate(request, mine, lambda a: _render_asset(base, a), scope=f"assets:{owner}"))


async def create_asset(request: Request) -> Response:
    """``POST /alerts/assets``: ``{"data": {"type": "alerting_asset", "attributes": {...}}}``."""
    state, owner = _state(request)
    try:
        body = await request.json()
    except ValueError:
        raise ApiError("BadRequestError", "The body is not JSON") from None
    data = body.get("data") if isinstance(body, dict) else None
    attributes = data.get("attributes") if isinstance(data, dict) else None
    if not isinstance(attributes, dict):
        raise ApiError(
            "BadRequestError", 'Expected {"data": {"type": "alerting_asset", "attributes": {...}}}'
        )
    asset = state.add_asset(owner, attributes)
    return JSONResponse({"data": _render_asset(api_base(request), asset)})


async def get_asset(request: Request) -> Response:
    """``GET /alerts/assets/{id}``."""
    _, asset = _own_asset(request)
    return JSONResponse({"data": _render_asset(api_base(request), asset)})


async def delete_asset(request: Request) -> Response:
    """``DELETE /alerts/assets/{id}``."""
    state, asset = _own_asset(request)
    with state._lock:
        del state.assets[asset.id]
    return JSONResponse({})


async def list_notifications(request: Request) -> Response:
    """``GET /alerts/notifications``: newest first; ``order=created+`` for oldest first."""
    state, owner = _state(request)
    order = request.query_params.get("order") or "created-"
    if order not in ("created+", "created-"):
        raise ApiError("BadRequestError", f'Invalid order "{order}". Valid orders are: created+,created-')
    mine = sorted((n for n in state.notifications if n.owner == owner), key=lambda n: (n.created, n.id))
    if order == "created-":
        mine.reverse()
    base = api_base(request)
    scope = f"vt_alerts:{owner}:{order}"
    return JSONResponse(paginate(request, mine, lambda n: _render_notification(base, n), scope=scope))


async def get_notification(request: Request) -> Response:
    """``GET /alerts/notifications/{id}``."""
    state, owner = _state(request)
    found = next(
        (n for n in state.notifications if n.id == request.path_params["id"] and n.owner == owner), None
    )
    if found is None:
        raise ApiError("NotFoundError", f'Notification "{request.path_params["id"]}" not found')
    return JSONResponse({"data": _render_notification(api_base(request), found)})


def routes() -> list[BaseRoute]:
    """The routes of this area."""
    assets, notes = f"{API_PREFIX}/alerts/assets", f"{API_PREFIX}/alerts/notifications"
    return [
        Route(assets, list_assets, methods=["GET"]),
        Route(assets, create_asset, methods=["POST"]),
        Route(f"{assets}/{{id}}", get_asset, methods=["GET"]),
        Route(f"{assets}/{{id}}", delete_asset, methods=["DELETE"]),
        Route(notes, list_notifications, methods=["GET"]),
        Route(f"{notes}/{{id}}", get_notification, methods=["GET"]),
    ]
