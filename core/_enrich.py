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
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter, computed_field, model_validator
from pydantic.dataclasses import dataclass

from prefect_virustotal.client import (
    APIConnectionError,
    APIError,
    Assessment,
    InvalidIndicatorError,
    NotFoundError,
    QuotaExceededError,
    RequestBudgetExceededError,
    Verdict,
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
from prefect_virustotal.client.models import VTObject

from ._display import defang_text, display_indicator, verdict_rank, vt_link
from ._results import LookupResult, LookupStatus
from ._safety import _RUN_WIDE_ERRORS, read_text_lines, run_wide_failure

INTERNAL_NOT_SENT = "internal, not sent"
"""The reason given for an internal address or name that was not looked up."""

MAX_TABLE_ROWS = 1000
"""The most rows an enrichment table shows, the worst ones (the artifact, the terminal): a
table of a 100,000-indicator feed is too big for a person to read and for the Prefect server
to store. The full result is the flow's return value, or ``--json``."""

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
    line by line with ``read_text_lines``, at most ``MAX_FEED_BYTES``) add, refanged, without
    repeats. A feed is never held whole: only its indicators are kept.
    """
    wanted, masked = redact_all(indicators or [])
    known = set(wanted)

    def add(piece: str) -> None:
        if "@" in piece:  # credentials need one; most lines of a feed have none
            piece, masked_here = redact_url_credentials(piece)
            masked.extend(masked_here)
        for found in extract_indicators(piece):
            if found.value not in known:
                known.add(found.value)
                wanted.append(found.value)

    if text:
        add(text)
    if path:
        for line in read_text_lines(path, "indicator file"):
            add(line)
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


@dataclass(slots=True, frozen=True, config=ConfigDict(revalidate_instances="never"))
class EnrichedIndicator:
    """One indicator: what the lookup found and the verdict the policy gives, as a flat row.

    A row holds what a person and the artifact read (the indicator, its kind, the lookup
    status, the verdict with its reason and ratio, the link, the error), not the report: about
    130 bytes plus its strings, so that 100,000 rows fit in a few tens of MB. ``lookup`` and
    ``assessment`` give the same row as the client's ``LookupResult`` and ``Assessment``
    (built when read), and are what ``--json`` and ``model_dump`` show, as before.

    Attributes:
        indicator: the input as given (never with URL credentials).
        status: found, not_found, invalid, skipped, quota_limited or error.
        verdict: the verdict when found, ``unknown`` when VirusTotal has no record, else the
            status (``invalid``, ``error``...).
        kind: file, url, domain or ip_address; None when the input is invalid.
        reason: why: the assessment's reason when found, else the lookup's error ("" if none).
        link: the indicator's page on virustotal.com.
        error: the lookup's short error text (statuses other than found).
        malicious: engines that flagged it malicious (found rows).
        suspicious: engines that flagged it suspicious (found rows).
        engines: engines that gave a result (found rows).
        emulated: the answer came from the pack's emulator: it is fiction.
        report: the full report, only when ``enrich_results(keep_reports=True)`` kept it.
    """

    indicator: str = Field(exclude=True)
    status: LookupStatus = Field(exclude=True)
    verdict: str = Field()
    kind: str | None = Field(default=None, exclude=True)
    reason: str = Field(default="", exclude=True)
    link: str | None = Field(default=None, exclude=True)
    error: str | None = Field(default=None, exclude=True)
    malicious: int = Field(default=0, exclude=True)
    suspicious: int = Field(default=0, exclude=True)
    engines: int = Field(default=0, exclude=True)
    emulated: bool = Field(default=False, exclude=True)
    report: VTObject[Any] | None = Field(default=None, exclude=True)

    @model_validator(mode="before")
    @classmethod
    def _from_nested(cls, data: Any) -> Any:
        """Read the nested shape ``model_dump`` writes (``lookup``, ``assessment``, ``verdict``)."""
        if isinstance(data, dict) and "lookup" in data:
            return _flat_fields(
                LookupResult.model_validate(data["lookup"]),
                Assessment.model_validate(data["assessment"]) if data.get("assessment") else None,
            )
        return data

    @classmethod
    def of(cls, lookup: LookupResult, assessment: Assessment | None = None) -> EnrichedIndicator:
        """The row of a lookup result and its assessment (the report is kept if the result has it)."""
        return cls(**_flat_fields(lookup, assessment))

    @property
    def ratio(self) -> str:
        """``malicious/engines`` when found (e.g. ``12/70``), else ``-``."""
        return f"{self.malicious}/{self.engines}" if self.status == LookupStatus.FOUND else "-"

    @computed_field  # type: ignore[prop-decorator]
    @property
    def lookup(self) -> LookupResult:
        """The row as the client's ``LookupResult`` (its ``report`` is None unless kept)."""
        return LookupResult(
            indicator=self.indicator,
            kind=self.kind,
            id=_request_id(self.indicator) if self.kind else None,
            status=self.status,
            report=self.report,
            error=self.error,
            link=self.link,
            emulated=self.emulated,
        )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def assessment(self) -> Assessment | None:
        """The verdict and its reason when the indicator was found, else None."""
        if self.status != LookupStatus.FOUND:
            return None
        return Assessment(
            verdict=Verdict(self.verdict),
            reason=self.reason,
            malicious=self.malicious,
            suspicious=self.suspicious,
            engines=self.engines,
        )


def _flat_fields(lookup: LookupResult, assessment: Assessment | None) -> dict[str, Any]:
    """The fields of an ``EnrichedIndicator`` from a lookup result and its assessment."""
    if assessment is not None:
        verdict, reason = assessment.verdict.value, assessment.reason
    else:
        verdict = "unknown" if lookup.status == LookupStatus.NOT_FOUND else lookup.status.value
        reason = lookup.error or ""
    return {
        "indicator": lookup.indicator,
        "kind": lookup.kind,
        "status": lookup.status,
        "verdict": verdict,
        "reason": reason,
        "link": lookup.link,
        "error": lookup.error,
        "malicious": assessment.malicious if assessment else 0,
        "suspicious": assessment.suspicious if assessment else 0,
        "engines": assessment.engines if assessment else 0,
        "emulated": lookup.emulated,
        "report": lookup.report,
    }


def _request_id(indicator: str) -> str | None:
    """The identifier a lookup of ``indicator`` used (derived again: rows do not keep it)."""
    try:
        return parse_indicator(indicator).id
    except InvalidIndicatorError:
        return None


_ROW_JSON = TypeAdapter(EnrichedIndicator)


class EnrichmentReport(BaseModel):
    """Indicators with their explained verdicts (what ``enrich_iocs`` returns), one flat row each."""

    items: list[EnrichedIndicator] = Field(default_factory=list)
    emulated: bool = False

    @property
    def summary(self) -> dict[str, int]:
        """How many indicators got each verdict or status."""
        return dict(Counter(item.verdict for item in self.items))

    def rows(self, limit: int | None = None) -> list[dict[str, str]]:
        """One table row per indicator, worst verdict first, in the order an analyst reads.

        Indicators are shown defanged (hashes shortened); the only link is to VirusTotal's page.

        Args:
            limit: at most this many rows, the worst ones (an artifact of a 100,000-indicator
                feed shows its worst rows; the caller says how many were left out).
        """
        ordered = sorted(self.items, key=lambda i: verdict_rank(i.verdict))
        return [
            {
                "indicator": display_indicator(item.kind, item.indicator),
                "verdict": item.verdict,
                "reason": defang_text(item.reason),
                "detections": item.ratio,
                "type": item.kind or "-",
                "link": item.link or "",
            }
            for item in (ordered if limit is None else ordered[: max(0, limit)])
        ]


def artifact_rows(
    report: EnrichmentReport, where: str, limit: int = MAX_TABLE_ROWS
) -> tuple[list[dict[str, str]], str]:
    """The rows of an artifact table, the worst ``limit`` first, and a note on the rows left out.

    When rows are left out, the table ends with a line saying how many and where the full
    result is (``where``), and the note (for the artifact's description) says the same; else
    the note is "".
    """
    rows = report.rows(limit)
    left_out = len(report.items) - len(rows)
    if not left_out:
        return rows, ""
    note = (
        f"The table shows the worst {len(rows):,} of {len(report.items):,} indicators; "
        f"{left_out:,} rows are left out. The full result is {where}."
    )
    rows.append(dict.fromkeys(rows[0], "") | {"indicator": f"… {left_out:,} more", "reason": note})
    return rows, note


def report_json(report: EnrichmentReport) -> Iterator[str]:
    """``report.model_dump_json()`` in pieces, one row at a time, one row a line.

    What ``lookup --json`` writes for a feed: 100,000 rows are never one JSON document in
    memory (nor a dict per row), only the row being written.
    """
    yield '{"items": ['
    for index, item in enumerate(report.items):
        yield ("," if index else "") + "\n" + _ROW_JSON.dump_json(item).decode()
    yield f'\n], "emulated": {"true" if report.emulated else "false"}}}'


def enrich_results(
    results: Sequence[LookupResult], policy: VerdictPolicy | None = None, *, keep_reports: bool = True
) -> EnrichmentReport:
    """Apply the verdict policy to each found report; the other statuses stay as they are.

    With ``keep_reports=False`` the full report objects are dropped once assessed: each row
    keeps what the report shows (verdict, ratio, reason, link), which is what lets a feed of
    100,000 indicators be enriched in bounded memory.
    """
    policy = policy or VerdictPolicy()
    items = []
    for result in results:
        assessment = (
            assess_object(result.report, policy)
            if result.status == LookupStatus.FOUND and result.report is not None
            else None
        )
        row = _flat_fields(result, assessment)
        if not keep_reports:
            row["report"] = None
        items.append(EnrichedIndicator(**row))
    return EnrichmentReport(items=items, emulated=any(result.emulated for result in results))


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
            indicator=redact_url_credentials(raw)[0],
            status=status,
            verdict=status.value,
            reason=reason,
            error=reason,
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
            item.status in (LookupStatus.FOUND, LookupStatus.NOT_FOUND) for item in part.items
        )
        items += part.items
        emulated = emulated or part.emulated
        if on_chunk is not None:
            on_chunk(len(items), len(indicators))
    return EnrichmentReport(items=items, emulated=emulated)
