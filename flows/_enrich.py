"""``enrich_iocs``: indicators in, reports and explained verdicts out."""

from __future__ import annotations

from collections import Counter

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel, Field

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import (
    Assessment,
    VerdictPolicy,
    assess,
    extract_indicators,
    redact_all,
    redact_url_credentials,
)
from prefect_virustotal.client.models import LookupResult, LookupStatus
from prefect_virustotal.core import read_text_file
from prefect_virustotal.tasks import check_daily_budget, lookup_indicators

EMULATED_BANNER = "EMULATED DATA: these results come from the prefect-virustotal emulator and are fiction."


class EnrichedIndicator(BaseModel):
    """One indicator: what the lookup found and the verdict the policy gives."""

    lookup: LookupResult
    assessment: Assessment | None = None

    @property
    def verdict(self) -> str:
        """The verdict, or the lookup status when there is no report."""
        if self.assessment is not None:
            return self.assessment.verdict.value
        return "unknown" if self.lookup.status == LookupStatus.NOT_FOUND else self.lookup.status.value


class EnrichmentReport(BaseModel):
    """What ``enrich_iocs`` returns."""

    items: list[EnrichedIndicator] = Field(default_factory=list)
    emulated: bool = False

    @property
    def summary(self) -> dict[str, int]:
        """How many indicators got each verdict or status."""
        return dict(Counter(item.verdict for item in self.items))

    def rows(self) -> list[dict[str, str]]:
        """One table row per indicator."""
        rows = []
        for item in self.items:
            found = item.assessment
            rows.append(
                {
                    "indicator": item.lookup.indicator,
                    "type": item.lookup.kind or "-",
                    "verdict": item.verdict,
                    "detections": found.ratio if found else "-",
                    "reason": found.reason if found else (item.lookup.error or ""),
                    "link": item.lookup.link or "",
                }
            )
        return rows


def _assess(result: LookupResult, policy: VerdictPolicy) -> Assessment | None:
    """The verdict of a found report; None for the other statuses."""
    if result.status != LookupStatus.FOUND or result.report is None:
        return None
    attributes = result.report.attributes
    stats = getattr(attributes, "last_analysis_stats", None)
    results = getattr(attributes, "last_analysis_results", None)
    return assess(stats, results, policy)


@flow(name="enrich_iocs", log_prints=False)
async def enrich_iocs(
    indicators: list[str] | None = None,
    text: str | None = None,
    credentials: VirusTotalCredentials | str = "virustotal",
    policy: VerdictPolicy | None = None,
    concurrency: int = 8,
    send_internal: bool = False,
    own_domains: list[str] | None = None,
    path: str | None = None,
) -> EnrichmentReport:
    """Enrich indicators with VirusTotal reports and explained verdicts.

    Indicators come as a list, or as free text (a ticket, an e-mail) from which
    hashes, URLs, domains and IPs are extracted and refanged (``hxxp``, ``[.]``).
    Bad or unknown items get a row of their own; they never fail the run, unless every
    request failed with the same authentication, quota or connection error: then the run
    fails with it. Internal addresses and names are not sent (a row "internal, not sent");
    credentials in URLs are removed before anything else (with a warning naming the URL
    masked).

    Args:
        indicators: indicators, one per item (any kind, defanged is fine).
        text: free text to extract indicators from.
        credentials: a credentials block, or the name of a saved one.
        policy: verdict thresholds; the defaults need 3 engines for malicious.
        concurrency: lookups in flight at once (the key's rate limit still applies).
        send_internal: look private, loopback, link-local, multicast and reserved addresses
            and internal names (``.local``, ``.internal``, ``.lan``, ``.corp``,
            ``.home.arpa``) up too; by default they are skipped.
        own_domains: the organisation's own domains, skipped like internal names.
        path: a file of indicators (one per line, or free text) read by the flow: a feed
            too large for a flow-run parameter is passed by path (UTF-8 or UTF-16, at most
            ``core.MAX_TEXT_INPUT_BYTES``).

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
    wanted, masked = redact_all(indicators or [])
    if path:
        text = "\n".join(t for t in (text, read_text_file(path, "indicator file")) if t)
    if text:
        text, masked_in_text = redact_url_credentials(text)
        masked += masked_in_text
        known = set(wanted)
        wanted += [found.value for found in extract_indicators(text) if found.value not in known]
    for url in masked:
        logger.warning("removed credentials from %s: they are not sent", url)
    if not wanted:
        logger.warning("no indicators given or found in the text")
        return EnrichmentReport()
    if block.daily_reserve:
        # The block keeps part of the day for incident response: refuse to eat into it.
        await check_daily_budget(block, needed=len(wanted))
    results = await lookup_indicators(
        block, wanted, concurrency=concurrency, send_internal=send_internal, own_domains=own_domains or []
    )
    report = EnrichmentReport(
        items=[EnrichedIndicator(lookup=r, assessment=_assess(r, policy)) for r in results],
        emulated=any(r.emulated for r in results),
    )
    description = "VirusTotal enrichment: one row per indicator."
    if report.emulated:
        description = f"**{EMULATED_BANNER}**\n\n{description}"
        logger.warning(EMULATED_BANNER)
    await acreate_table_artifact(key="virustotal-enrichment", table=report.rows(), description=description)
    logger.info("enriched %d indicators: %s", len(report.items), report.summary)
    return report
