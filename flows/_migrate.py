"""``migration_report``: the v2 migration scanner as a flow, with a markdown artifact."""

from __future__ import annotations

import asyncio

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_markdown_artifact

from prefect_virustotal.core import MigrationReport, render_markdown, scan_paths

MIGRATION_ARTIFACT_KEY = "virustotal-v2-migration"


@flow(name="virustotal-migration-report", log_prints=False)
async def migration_report(paths: list[str]) -> MigrationReport:
    """Find VirusTotal API v2 usage in scripts and playbooks, and say what replaces it.

    Reads Python, shell, PowerShell, YAML and JSON files (directories are walked) on the
    worker that runs the flow; sends no request to VirusTotal. Each finding names the file
    and line, the v2 call or field, its v3 equivalent and this pack's task or flow. An API
    key found in a file is reported masked, never in clear, in the result and the artifact.

    Args:
        paths: files and directories to scan.

    Returns:
        The report; ``report.clean`` is True when nothing needs migrating.

    Raises:
        MigrationInputError: a missing path, a special file (FIFO, device), an unreadable or
            oversized file; raised before any file is read.

    Example:
        ```python
        report = await migration_report(["playbooks/", "scripts/vt_lookup.py"])
        ```
    """
    logger = get_run_logger()
    report = await asyncio.to_thread(scan_paths, paths)
    await acreate_markdown_artifact(
        key=MIGRATION_ARTIFACT_KEY,
        markdown=render_markdown(report),
        description="VirusTotal API v2 usage and its v3 replacement, one row per finding.",
    )
    logger.info(
        "%d finding(s) in %d of %d file(s)",
        len(report.findings),
        len(report.files_with_findings()),
        len(report.files),
    )
    return report
