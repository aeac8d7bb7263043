"""``/intelligence/retrohunt_jobs``: run YARA over VirusTotal's past corpus."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ._errors import InvalidIndicatorError, InvalidParameterError, UnexpectedResponseError
from ._lookups import _Area, relationship_params
from ._pagination import Paginator
from ._yara import MAX_RULES_PER_JOB, check_yara_rules
from .models import FileObject, VTObject
from .models._hunting import RetrohuntJob, RetrohuntJobAttributes
from .models._objects import FileAttributes

if TYPE_CHECKING:
    from ._core import WriteAttempt

_PATH = "/intelligence/retrohunt_jobs"
#: Jobs read back after a creation whose answer was lost: a user runs a handful at a time.
_READ_BACK_JOBS = 20
# Job ids look like ``<user>-<epoch>``; only make sure one cannot change the path.
_JOB_ID = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
_EMAIL = re.compile(r"[^@\s,;]+@[^@\s,;]+\.[^@\s,;]+")

CORPORA: tuple[str, ...] = ("main", "goodware")
TimeArg = datetime | int | float | None


def parse_job_id(value: str) -> str:
    """Check that a retrohunt job id is a single path segment of safe characters."""
    candidate = value.strip() if isinstance(value, str) else ""
    if not _JOB_ID.fullmatch(candidate):
        raise InvalidIndicatorError(str(value), "retrohunt job id", "unexpected characters or length")
    return candidate


def parse_emails(value: str | Sequence[str] | None, what: str = "notification email") -> list[str]:
    """E-mail addresses from a string (comma-separated allowed) or a list, each checked."""
    if value is None:
        return []
    raw = [value] if isinstance(value, str) else list(value)
    emails = [part.strip() for item in raw for part in str(item).split(",") if part.strip()]
    for email in emails:
        if not _EMAIL.fullmatch(email):
            raise InvalidParameterError(f"invalid {what} {email!r}")
    return list(dict.fromkeys(emails))


def _epoch(value: TimeArg, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool):
        raise InvalidParameterError(f"{name} must be a datetime or epoch seconds")
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise InvalidParameterError(f"{name} must be timezone-aware (UTC)")
        return int(value.timestamp())
    if isinstance(value, (int, float)):
        if value < 0:
            raise InvalidParameterError(f"{name} must not be negative")
        return int(value)
    raise InvalidParameterError(f"{name} must be a datetime or epoch seconds")


def time_range(start: TimeArg = None, end: TimeArg = None) -> dict[str, int] | None:
    """``{"start", "end"}`` in epoch seconds (each optional), checked; None when both are absent."""
    first, last = _epoch(start, "start"), _epoch(end, "end")
    if first is not None and last is not None and first >= last:
        raise InvalidParameterError("the time range must start before it ends")
    out = {k: v for k, v in (("start", first), ("end", last)) if v is not None}
    return out or None


def parse_job(raw: Any) -> RetrohuntJob:
    """Parse one ``retrohunt_job`` object."""
    try:
        return VTObject[RetrohuntJobAttributes].model_validate(raw)
    except ValidationError as exc:
        raise UnexpectedResponseError("InvalidResponse", "malformed retrohunt_job object", 200) from exc


def _parse_file(raw: Any) -> FileObject:
    try:
        return VTObject[FileAttributes].model_validate(raw)
    except ValidationError as exc:
        raise UnexpectedResponseError("InvalidResponse", "malformed file object", 200) from exc


class Retrohunt(_Area):
    """``/intelligence/retrohunt_jobs``: create, follow, abort, delete, read matches.

    Rules are compiled locally (yara-python) before a job is created, so a syntax error
    costs no request and no job slot.
    """

    def list(
        self,
        *,
        filter: str | None = None,
        page_size: int = 40,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[RetrohuntJob]:
        """The user's jobs (``GET /intelligence/retrohunt_jobs``), newest first."""
        params = {"filter": filter} if filter else None
        return self._client.paginate(
            _PATH, parse_job, params=params, page_size=page_size, limit=limit, cursor=cursor
        )

    async def create(
        self,
        rules: str,
        *,
        corpus: str = "main",
        start: TimeArg = None,
        end: TimeArg = None,
        notification_email: str | None = None,
        validate: bool = True,
    ) -> RetrohuntJob:
        """Start a job (``POST /intelligence/retrohunt_jobs``).

        Args:
            rules: the YARA rules (at most 300).
            corpus: ``main`` or ``goodware``.
            start: oldest submission date to scan (omitted: as far back as the licence allows).
            end: newest submission date to scan (omitted: now).
            notification_email: one address to tell when the job ends, or None.
            validate: compile the rules locally first (needs the ``yara`` extra).

        Raises:
            YaraSyntaxError: the rules do not compile (no request made).
            InvalidParameterError: too many rules, a bad corpus, range or address (the
                reference's ``notification_email`` is one string: several addresses are refused).
        """
        if corpus not in CORPORA:
            raise InvalidParameterError(f"corpus must be one of {', '.join(CORPORA)}, got {corpus!r}")
        window = time_range(start, end)
        emails = parse_emails(notification_email)
        if len(emails) > 1:
            raise InvalidParameterError("notification_email takes one address, not a list")
        if validate:
            check_yara_rules(rules, max_rules=MAX_RULES_PER_JOB)
        elif not rules or not rules.strip():
            raise InvalidParameterError("no YARA rules given")
        attributes: dict[str, Any] = {"rules": rules, "corpus": corpus}
        if window:
            attributes["time_range"] = window
        if emails:
            attributes["notification_email"] = emails[0]  # one string, as documented
        body = {"data": {"type": "retrohunt_job", "attributes": attributes}}
        # A repeated POST would start a second job and take a second slot: it is sent again
        # only when the first certainly, or verifiably, did not start one.
        return await self._client.write(
            "POST",
            _PATH,
            parse=lambda answer: parse_job((answer or {}).get("data")),
            read_back=lambda attempt: self.find_created(attempt, rules, corpus),
            what="retrohunt job creation",
            json_body=body,
        )

    async def find_created(self, attempt: WriteAttempt, rules: str, corpus: str) -> RetrohuntJob | None:
        """The job a creation whose answer was lost started, or None if it started none.

        The user's newest jobs (the listing is newest first) with the same rules and corpus,
        created at or after the attempt in the service's time.
        """
        recent = await self.list(limit=_READ_BACK_JOBS, page_size=_READ_BACK_JOBS).collect()
        since = attempt.began()
        for job in recent:
            attrs = job.attributes
            created = attrs.creation_date.timestamp() if attrs.creation_date else None
            if (
                attrs.rules.strip() == rules.strip()
                and (attrs.corpus or "main") == corpus
                and created is not None
                and created >= since
            ):
                return job
        return None

    async def get(self, job_id: str) -> RetrohuntJob:
        """One job: status, progress, eta and matches so far."""
        ident = parse_job_id(job_id)
        return await self._client.get_object(f"{_PATH}/{ident}", RetrohuntJobAttributes)

    async def abort(self, job_id: str) -> RetrohuntJob | None:
        """Ask a running job to stop (``POST .../{id}/abort``).

        Returns the job when the answer carries it (the body is UNCONFIRMED), else None.
        """
        ident = parse_job_id(job_id)
        # Idempotent: aborting an aborting or aborted job changes nothing.
        answer = await self._client.request_json("POST", f"{_PATH}/{ident}/abort", idempotent=True)
        data = (answer or {}).get("data") if isinstance(answer, dict) else None
        return parse_job(data) if isinstance(data, dict) and "attributes" in data else None

    async def delete(self, job_id: str) -> None:
        """Delete a job and its results (``DELETE .../{id}``)."""
        ident = parse_job_id(job_id)
        await self._client.request("DELETE", f"{_PATH}/{ident}")

    def list_matching_files(
        self,
        job_id: str,
        *,
        relationships: Sequence[str] | None = None,
        page_size: int = 40,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[FileObject]:
        """The files that matched (``GET .../{id}/matching_files``), resumable from ``cursor``."""
        ident = parse_job_id(job_id)
        return self._client.paginate(
            f"{_PATH}/{ident}/matching_files",
            _parse_file,
            params=relationship_params(relationships),
            page_size=page_size,
            limit=limit,
            cursor=cursor,
        )
