"""Tasks for VT Alerts: watchlist assets and their notifications (one client call each)."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client.models import AlertingAsset, AlertingNotification


@task(name="VirusTotal: list VT alert assets", retries=0, cache_policy=NO_CACHE)
async def list_vt_alert_assets(
    limit: int = 200, *, credentials: VirusTotalCredentials
) -> list[AlertingAsset]:
    """List the VT Alerts watchlist assets of the key's user.

    Args:
        limit: most assets (pages of 40 are fetched as needed).
        credentials: the VirusTotal credentials block (a licence that includes VT Alerts).

    Returns:
        The assets: ``attributes.asset_type`` (domain, ip range, brand) and ``value``.

    Example:
        ```python
        assets = await list_vt_alert_assets(credentials)
        ```
    """
    async with credentials.get_client() as vt:
        assets = await vt.alerts.list_assets(limit=limit).collect()
    get_run_logger().info("VT Alerts: %d assets", len(assets))
    return assets


@task(name="VirusTotal: create VT alert asset", retries=0, cache_policy=NO_CACHE)
async def create_vt_alert_asset(
    asset_type: str,
    value: str,
    asset_info: dict[str, Any] | None = None,
    *,
    credentials: VirusTotalCredentials,
) -> AlertingAsset:
    """Watch a base domain, an IP range (CIDR) or a brand with VT Alerts.

    Args:
        asset_type: ``domain``, ``ip range`` or ``brand``.
        value: the base domain, the CIDR range, or the brand's description.
        asset_info: extra details (for brands: domains, names, favicons).
        credentials: the VirusTotal credentials block.

    Returns:
        The new asset.

    Raises:
        InvalidParameterError: a bad type or value (no request made).

    Example:
        ```python
        asset = await create_vt_alert_asset("domain", "example.com", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        asset = await vt.alerts.create_asset(asset_type, value, asset_info=asset_info)
    get_run_logger().info(
        "VT Alerts: watching %s %s (asset %s)", asset_type, asset.attributes.value, asset.id
    )
    return asset


@task(name="VirusTotal: delete VT alert asset", retries=0, cache_policy=NO_CACHE)
async def delete_vt_alert_asset(asset_id: str, *, credentials: VirusTotalCredentials) -> None:
    """Stop watching a VT Alerts asset.

    Args:
        asset_id: the asset's id.
        credentials: the VirusTotal credentials block.

    Returns:
        None, like every delete of the pack (client and tasks): success is the absence of
        an error; nothing with that id is a ``NotFoundError``.

    Example:
        ```python
        await delete_vt_alert_asset("12", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        await vt.alerts.delete_asset(asset_id)
    get_run_logger().info("VT Alerts: asset %s deleted", asset_id)


@task(name="VirusTotal: list VT alert notifications", retries=0, cache_policy=NO_CACHE)
async def list_vt_alert_notifications(
    order: str | None = None, limit: int = 40, *, credentials: VirusTotalCredentials
) -> list[AlertingNotification]:
    """List VT Alerts notifications (``poll_alerts(source="vt_alerts")`` hands them on once each).

    Args:
        order: ``created-`` (newest first) or ``created+``; the service's default when None.
        limit: most notifications.
        credentials: the VirusTotal credentials block.

    Returns:
        The notifications: ``created``, ``event_severity``, the categories and the event.

    Example:
        ```python
        latest = await list_vt_alert_notifications(order="created-", limit=10, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        notes = await vt.alerts.list_notifications(order=order, limit=limit).collect()
    get_run_logger().info("VT Alerts: %d notifications", len(notes))
    return notes
