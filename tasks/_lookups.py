"""Lookup tasks: one report each, and a batch that never fails for one bad item."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import INPUTS, NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import (
    VerdictPolicy,
    parse_indicator,
)
from prefect_virustotal.client.models import (
    AnalysisObject,
    Descriptor,
    DomainObject,
    FileObject,
    IPAddressObject,
    URLObject,
    VTObject,
)
from prefect_virustotal.core import EnrichmentReport, LookupResult, enrich_chunk, lookup_many

from ._cache import TargetIdentity

LOOKUP_CACHE = INPUTS - "credentials" + TargetIdentity()
"""An input-keyed cache policy for lookups: the block object is left out, who answers (the
endpoint and a salted hash of the key) is not.

Opt in to save quota when the same indicator is looked up again, e.g.
``get_file_report.with_options(cache_policy=LOOKUP_CACHE, cache_expiration=timedelta(hours=1))``.
"""

LOOKUP_CACHE_EXPIRATION = timedelta(hours=1)


@task(name="VirusTotal: get file report", retries=0, cache_policy=NO_CACHE)
async def get_file_report(
    file_hash: str, relationships: Sequence[str] | None = None, *, credentials: VirusTotalCredentials
) -> FileObject:
    """Get the VirusTotal report of a file.

    Args:
        file_hash: MD5, SHA-1 or SHA-256.
        relationships: relationships to embed (first page of each).
        credentials: the VirusTotal credentials block.

    Returns:
        The file object; ``attributes.last_analysis_stats`` holds the engine counts.

    Raises:
        InvalidIndicatorError: not a hash (no request made).
        NotFoundError: VirusTotal has never seen the file.

    Example:
        ```python
        report = await get_file_report("44d88612fea8a8f36de82e1278abb02f", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        report = await vt.files.get(file_hash, relationships=relationships)
    get_run_logger().info("file %s: %s", report.id, report.attributes.last_analysis_stats)
    return report


@task(name="VirusTotal: get URL report", retries=0, cache_policy=NO_CACHE)
async def get_url_report(
    url: str, relationships: Sequence[str] | None = None, *, credentials: VirusTotalCredentials
) -> URLObject:
    """Get the VirusTotal report of a URL.

    Args:
        url: the URL, its URL id or its SHA-256.
        relationships: relationships to embed.
        credentials: the VirusTotal credentials block.

    Returns:
        The URL object.

    Raises:
        InvalidIndicatorError: not a URL (no request made).
        NotFoundError: VirusTotal has never seen the URL.

    Example:
        ```python
        report = await get_url_report("http://example.com/login", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        report = await vt.urls.get(url, relationships=relationships)
    get_run_logger().info("url %s: %s", report.id, report.attributes.last_analysis_stats)
    return report


@task(name="VirusTotal: get domain report", retries=0, cache_policy=NO_CACHE)
async def get_domain_report(
    domain: str, relationships: Sequence[str] | None = None, *, credentials: VirusTotalCredentials
) -> DomainObject:
    """Get the VirusTotal report of a domain.

    Args:
        domain: the domain name.
        relationships: relationships to embed.
        credentials: the VirusTotal credentials block.

    Returns:
        The domain object.

    Raises:
        InvalidIndicatorError: not a domain (no request made).
        NotFoundError: VirusTotal does not know the domain.

    Example:
        ```python
        report = await get_domain_report("example.com", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        report = await vt.domains.get(domain, relationships=relationships)
    get_run_logger().info("domain %s: %s", report.id, report.attributes.last_analysis_stats)
    return report


@task(name="VirusTotal: get IP report", retries=0, cache_policy=NO_CACHE)
async def get_ip_report(
    ip: str, relationships: Sequence[str] | None = None, *, credentials: VirusTotalCredentials
) -> IPAddressObject:
    """Get the VirusTotal report of an IP address.

    Args:
        ip: an IPv4 or IPv6 address.
        relationships: relationships to embed.
        credentials: the VirusTotal credentials block.

    Returns:
        The IP address object.

    Raises:
        InvalidIndicatorError: not an IP address (no request made).
        NotFoundError: VirusTotal does not know the address.

    Example:
        ```python
        report = await get_ip_report("8.8.8.8", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        report = await vt.ip_addresses.get(ip, relationships=relationships)
    get_run_logger().info("ip %s: %s", report.id, report.attributes.last_analysis_stats)
    return report


@task(name="VirusTotal: get analysis", retries=0, cache_policy=NO_CACHE)
async def get_analysis(analysis_id: str, *, credentials: VirusTotalCredentials) -> AnalysisObject:
    """Get one analysis: its status, engine counts and per-engine results.

    Args:
        analysis_id: the id returned by a scan.
        credentials: the VirusTotal credentials block.

    Returns:
        The analysis object (``attributes.status`` is queued, in-progress or completed).

    Example:
        ```python
        analysis = await get_analysis(analysis_id, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = await vt.analyses.get(analysis_id)
    get_run_logger().info("analysis %s: %s", analysis.id, analysis.attributes.status)
    return analysis


@task(name="VirusTotal: get related objects", retries=0, cache_policy=NO_CACHE)
async def get_related_objects(
    indicator: str,
    relationship: str,
    limit: int = 40,
    descriptors_only: bool = False,
    *,
    credentials: VirusTotalCredentials,
) -> list[VTObject[Any]] | list[Descriptor]:
    """Get the objects related to an indicator through one relationship.

    Args:
        indicator: a hash, URL, domain or IP address (the kind is detected).
        relationship: e.g. ``contacted_domains``, ``resolutions``, ``communicating_files``.
        limit: most objects to return (pages are fetched as needed).
        descriptors_only: return ``{type, id}`` descriptors instead of full objects.
        credentials: the VirusTotal credentials block.

    Returns:
        The related objects (or descriptors), at most ``limit``.

    Example:
        ```python
        domains = await get_related_objects(sha256, "contacted_domains", limit=20, credentials=credentials)
        ```
    """
    parsed = parse_indicator(indicator)
    async with credentials.get_client() as vt:
        if descriptors_only:
            pager_d = vt.relationships.list_descriptors(
                parsed.collection, parsed.id, relationship, limit=limit
            )
            items_d = await pager_d.collect()
            get_run_logger().info("%s %s: %d %s", parsed.kind, parsed.value, len(items_d), relationship)
            return items_d
        pager = vt.relationships.list_objects(parsed.collection, parsed.id, relationship, limit=limit)
        items = await pager.collect()
    get_run_logger().info("%s %s: %d %s", parsed.kind, parsed.value, len(items), relationship)
    return items


@task(name="VirusTotal: lookup indicators", retries=0, cache_policy=NO_CACHE)
async def lookup_indicators(
    indicators: Sequence[str],
    relationships: Sequence[str] | None = None,
    concurrency: int = 8,
    send_internal: bool = False,
    own_domains: Sequence[str] = (),
    *,
    credentials: VirusTotalCredentials,
) -> list[LookupResult]:
    """Look many indicators up concurrently, in one task.

    Every indicator gets a result: found, not_found, invalid, skipped, quota_limited or
    error; one bad item never fails the batch. Invalid input costs no request, nor do
    internal addresses and names (private, loopback, link-local, multicast and reserved IPs,
    ``.local``/``.internal``/``.lan``/``.corp``/``.home.arpa`` and ``own_domains``): they are
    ``skipped``, "internal, not sent". Once a daily or monthly quota is spent, the rest are
    marked quota_limited without a request. URL credentials are never sent (nor kept in the
    result).

    Args:
        indicators: hashes, URLs, domains and IP addresses, mixed (defanged is fine).
        relationships: relationships to embed in every report.
        concurrency: requests in flight at once (the key's rate limit still paces them).
        send_internal: look internal addresses and names up too.
        own_domains: the organisation's own domains, skipped like internal names.
        credentials: the VirusTotal credentials block.

    Returns:
        One result per input, in input order.

    Raises:
        AuthenticationError, QuotaExceededError, RequestBudgetExceededError,
        APIConnectionError: every request failed with that same error: the batch failed as
            a whole (a wrong key, a spent quota, no network), not row by row (``core.lookup_many``).

    Example:
        ```python
        results = await lookup_indicators(["8.8.8.8", "evil[.]example", sha256], credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        results = await lookup_many(
            vt,
            indicators,
            relationships=relationships,
            concurrency=concurrency,
            send_internal=send_internal,
            own_domains=own_domains,
        )
    counts: dict[str, int] = {}
    for result in results:
        counts[result.status.value] = counts.get(result.status.value, 0) + 1
    get_run_logger().info("looked up %d indicators: %s", len(results), counts)
    return results


@task(name="VirusTotal: enrich indicator chunk", retries=0, cache_policy=NO_CACHE)
async def enrich_indicator_chunk(
    indicators: Sequence[str],
    policy: VerdictPolicy | None = None,
    concurrency: int = 8,
    send_internal: bool = False,
    own_domains: Sequence[str] = (),
    *,
    credentials: VirusTotalCredentials,
) -> EnrichmentReport:
    """Look one chunk of a large batch up and assess it; rows keep no full report.

    What ``lookup_indicators`` does for each indicator (a row per input, internal ones skipped,
    quota_limited once a quota is spent), then the verdict policy; each row keeps the verdict,
    ratio, reason and link, not the report object, so a run over 100,000 indicators holds at
    most one chunk of reports (``core.enrich_chunk``).

    Args:
        indicators: this chunk's indicators (a few thousand at most).
        policy: verdict thresholds.
        concurrency: requests in flight at once.
        send_internal: look internal addresses and names up too.
        own_domains: the organisation's own domains, skipped like internal names.
        credentials: the VirusTotal credentials block.

    Returns:
        One enriched row per input, in input order.

    Raises:
        AuthenticationError, QuotaExceededError, RequestBudgetExceededError,
        APIConnectionError: every request of the chunk failed with that same error.

    Example:
        ```python
        part = await enrich_indicator_chunk(chunk, VerdictPolicy(), credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        part = await enrich_chunk(
            vt,
            indicators,
            policy,
            concurrency=concurrency,
            send_internal=send_internal,
            own_domains=own_domains,
        )
    get_run_logger().info("enriched a chunk of %d indicators: %s", len(part.items), part.summary)
    return part
