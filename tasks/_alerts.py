"""IoC Stream and livehunt notification tasks: list, get, delete, and the poller's page and batch reads."""

from __future__ import annotations

from collections.abc import Sequence

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client.models import (
    AcknowledgeResult,
    AlertPage,
    HuntingNotificationFile,
    HuntingNotificationObject,
    IoCStreamItem,
    IoCStreamNotificationObject,
)
from prefect_virustotal.core import (
    AlertBatch,
    AlertCheckpoint,
    AlertListing,
    acknowledge_notifications,
    check_alert_source,
    read_alert_batch,
    read_alert_page,
)


@task(name="VirusTotal: list IoC stream", retries=0, cache_policy=NO_CACHE)
async def list_ioc_stream(
    filter: str | None = None,
    order: str = "date-",
    limit: int = 40,
    descriptors_only: bool = False,
    *,
    credentials: VirusTotalCredentials,
) -> list[IoCStreamItem]:
    """List IoC Stream entries (files, URLs, domains, IP addresses) with their context.

    Args:
        filter: e.g. ``origin:hunting entity_type:file date:2026-01-01T00:00:00+``.
        order: ``date-`` (newest first) or ``date+``.
        limit: most entries (pages of 40 are fetched as needed).
        descriptors_only: entries without attributes.
        credentials: the VirusTotal credentials block.

    Returns:
        The entries; ``context.notification_id`` names each notification.

    Raises:
        InvalidParameterError: a bad order or filter (no request made).
        BadRequestError: VirusTotal refused the filter (e.g. an unknown origin).

    Example:
        ```python
        items = await list_ioc_stream(filter="origin:hunting", limit=100, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        items = await vt.ioc_stream.list(
            filter=filter, order=order, descriptors_only=descriptors_only, limit=limit
        ).collect()
    get_run_logger().info("IoC Stream: %d entries", len(items))
    return items


@task(name="VirusTotal: get IoC stream notification", retries=0, cache_policy=NO_CACHE)
async def get_ioc_stream_notification(
    notification_id: str, *, credentials: VirusTotalCredentials
) -> IoCStreamNotificationObject:
    """Get one IoC Stream notification.

    Args:
        notification_id: the notification's id.
        credentials: the VirusTotal credentials block.

    Returns:
        The notification object.

    Raises:
        NotFoundError: no such notification (or it was deleted).

    Example:
        ```python
        notification = await get_ioc_stream_notification("1234567890", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        notification = await vt.ioc_stream.get(notification_id)
    get_run_logger().info("IoC Stream notification %s", notification.id)
    return notification


@task(name="VirusTotal: delete IoC stream notification", retries=0, cache_policy=NO_CACHE)
async def delete_ioc_stream_notification(notification_id: str, *, credentials: VirusTotalCredentials) -> None:
    """Delete one IoC Stream notification.

    Args:
        notification_id: the notification's id.
        credentials: the VirusTotal credentials block.

    Returns:
        None, like every delete of the pack (client and tasks): success is the absence of
        an error; nothing with that id is a ``NotFoundError``.

    Raises:
        NotFoundError: no such notification.

    Example:
        ```python
        await delete_ioc_stream_notification("1234567890", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        await vt.ioc_stream.delete(notification_id)
    get_run_logger().info("deleted IoC Stream notification %s", notification_id)


@task(name="VirusTotal: delete IoC stream notifications", retries=0, cache_policy=NO_CACHE)
async def delete_ioc_stream_notifications(
    filter: str | None = None, *, credentials: VirusTotalCredentials
) -> None:
    """Delete every IoC Stream notification matching a filter (all of them without one).

    VirusTotal deletes in the background: the entries may be listed for a while.

    Args:
        filter: which ones, e.g. ``origin:subscriptions``; None deletes all.
        credentials: the VirusTotal credentials block.

    Returns:
        None, like every delete of the pack (client and tasks): success is the absence of
        an error; nothing with that id is a ``NotFoundError``.

    Example:
        ```python
        await delete_ioc_stream_notifications("origin:subscriptions", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        await vt.ioc_stream.delete_all(filter=filter)
    get_run_logger().info("deleted IoC Stream notifications matching %r", filter or "(all)")


@task(name="VirusTotal: list hunting notifications", retries=0, cache_policy=NO_CACHE)
async def list_hunting_notifications(
    filter: str | None = None, order: str = "date-", limit: int = 40, *, credentials: VirusTotalCredentials
) -> list[HuntingNotificationObject]:
    """List livehunt notifications, each with its file's descriptor embedded.

    Args:
        filter: e.g. ``tag:my_rule date:2026-01-01T00:00:00+``.
        order: ``date-`` (newest first) or ``date+``.
        limit: most notifications.
        credentials: the VirusTotal credentials block.

    Returns:
        The notifications (``relationships["file"]`` names the matched file).

    Example:
        ```python
        notifications = await list_hunting_notifications(filter="tag:my_rule", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        items = await vt.hunting_notifications.list(filter=filter, order=order, limit=limit).collect()
    get_run_logger().info("livehunt notifications: %d", len(items))
    return items


@task(name="VirusTotal: get hunting notification", retries=0, cache_policy=NO_CACHE)
async def get_hunting_notification(
    notification_id: str, *, credentials: VirusTotalCredentials
) -> HuntingNotificationObject:
    """Get one livehunt notification.

    Args:
        notification_id: the notification's id.
        credentials: the VirusTotal credentials block.

    Returns:
        The notification, its file's descriptor embedded.

    Raises:
        NotFoundError: no such notification.

    Example:
        ```python
        notification = await get_hunting_notification("5681415357202432", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        notification = await vt.hunting_notifications.get(notification_id)
    get_run_logger().info("livehunt notification %s", notification.id)
    return notification


@task(name="VirusTotal: delete hunting notification", retries=0, cache_policy=NO_CACHE)
async def delete_hunting_notification(notification_id: str, *, credentials: VirusTotalCredentials) -> None:
    """Delete one livehunt notification.

    Args:
        notification_id: the notification's id.
        credentials: the VirusTotal credentials block.

    Returns:
        None, like every delete of the pack (client and tasks): success is the absence of
        an error; nothing with that id is a ``NotFoundError``.

    Raises:
        NotFoundError: no such notification.

    Example:
        ```python
        await delete_hunting_notification("5681415357202432", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        await vt.hunting_notifications.delete(notification_id)
    get_run_logger().info("deleted livehunt notification %s", notification_id)


@task(name="VirusTotal: delete hunting notifications", retries=0, cache_policy=NO_CACHE)
async def delete_hunting_notifications(tag: str | None = None, *, credentials: VirusTotalCredentials) -> None:
    """Delete every livehunt notification with a tag (a rule or ruleset name), or all.

    Args:
        tag: which ones; None deletes all of them.
        credentials: the VirusTotal credentials block.

    Returns:
        None, like every delete of the pack (client and tasks): success is the absence of
        an error; nothing with that id is a ``NotFoundError``.

    Example:
        ```python
        await delete_hunting_notifications(tag="my_ruleset", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        await vt.hunting_notifications.delete_all(tag=tag)
    get_run_logger().info("deleted livehunt notifications tagged %r", tag or "(all)")


@task(name="VirusTotal: list hunting notification files", retries=0, cache_policy=NO_CACHE)
async def list_hunting_notification_files(
    filter: str | None = None, limit: int = 40, *, credentials: VirusTotalCredentials
) -> list[HuntingNotificationFile]:
    """List the files livehunt matched, each with its notification's context.

    Args:
        filter: e.g. a rule name or ``date:2026-01-01+``.
        limit: most files.
        credentials: the VirusTotal credentials block.

    Returns:
        Files with ``context`` (notification id and date, ruleset, rule, snippet).

    Example:
        ```python
        files = await list_hunting_notification_files(limit=100, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        items = await vt.hunting_notifications.list_files(filter=filter, limit=limit).collect()
    get_run_logger().info("livehunt notification files: %d", len(items))
    return items


@task(name="VirusTotal: fetch alert page", retries=0, cache_policy=NO_CACHE, cache_result_in_memory=False)
async def fetch_alert_page(
    source: str = "ioc_stream",
    since: int | None = None,
    filter: str | None = None,
    cursor: str | None = None,
    page_size: int = 40,
    *,
    credentials: VirusTotalCredentials,
) -> AlertPage:
    """Fetch one page of notifications, oldest first (``order=date+``), as alerts.

    One request (plus the client's retries). ``poll_alerts`` calls it page after page.

    Args:
        source: ``ioc_stream`` or ``hunting_notifications``.
        since: only notifications at or after this epoch second (``date:<iso>+``).
        filter: more filter text, e.g. ``origin:hunting``.
        cursor: the cursor of the page; None for the first.
        page_size: notifications per page, at most 40.
        credentials: the VirusTotal credentials block.

    Returns:
        The page: alerts, the next cursor (None on the last page), requests sent.

    Raises:
        InvalidArgumentError: VirusTotal refused the cursor (expired or foreign).

    Example:
        ```python
        page = await fetch_alert_page(since=1767225600, filter="origin:hunting", credentials=credentials)
        ```
    """
    checked = check_alert_source(source)
    async with credentials.get_client() as vt:
        page = await read_alert_page(vt, checked, since, filter, cursor, page_size)
    get_run_logger().info("%s: %d alerts (more: %s)", checked, len(page.alerts), page.cursor is not None)
    return page


@task(name="VirusTotal: fetch alert batch", retries=0, cache_policy=NO_CACHE, cache_result_in_memory=False)
async def fetch_alert_batch(
    listing: AlertListing,
    checkpoint: AlertCheckpoint,
    alerts_left: int,
    requests_left: int,
    *,
    credentials: VirusTotalCredentials,
) -> AlertBatch:
    """Read a batch of new alerts: up to ``listing.batch_pages`` pages with one client.

    ``poll_alerts`` runs it once per batch (one task run for several pages). An error after
    some pages is returned in ``AlertBatch.error`` with the alerts read before it.

    Args:
        listing: the source, its query and where the listing stands.
        checkpoint: what was handed on already (those alerts are dropped).
        alerts_left: most new alerts to return.
        requests_left: most requests to send.
        credentials: the VirusTotal credentials block.

    Returns:
        The new alerts, where the listing goes on, and counts (pages, requests, caps).

    Example:
        ```python
        batch = await fetch_alert_batch(
            AlertListing("ioc_stream"), AlertCheckpoint(), 200, 10, credentials=credentials
        )
        ```
    """
    async with credentials.get_client() as vt:
        batch = await read_alert_batch(vt, listing, checkpoint, alerts_left, requests_left)
    logger = get_run_logger()
    if batch.cursor_restarts:
        logger.warning("%s: cursor refused; reading again from the checkpoint", listing.source)
    logger.info(
        "%s: %d new alerts in %d pages (more: %s)", listing.source, len(batch.alerts), batch.pages, batch.more
    )
    return batch


@task(name="VirusTotal: acknowledge alerts", retries=0, cache_policy=NO_CACHE, cache_result_in_memory=False)
async def acknowledge_alerts(
    notification_ids: Sequence[str],
    source: str = "ioc_stream",
    concurrency: int = 4,
    *,
    credentials: VirusTotalCredentials,
) -> AcknowledgeResult:
    """Delete notifications at VirusTotal once they have been handed on.

    A notification that is already gone (404) counts as acknowledged. Any other error
    stops the task (the ones deleted before it stay deleted; deleting again is harmless).

    Args:
        notification_ids: the notifications to delete.
        source: ``ioc_stream`` or ``hunting_notifications``.
        concurrency: deletions in flight at once.
        credentials: the VirusTotal credentials block.

    Returns:
        Which ids were deleted now and which were already gone.

    Example:
        ```python
        ids = [alert.notification_id for alert in alerts]
        result = await acknowledge_alerts(ids, credentials=credentials)
        ```
    """
    checked = check_alert_source(source)
    async with credentials.get_client() as vt:
        result = await acknowledge_notifications(vt, checked, notification_ids, concurrency)
    get_run_logger().info(
        "%s: acknowledged %d (%d already gone)", checked, len(result.deleted), len(result.already_gone)
    )
    return result
