"""``enrich_iocs``: indicators in, reports and explained verdicts out."""

from __future__ import annotations

from collections import Counter

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact
from pydantic import BaseModel, Field, computed_field

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import Assessment, VerdictPolicy, assess, extract_indicators
from prefect_virustotal.client.models import LookupResult, LookupStatus
from prefect_virustotal.core import artifact_key, defang_text, display_indicator, verdict_counts, verdict_rank
from prefect_virustotal.tasks import check_daily_budget, lookup_indicators

EMULATED_BANNER = "EMULATED DATA: these results come from the prefect-virustotal emulator and are fiction."


class EnrichedIndicator(BaseModel):
    """One indicator: what the lookup found and the verdict the policy gives."""

    lookup: LookupResult
    assessment: Assessment | None = None

    @computed_field  # type: ignore[prop-decorator]
    @property
    def verdict(self) -> str:
        """The verdict, or the lookup status when there is no report (in ``--json`` as a flat field)."""
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
        """One table row per indicator, worst verdict first, in the order an analyst reads.

        Indicators are shown defanged (hashes shortened); the only link is to VirusTotal's page.
        """
        rows = []
        for item in sorted(self.items, key=lambda i: verdict_rank(i.verdict)):
            found = item.assessment
            rows.append(
                {
                    "indicator": display_indicator(item.lookup.kind, item.lookup.indicator),
                    "verdict": item.verdict,
                    "reason": defang_text(found.reason if found else (item.lookup.error or "")),
                    "detections": found.ratio if found else "-",
                    "type": item.lookup.kind or "-",
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
    report = EnrichmentReport(
        items=[EnrichedIndicator(lookup=r, assessment=_assess(r, policy)) for r in results],
        emulated=any(r.emulated for r in results),
    )
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
