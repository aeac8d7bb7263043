"""``enrich_iocs``: indicators in, reports and explained verdicts out."""

from __future__ import annotations

from prefect import flow, get_run_logger
from prefect.artifacts import acreate_table_artifact

from prefect_virustotal.blocks import VirusTotalCredentials, resolve_credentials
from prefect_virustotal.client import VerdictPolicy, redact_all
from prefect_virustotal.core import (
    DEFAULT_CHUNK_SIZE,
    EMULATED_BANNER,
    EnrichmentReport,
    artifact_key,
    artifact_rows,
    chunk_progress,
    display_indicator,
    enrich_in_chunks,
    escape_control,
    gather_indicators,
    verdict_counts,
)
from prefect_virustotal.tasks import check_daily_budget, enrich_indicator_chunk

__all__ = ["EMULATED_BANNER", "enrich_iocs"]


def _credentials_in(indicators: list[str] | None, text: str | None) -> bool:
    """Whether the flow-run parameters held a URL with credentials (``@`` first: it is cheap)."""
    candidates = [value for value in (*(indicators or []), text or "") if "@" in value]
    return bool(candidates) and bool(redact_all(candidates)[1])


@flow(name="virustotal-enrich-iocs", log_prints=False)
async def enrich_iocs(
    indicators: list[str] | None = None,
    text: str | None = None,
    policy: VerdictPolicy | None = None,
    concurrency: int = 8,
    case: str | None = None,
    send_internal: bool = False,
    own_domains: list[str] | None = None,
    path: str | None = None,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    *,
    credentials: VirusTotalCredentials | str = "virustotal",
) -> EnrichmentReport:
    """Enrich indicators with VirusTotal reports and explained verdicts.

    Indicators come as a list, or as free text (a ticket, an e-mail) from which
    hashes, URLs, domains and IPs are extracted and refanged (``hxxp``, ``[.]``).
    Bad or unknown items get a row of their own; they never fail the run, unless every
    request failed with the same authentication, quota or connection error: then the run
    fails with it. Internal addresses and names are not sent (a row "internal, not sent");
    credentials in URLs are removed before anything else (with a warning naming the URL
    masked). Prefect stores ``indicators`` and ``text`` as flow-run parameters before the
    flow runs: remove URL credentials before the call (``client.redact_all``, as the command
    line does), or pass a file with ``path``, whose content is never a parameter.

    Args:
        indicators: indicators, one per item (any kind, defanged is fine).
        text: free text to extract indicators from.
        policy: verdict thresholds; the defaults need 3 engines for malicious.
        concurrency: lookups in flight at once (the key's rate limit still applies).
        case: the case the indicators belong to; keys the artifact (else the first indicator).
        send_internal: look private, loopback, link-local, multicast and reserved addresses
            and internal names (``.local``, ``.internal``, ``.lan``, ``.corp``,
            ``.home.arpa``) up too; by default they are skipped.
        own_domains: the organisation's own domains, skipped like internal names.
        path: a file of indicators (one per line, or free text) read by the flow line by
            line: a feed too large for a flow-run parameter is passed by path (UTF-8 or
            UTF-16, at most ``core.MAX_FEED_BYTES``, 256 MiB).
        chunk_size: indicators per task run: a large feed is looked up chunk by chunk, and
            its rows keep the verdict, ratio, reason and link, not the full reports, so memory
            stays bounded (100,000 indicators are 50 task runs by default).
        credentials: a credentials block, or the name of a saved one.

    Returns:
        One enriched item per indicator, in input order, and whether the data is emulated
        (the items are flat rows: verdict, ratio, reason, link, not the full report object).
        This is the full result: the table artifact shows the worst
        ``core.MAX_TABLE_ROWS`` rows and says how many it left out.

    Example:
        ```python
        report = await enrich_iocs(text="seen: hxxp://evil[.]example/a and 8.8.8.8")
        ```
    """
    logger = get_run_logger()
    block = await resolve_credentials(credentials)
    policy = policy or VerdictPolicy()
    wanted, masked = gather_indicators(indicators, text, path)
    for url in masked:
        logger.warning("removed credentials from %s: they are not sent", url)
    if masked and _credentials_in(indicators, text):
        # Prefect stored this run's parameters as given, before the flow could remove anything.
        logger.warning(
            "URLs with credentials were passed as flow-run parameters (indicators/text): Prefect "
            "keeps a run's parameters as given. Remove them before calling the flow (the command "
            "line does), or pass the indicators in a file (path=), whose content is no parameter"
        )
    if not wanted:
        logger.warning("no indicators given or found in the text")
        return EnrichmentReport()
    if block.daily_reserve:
        # The block keeps part of the day for incident response: refuse to eat into it.
        await check_daily_budget(needed=len(wanted), credentials=block)

    async def enrich(chunk: list[str]) -> EnrichmentReport:
        return await enrich_indicator_chunk(
            chunk,
            policy,
            concurrency=concurrency,
            send_internal=send_internal,
            own_domains=own_domains or [],
            credentials=block,
        )

    # Chunk by chunk: every chunk is a task run; a chunk whose requests all fail alike before
    # anything was answered fails the run (wrong key, spent quota, no network).
    report = await enrich_in_chunks(enrich, wanted, chunk_size=chunk_size, on_chunk=chunk_progress.get())
    more = f" and {len(wanted) - 1} more" if len(wanted) > 1 else ""
    subject = case or wanted[0] + more
    shown = escape_control(case) if case else display_indicator(None, wanted[0]) + more
    counts = verdict_counts(report.summary)
    description = f"VirusTotal enrichment of {shown}: {len(report.items)} indicator(s), {counts}."
    # A feed's table shows its worst rows only; the rest are in the return value.
    rows, left_out = artifact_rows(
        report, "this flow run's return value, or `prefect-virustotal lookup --json` on the command line"
    )
    if left_out:
        description = f"{description}\n\n{left_out}"
    if report.emulated:
        description = f"{description}\n\n**{EMULATED_BANNER}**"
        logger.warning(EMULATED_BANNER)
    await acreate_table_artifact(key=artifact_key("enrichment", subject), table=rows, description=description)
    logger.info("enriched %d indicators: %s", len(report.items), report.summary)
    return report
