"""``enrich_iocs``: indicators in, reports and explained verdicts out."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import VerdictPolicy, extract_indicators
from prefect_virustotal.core import (
    EnrichmentReport,
    artifact_key,
    display_indicator,
    enrich_results,
    verdict_counts,
)
from prefect_virustotal.tasks import check_daily_budget, lookup_indicators

EMULATED_BANNER = "EMULATED DATA: these results come from the prefect-virustotal emulator and are fiction."


@flow(name="enrich_iocs", log_prints=False)
async def enrich_iocs(
    indicators: list[str] | None = None,
    text: str | None = None,
    credentials: VirusTotalCredentials | str = "virustotal",
    policy: VerdictPolicy | None = None,
    concurrency: int = 8,
    case: str | None = None,
) -> EnrichmentReport:
    """Enrich indicators with VirusTotal reports and explained verdicts.

    Indicators come as a list, or as free text (a ticket, an e-mail) from which
    hashes, URLs, domains and IPs are extracted and refanged (``hxxp``, ``[.]``).
    Bad or unknown items get a row of their own; they never fail the run.

    Args:
        indicators: indicators, one per item (any kind, defanged is fine).
        text: free text to extract indicators from.
        credentials: a credentials block, or the name of a saved one.
        policy: verdict thresholds; the defaults need 3 engines for malicious.
        concurrency: lookups in flight at once (the key's rate limit still applies).
        case: the case the indicators belong to; keys the artifact (else the first indicator).

    Returns:
        One enriched item per indicator, in input order, and whether the data is emulated.

    Example:
        ```python
        report = await enrich_iocs(text="seen: hxxp://evil[.]example/a and 8.8.8.8")
        ```
    """
    logger = get_run_logger()
    block = await resolve_credentials(credentials)
    policy = policy or VerdictPolicy()
    wanted = list(indicators or [])
    if text:
        known = set(wanted)
        wanted += [found.value for found in extract_indicators(text) if found.value not in known]
    if not wanted:
        logger.warning("no indicators given or found in the text")
        return EnrichmentReport()
    if block.daily_reserve:
        # The block keeps part of the day for incident response: refuse to eat into it.
        await check_daily_budget(block, needed=len(wanted))
    results = await lookup_indicators(block, wanted, concurrency=concurrency)
    report = enrich_results(results, policy)
    more = f" and {len(wanted) - 1} more" if len(wanted) > 1 else ""
    subject = case or wanted[0] + more
    shown = case or display_indicator(None, wanted[0]) + more
    counts = verdict_counts(report.summary)
    description = f"VirusTotal enrichment of {shown}: {len(report.items)} indicator(s), {counts}."
    if report.emulated:
        description = f"{description}\n\n**{EMULATED_BANNER}**"
        logger.warning(EMULATED_BANNER)
    await acreate_table_artifact(
        key=artifact_key("enrichment", subject), table=report.rows(), description=description
    )
    logger.info("enriched %d indicators: %s", len(report.items), report.summary)
    return report
