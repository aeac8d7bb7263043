"""Sandbox behaviour tasks: the ATT&CK profile of a file, and its raw summary."""

from __future__ import annotations

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client.models import BehaviourSummary, MitreTrees
from prefect_virustotal.core import BehaviourProfile, behaviour_profile


@task(name="VirusTotal: get behaviour profile", retries=0, cache_policy=NO_CACHE)
async def get_behaviour_profile(
    file_hash: str, top: int = 5, *, credentials: VirusTotalCredentials
) -> BehaviourProfile:
    """A file's top ATT&CK techniques, sandbox verdicts and the network indicators seen in the sandboxes.

    Two requests (``behaviour_summary`` and ``behaviour_mitre_trees``). An unknown file gets
    an empty profile, not an error.

    Args:
        file_hash: MD5, SHA-1 or SHA-256.
        top: techniques to keep, most severe first.
        credentials: the VirusTotal credentials block.

    Example:
        ```python
        profile = await get_behaviour_profile(sha256, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        profile = await behaviour_profile(vt, file_hash, top)
    get_run_logger().info(
        "behaviour of %s: %d techniques, verdicts %s",
        profile.sha256,
        len(profile.techniques),
        profile.verdicts,
    )
    return profile


@task(name="VirusTotal: get behaviour summary", retries=0, cache_policy=NO_CACHE)
async def get_behaviour_summary(
    file_hash: str, private: bool = False, *, credentials: VirusTotalCredentials
) -> BehaviourSummary:
    """Every sandbox's report on a file, merged (processes, files, registry, network, techniques, verdicts).

    Example:
        ```python
        summary = await get_behaviour_summary(sha256, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        summary = await vt.behaviours.get_summary(file_hash, private=private)
    get_run_logger().info("behaviour summary: %d techniques", len(summary.mitre_attack_techniques))
    return summary


@task(name="VirusTotal: get MITRE trees", retries=0, cache_policy=NO_CACHE)
async def get_mitre_trees(file_hash: str, *, credentials: VirusTotalCredentials) -> MitreTrees:
    """The ATT&CK tactics and techniques each sandbox attributed to a file.

    Example:
        ```python
        trees = await get_mitre_trees(sha256, credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        trees = await vt.behaviours.get_mitre_trees(file_hash)
    get_run_logger().info("ATT&CK trees from %d sandboxes", len(trees.sandboxes))
    return trees
