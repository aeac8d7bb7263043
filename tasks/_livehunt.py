"""Livehunt tasks: rulesets that run YARA on every new file, and the files they matched."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client.models import HuntingRuleset, RulesetFiles


@task(name="VirusTotal: list hunting rulesets", retries=0, cache_policy=NO_CACHE)
async def list_hunting_rulesets(
    filter: str | None = None,
    order: str | None = None,
    limit: int | None = 200,
    *,
    credentials: VirusTotalCredentials,
) -> list[HuntingRuleset]:
    """List the user's livehunt rulesets.

    Args:
        filter: e.g. ``name:apt* enabled:true tag:ops``.
        order: e.g. ``name+`` or ``creation_date-``.
        limit: most rulesets to read; None for all.
        credentials: the VirusTotal credentials block.

    Returns:
        The rulesets.

    Example:
        ```python
        enabled = await list_hunting_rulesets(filter="enabled:true", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        rulesets = await vt.livehunt.list(filter=filter, order=order, limit=limit).collect()
    get_run_logger().info("%d hunting ruleset(s) listed", len(rulesets))
    return rulesets


@task(name="VirusTotal: create hunting ruleset", retries=0, cache_policy=NO_CACHE)
async def create_hunting_ruleset(
    name: str,
    rules: str,
    enabled: bool = True,
    limit: int | None = None,
    notification_emails: list[str] | None = None,
    match_object_type: str | None = None,
    tags: list[str] | None = None,
    validate: bool = True,
    *,
    credentials: VirusTotalCredentials,
) -> HuntingRuleset:
    """Create a livehunt ruleset; the rules are compiled locally first.

    Args:
        name: the ruleset's name.
        rules: the YARA rules.
        enabled: run it on new files at once.
        limit: most notifications per 24 hours.
        notification_emails: addresses to notify.
        match_object_type: ``file`` (default at VirusTotal), ``url``, ``domain`` or ``ip``
            (``ip_address`` is taken as ``ip``).
        tags: labels for the ruleset.
        validate: compile locally before sending (needs the ``yara`` extra).
        credentials: the VirusTotal credentials block.

    Returns:
        The new ruleset.

    Raises:
        YaraSyntaxError: the rules do not compile (no request made).

    Example:
        ```python
        ruleset = await create_hunting_ruleset("apt-x", rules, limit=50, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        ruleset = await vt.livehunt.create(
            name,
            rules,
            enabled=enabled,
            limit=limit,
            notification_emails=notification_emails,
            match_object_type=match_object_type,
            tags=tags,
            validate=validate,
        )
    get_run_logger().info(
        "hunting ruleset %s created (%d rules; %s)",
        ruleset.id,
        len(ruleset.attributes.rule_names),
        vt.request_figures(),
    )
    return ruleset


@task(name="VirusTotal: get hunting ruleset", retries=0, cache_policy=NO_CACHE)
async def get_hunting_ruleset(ruleset_id: str, *, credentials: VirusTotalCredentials) -> HuntingRuleset:
    """Get a livehunt ruleset.

    Args:
        ruleset_id: the ruleset id.
        credentials: the VirusTotal credentials block.

    Returns:
        The ruleset.

    Raises:
        NotFoundError: no such ruleset for this key's user.

    Example:
        ```python
        ruleset = await get_hunting_ruleset("5000000001", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        ruleset = await vt.livehunt.get(ruleset_id)
    get_run_logger().info("hunting ruleset %s: enabled=%s", ruleset.id, ruleset.attributes.enabled)
    return ruleset


@task(name="VirusTotal: update hunting ruleset", retries=0, cache_policy=NO_CACHE)
async def update_hunting_ruleset(
    ruleset_id: str,
    name: str | None = None,
    rules: str | None = None,
    enabled: bool | None = None,
    limit: int | None = None,
    notification_emails: list[str] | None = None,
    match_object_type: str | None = None,
    tags: list[str] | None = None,
    validate: bool = True,
    *,
    credentials: VirusTotalCredentials,
) -> HuntingRuleset:
    """Change a livehunt ruleset: enable, disable, rename, new rules, limit, e-mails, type, tags.

    Only the arguments given are sent; new rules are compiled locally first.

    Args:
        ruleset_id: the ruleset id.
        name: a new name.
        rules: new YARA rules.
        enabled: turn it on or off.
        limit: most notifications per 24 hours.
        notification_emails: the new list of addresses.
        match_object_type: ``file``, ``url``, ``domain`` or ``ip`` (``ip_address`` is taken as ``ip``).
        tags: the new list of tags.
        validate: compile new rules locally before sending.
        credentials: the VirusTotal credentials block.

    Returns:
        The ruleset after the change.

    Raises:
        InvalidParameterError: nothing to change or a bad value (no request made).

    Example:
        ```python
        await update_hunting_ruleset(ruleset.id, enabled=False, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        ruleset = await vt.livehunt.update(
            ruleset_id,
            name=name,
            rules=rules,
            enabled=enabled,
            limit=limit,
            notification_emails=notification_emails,
            match_object_type=match_object_type,
            tags=tags,
            validate=validate,
        )
    get_run_logger().info("hunting ruleset %s updated", ruleset.id)
    return ruleset


@task(name="VirusTotal: delete hunting ruleset", retries=0, cache_policy=NO_CACHE)
async def delete_hunting_ruleset(ruleset_id: str, *, credentials: VirusTotalCredentials) -> None:
    """Delete a livehunt ruleset.

    Args:
        ruleset_id: the ruleset id.
        credentials: the VirusTotal credentials block.

    Returns:
        None, like every delete of the pack (client and tasks): success is the absence of
        an error; nothing with that id is a ``NotFoundError``.

    Example:
        ```python
        await delete_hunting_ruleset(ruleset.id, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        await vt.livehunt.delete(ruleset_id)
    get_run_logger().info("hunting ruleset %s deleted", ruleset_id)


@task(name="VirusTotal: list hunting ruleset files", retries=0, cache_policy=NO_CACHE)
async def list_hunting_ruleset_files(
    ruleset_id: str,
    limit: int | None = 1000,
    cursor: str | None = None,
    *,
    credentials: VirusTotalCredentials,
) -> RulesetFiles:
    """Read the files a livehunt ruleset notified about, with each notification's context.

    Args:
        ruleset_id: the ruleset id.
        limit: most files to read; None for all.
        cursor: a ``resume_cursor`` from an earlier call, to continue there.
        credentials: the VirusTotal credentials block.

    Returns:
        File descriptors (``context_attributes``: rule, ruleset, snippet, date) and where to resume.

    Example:
        ```python
        files = await list_hunting_ruleset_files(ruleset.id, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        pages = vt.livehunt.list_matching_files(ruleset_id, limit=limit, cursor=cursor)
        files = await pages.collect()
        result = RulesetFiles(
            ruleset_id=ruleset_id, files=files, resume_cursor=pages.resume_token, total=pages.count
        )
    get_run_logger().info("hunting ruleset %s: %d file(s) read", ruleset_id, len(files))
    return result
