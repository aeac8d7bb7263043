"""Rescans of domains and IP addresses, and DNS resolution objects."""

from __future__ import annotations

from typing import Any

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client.models import ResolutionObject, VTObject


@task(name="VirusTotal: analyse domain", retries=0, cache_policy=NO_CACHE)
async def analyse_domain(domain: str, *, credentials: VirusTotalCredentials) -> VTObject[Any]:
    """Ask VirusTotal to analyse a domain again; returns the analysis descriptor.

    Example:
        ```python
        analysis = await analyse_domain("evil.example", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = await vt.domains.analyse(domain)
    get_run_logger().info("domain rescan queued: %s", analysis.id)
    return analysis


@task(name="VirusTotal: analyse IP address", retries=0, cache_policy=NO_CACHE)
async def analyse_ip_address(ip: str, *, credentials: VirusTotalCredentials) -> VTObject[Any]:
    """Ask VirusTotal to analyse an IP address again; returns the analysis descriptor.

    Example:
        ```python
        analysis = await analyse_ip_address("198.51.100.7", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        analysis = await vt.ip_addresses.analyse(ip)
    get_run_logger().info("IP rescan queued: %s", analysis.id)
    return analysis


@task(name="VirusTotal: get resolution", retries=0, cache_policy=NO_CACHE)
async def get_resolution(resolution_id: str, *, credentials: VirusTotalCredentials) -> ResolutionObject:
    """A DNS resolution object (id: the IP address followed by the domain).

    Example:
        ```python
        resolution = await get_resolution("198.51.100.7evil.example", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        resolution = await vt.resolutions.get(resolution_id)
    get_run_logger().info(
        "resolution %s -> %s", resolution.attributes.host_name, resolution.attributes.ip_address
    )
    return resolution
