"""Lookups in a batch and explained verdicts: what ``enrich_iocs`` and ``prefect-virustotal lookup`` do.

One bad item never fails the batch: every indicator gets a ``LookupResult`` (found, not_found,
invalid, skipped, quota_limited or error), invalid input costs no request, internal addresses and
names are not sent ("internal, not sent"), and once a daily or monthly quota is spent the rest are
marked quota_limited without a request. Only when every request sent failed with the same
authentication, quota or connection error does the batch fail, with that error.
"""

from __future__ import annotations

import asyncio
from collections import Counter
from collections.abc import Awaitable, Callable, Iterator, Sequence
from contextvars import ContextVar

from pydantic import BaseModel, Field, computed_field

from prefect_virustotal.client import (
    APIConnectionError,
    APIError,
    Assessment,
    InvalidIndicatorError,
    NotFoundError,
    QuotaExceededError,
    RequestBudgetExceededError,
    VerdictPolicy,
    VirusTotalClient,
    assess_object,
    extract_indicators,
    is_internal,
    parse_indicator,
    quota_refusal,
    redact_all,
    redact_url_credentials,
)
from prefect_virustotal.client.models import LookupResult, LookupStatus

from ._display import defang_text, display_indicator, verdict_rank, vt_link
from ._safety import _RUN_WIDE_ERRORS, read_text_file, run_wide_failure

INTERNAL_NOT_SENT = "internal, not sent"
"""The reason given for an internal address or name that was not looked up."""

DEFAULT_CHUNK_SIZE = 2000
"""Indicators per chunk of a large batch: one task run each, and the most reports held at once."""

chunk_progress: ContextVar[Callable[[int, int], None] | None] = ContextVar("chunk_progress", default=None)
"""Called with (indicators done, total) after each chunk of ``enrich_iocs``: how the command
line feeds its progress bar from a flow run in the same process (a callable cannot be a
flow-run parameter)."""


async def _lookup_one(
    vt: VirusTotalClient,
    raw: str,
    relationships: Sequence[str] | None,
    stop: asyncio.Event,
    failures: list[BaseException],
    internal: Sequence[str] | None,
) -> LookupResult:
    """Look one indicator up; turn every expected failure into a status (and keep the error)."""
    try:
        indicator = parse_indicator(raw)
    except InvalidIndicatorError as exc:
        return LookupResult(indicator=raw, status=LookupStatus.INVALID, error=str(exc))
    page = indicator.value if indicator.kind == "url" else indicator.id
    base = {
        # As given, but never with the credentials of a URL (they are not sent, nor kept).
        "indicator": redact_url_credentials(raw)[0],
        "kind": indicator.kind,
        "id": indicator.id,
        "link": vt_link(indicator.kind, page),
    }
    if internal is not None and is_internal(indicator, internal):
        # Asking about 10.0.0.1 or fileserver.corp tells a third party about the network and
        # answers nothing.
        return LookupResult(**base, status=LookupStatus.SKIPPED, error=INTERNAL_NOT_SENT)
    if stop.is_set():
        return LookupResult(**base, status=LookupStatus.QUOTA_LIMITED, error="not looked up: quota spent")
    try:
        report = await vt.get_report(indicator.kind, indicator.value, relationships=relationships)
    except NotFoundError:
        return LookupResult(**base, status=LookupStatus.NOT_FOUND, error="VirusTotal has no record of it")
    except (RequestBudgetExceededError, QuotaExceededError) as exc:
        message, lasting = quota_refusal(exc)
        if lasting:
            stop.set()
        failures.append(exc)
        return LookupResult(**base, status=LookupStatus.QUOTA_LIMITED, error=message)
    except (APIError, APIConnectionError) as exc:
        failures.append(exc)
        return LookupResult(**base, status=LookupStatus.ERROR, error=f"{type(exc).__name__}: {exc}")
    # The report's id is the page's id (for a URL, the SHA-256 of VirusTotal's canonical form).
    base["link"] = vt_link(indicator.kind, report.id)
    return LookupResult(**base, status=LookupStatus.FOUND, report=report)


def gather_indicators(
    indicators: Sequence[str] | None = None, text: str | None = None, path: str | None = None
) -> tuple[list[str], list[str]]:
    """The indicators to look up, without URL credentials, and each URL that had some (masked).

    The list comes first, then what free text and a file (one per line, or free text; read
    with ``read_text_file``) add, refanged, without repeats.
    """
    wanted, masked = redact_all(indicators or [])
    if path:
        text = "\n".join(t for t in (text, read_text_file(path, "indicator file")) if t)
    if text:
        text, masked_in_text = redact_url_credentials(text)
        masked += masked_in_text
        known = set(wanted)
        wanted += [found.value for found in extract_indicators(text) if found.value not in known]
    return wanted, masked


async def lookup_many(
    vt: VirusTotalClient,
    indicators: Sequence[str],
    *,
    relationships: Sequence[str] | None = None,
    concurrency: int = 8,
    send_internal: bool = False,
    own_domains: Sequence[str] = (),
) -> list[LookupResult]:
    """Look many indicators up concurrently; one result per input, in input order.

    Args:
        vt: the client (its rate limiter paces the requests).
        indicators: hashes, URLs, domains and IP addresses, mixed (defanged is fine).
        relationships: relationships to embed in every report.
        concurrency: requests in flight at once.
        send_internal: look internal addresses and names up too (private, loopback,
            link-local, multicast and reserved IPs, ``.local``/``.internal``/``.lan``/
            ``.corp``/``.home.arpa``); by default they are ``skipped``, "internal, not sent".
        own_domains: the organisation's own domains, skipped like internal names.

    Raises:
        AuthenticationError, QuotaExceededError, RequestBudgetExceededError,
        APIConnectionError: every request sent failed with that same error: the batch failed
            as a whole (a wrong key, a spent quota, no network), not row by row.
    """
    semaphore = asyncio.Semaphore(max(1, concurrency))
    stop = asyncio.Event()
    failures: list[BaseException] = []
    internal = None if send_internal else list(own_domains)

    async def bounded(raw: str) -> LookupResult:
        async with semaphore:
            return await _lookup_one(vt, raw, relationships, stop, failures, internal)

    results = list(await asyncio.gather(*(bounded(raw) for raw in indicators)))
    if vt.emulated:
        for result in results:
            result.emulated = True
    # Every request sent failed alike (the rows a spent quota stopped sent none): the batch failed.
    answered = sum(r.status in (LookupStatus.FOUND, LookupStatus.NOT_FOUND) for r in results)
    fatal = run_wide_failure(failures, answered + len(failures))
    if fatal is not None:
        raise fatal
    return results


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
    """Indicators with their reports and explained verdicts (what ``enrich_iocs`` returns)."""

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


def enrich_results(
    results: Sequence[LookupResult], policy: VerdictPolicy | None = None, *, keep_reports: bool = True
) -> EnrichmentReport:
    """Apply the verdict policy to each found report; the other statuses stay as they are.

    With ``keep_reports=False`` the full report objects are dropped once assessed: each row
    keeps what the report shows (verdict, ratio, reason, link), which is what lets a feed of
    100,000 indicators be enriched in bounded memory.
    """
    policy = policy or VerdictPolicy()
    return EnrichmentReport(
        items=[
            EnrichedIndicator(
                lookup=result if keep_reports else result.model_copy(update={"report": None}),
                assessment=assess_object(result.report, policy)
                if result.status == LookupStatus.FOUND and result.report is not None
                else None,
            )
            for result in results
        ],
        emulated=any(result.emulated for result in results),
    )


def chunked(items: Sequence[str], size: int) -> Iterator[list[str]]:
    """``items`` in consecutive lists of at most ``size`` (at least 1)."""
    size = max(1, size)
    for start in range(0, len(items), size):
        yield list(items[start : start + size])


async def enrich_chunk(
    vt: VirusTotalClient,
    indicators: Sequence[str],
    policy: VerdictPolicy | None = None,
    *,
    concurrency: int = 8,
    send_internal: bool = False,
    own_domains: Sequence[str] = (),
) -> EnrichmentReport:
    """Look one chunk up and assess it, keeping rows without the full reports.

    Raises what ``lookup_many`` raises when every request of the chunk failed alike.
    """
    results = await lookup_many(
        vt, indicators, concurrency=concurrency, send_internal=send_internal, own_domains=own_domains
    )
    return enrich_results(results, policy, keep_reports=False)


def _stopped_rows(indicators: Sequence[str], error: BaseException) -> list[EnrichedIndicator]:
    """Rows for indicators not looked up because the run stopped on ``error`` after some answers."""
    quota = isinstance(error, (QuotaExceededError, RequestBudgetExceededError))
    status = LookupStatus.QUOTA_LIMITED if quota else LookupStatus.ERROR
    reason = f"not looked up: the run stopped on {type(error).__name__}: {error}"
    return [
        EnrichedIndicator(
            lookup=LookupResult(indicator=redact_url_credentials(raw)[0], status=status, error=reason)
        )
        for raw in indicators
    ]


async def enrich_in_chunks(
    enrich: Callable[[list[str]], Awaitable[EnrichmentReport]],
    indicators: Sequence[str],
    *,
    chunk_size: int = DEFAULT_CHUNK_SIZE,
    on_chunk: Callable[[int, int], None] | None = None,
) -> EnrichmentReport:
    """Enrich a large batch chunk by chunk, holding no more than one chunk's reports at a time.

    The run-wide rule holds across chunks: when a chunk's requests all fail alike (wrong key,
    spent quota, no network) and nothing in the run has been answered yet, the run fails with
    that error (the remaining chunks are not sent: they would fail the same way). After some
    answers, that chunk and the rest get rows "not looked up" (a partial result) instead of
    spending more requests on a key or a network that stopped working.

    Args:
        enrich: enriches one chunk (``enrich_chunk`` with a client, or a task that calls it).
        indicators: every indicator of the run, in order.
        chunk_size: indicators per chunk.
        on_chunk: called after each chunk with (indicators done, total): a progress bar.

    Raises:
        AuthenticationError, QuotaExceededError, RequestBudgetExceededError,
        APIConnectionError: every request of the run so far failed with that same error.
    """
    items: list[EnrichedIndicator] = []
    emulated = False
    answered = False
    stopped: BaseException | None = None
    for chunk in chunked(indicators, chunk_size):
        if stopped is None:
            try:
                part = await enrich(chunk)
            except _RUN_WIDE_ERRORS as exc:
                if not answered:
                    raise
                stopped = exc
        if stopped is not None:
            part = EnrichmentReport(items=_stopped_rows(chunk, stopped))
        answered = answered or any(
            item.lookup.status in (LookupStatus.FOUND, LookupStatus.NOT_FOUND) for item in part.items
        )
        items += part.items
        emulated = emulated or part.emulated
        if on_chunk is not None:
            on_chunk(len(items), len(indicators))
    return EnrichmentReport(items=items, emulated=emulated)
