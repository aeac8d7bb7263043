"""Scanning: uploads that stream from disk, waits on analyses, and ``/private`` scanning.

Public scanning lives on the areas it belongs to (``vt.files.upload``, ``vt.urls.scan``,
``vt.analyses.wait``); this module holds what they share (:class:`UploadSource`, the upload
and wait helpers) and the ``/private`` area, registered as ``vt.private``.

Uploads never hold a file in memory: httpx gets a file object, opened afresh for each
attempt, and reads it in chunks. Files over 32 MB go through a one-time upload URL
(``GET /files/upload_url``), which must be on a VirusTotal host or on the configured API's own
host: the key travels with the upload, so it is never sent to another host. VirusTotal's
reference shows the upload URL as plain ``http://www.virustotal.com/_ah/upload/...``; the
upload goes over https whenever the API is https, so the key never travels in clear.
"""

from __future__ import annotations

import base64
import hashlib
import io
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, cast
from urllib.parse import urlsplit

from pydantic import ValidationError

from ._analyses import parse_analysis_id
from ._clock import Clock
from ._errors import (
    APIConnectionError,
    BadRequestError,
    ContentChangedError,
    DeadlineExceededError,
    InvalidIndicatorError,
    InvalidParameterError,
    NotAvailableYet,
    NotFoundError,
    QuotaExceededError,
    TooManyRequestsError,
    TransientError,
    UnexpectedResponseError,
)
from ._identifiers import normalize_url, parse_file_hash, parse_url_identifier, strip_url_credentials
from ._identifiers import url_has_credentials as _has_credentials
from ._lookups import _Area
from ._pagination import Paginator
from ._polling import poll_budget, poll_until
from .models import AnalysisObject, VTObject
from .models._objects import AnalysisAttributes, FileAttributes
from .models._registry import parse_object
from .models._scanning import (
    PrivateAnalysisAttributes,
    PrivateAnalysisObject,
    PrivateFileAttributes,
    PrivateFileObject,
    PrivateScanOptions,
    PrivateURLAttributes,
    PrivateURLObject,
    PrivateURLScanOptions,
)

if TYPE_CHECKING:
    from ._core import VirusTotalClient, WriteAttempt

logger = logging.getLogger(__name__)

MB = 1_000_000
DIRECT_UPLOAD_LIMIT = 32 * MB
"""Largest file ``POST /files`` takes; larger ones need an upload URL."""
MAX_UPLOAD_SIZE = 650 * MB
"""Largest file an upload URL takes."""
_CHUNK = 1 << 20

FileInput = str | os.PathLike[str] | bytes


@dataclass(frozen=True)
class UploadSource:
    """A file to upload: a path on disk (streamed) or bytes in memory, checked up front.

    Build it with :meth:`of`; it never reads a path's content into memory.
    """

    name: str
    size: int
    path: Path | None = None
    content: bytes | None = None
    expected_sha256: str | None = None
    """The SHA-256 that was looked up; the bytes uploaded are hashed as they go and the
    upload fails (``ContentChangedError``) if they differ (a file swapped in between)."""

    @classmethod
    def of(
        cls, file: FileInput | UploadSource, filename: str | None = None, expected_sha256: str | None = None
    ) -> UploadSource:
        """Check a path or bytes and describe the upload.

        Raises:
            InvalidParameterError: the file is missing, unreadable, empty or over 650 MB.
        """
        if isinstance(file, UploadSource):
            return replace(file, expected_sha256=expected_sha256) if expected_sha256 else file
        if isinstance(file, (bytes, bytearray, memoryview)):
            data = bytes(file)
            source = cls(name=filename or "file", size=len(data), content=data)
        else:
            path = Path(file)
            try:
                if not path.is_file():
                    raise InvalidParameterError(f"{path.name!r} is not a readable file")
                with path.open("rb"):
                    pass  # readable by us, not just present
                size = path.stat().st_size
            except OSError as exc:
                raise InvalidParameterError(f"cannot read {path.name!r}: {exc.strerror}") from exc
            source = cls(name=filename or path.name, size=size, path=path)
        if expected_sha256:
            source = replace(source, expected_sha256=parse_file_hash(expected_sha256))
        if source.size == 0:
            raise InvalidParameterError(f"{source.name!r} is empty; VirusTotal refuses empty files")
        if source.size > MAX_UPLOAD_SIZE:
            raise InvalidParameterError(
                f"{source.name!r} is {source.size / MB:.0f} MB; VirusTotal takes at most "
                f"{MAX_UPLOAD_SIZE // MB} MB"
            )
        return source

    @property
    def needs_upload_url(self) -> bool:
        """True above the 32 MB limit of a direct upload."""
        return self.size > DIRECT_UPLOAD_LIMIT

    def open(self) -> IO[bytes]:
        """A fresh binary stream over the content (the caller closes it)."""
        if self.content is not None:
            return io.BytesIO(self.content)
        assert self.path is not None
        return self.path.open("rb")

    def sha256(self) -> str:
        """The SHA-256 of the content, read in 1 MiB chunks."""
        with self.open() as stream:
            return _sha256_of_stream(stream)


def _sha256_of_stream(stream: IO[bytes]) -> str:
    digest = hashlib.sha256()
    for chunk in iter(lambda: stream.read(_CHUNK), b""):
        digest.update(chunk)
    return digest.hexdigest()


def sha256_of_file(path: str | Path) -> str:
    """SHA-256 of a file on disk, read in 1 MiB chunks (a large sample is never held in memory).

    Raises:
        OSError: the file cannot be read.
    """
    with Path(path).open("rb") as stream:
        return _sha256_of_stream(stream)


def check_url_for_submission(url: str, *, strip_credentials: bool = False) -> str:
    """Validate a URL to submit; refuse (or strip) ``user:password@``.

    A URL with credentials is refused by default: submitting it would publish the
    credentials to every VirusTotal user. ``strip_credentials=True`` removes them instead,
    with a warning.

    Raises:
        InvalidIndicatorError: not a URL, or it carries credentials and stripping is off.
    """
    normalized = normalize_url(url)
    if _has_credentials(normalized):
        if not strip_credentials:
            raise InvalidIndicatorError(
                strip_url_credentials(normalized),
                "URL",
                "it carries user:password@ credentials; remove them (or pass strip_credentials=True)",
            )
        normalized = strip_url_credentials(normalized)
        logger.warning("removed credentials from a URL before submitting it: %s", normalized)
    return normalized


async def _upload(
    client: VirusTotalClient,
    source: UploadSource,
    path: str,
    upload_url_path: str,
    fields: Mapping[str, str],
) -> VTObject[Any]:
    """POST the file (direct, or through a fresh upload URL above 32 MB).

    An upload URL refused with a 400 (expired or already used: the upload was not accepted)
    is replaced by a fresh one once. UNCONFIRMED how long VirusTotal keeps an upload URL
    valid; a slow disk or a long wait for quota between the two requests can outlive it.
    """
    private = path.startswith("/private/")
    if not source.needs_upload_url:
        return await _post_file(client, source, path, fields, private=private)
    target = await _fetch_upload_url(client, upload_url_path)
    try:
        return await _post_file(client, source, target, fields, private=private)
    except BadRequestError as exc:
        if type(exc) is not BadRequestError:
            raise  # a refused argument, not a refused URL
        logger.warning("the upload URL was refused (%s); uploading once more through a fresh one", exc.code)
    target = await _fetch_upload_url(client, upload_url_path)
    return await _post_file(client, source, target, fields, private=private)


async def _post_file(
    client: VirusTotalClient, source: UploadSource, target: str, fields: Mapping[str, str], *, private: bool
) -> VTObject[Any]:
    """One multipart upload of the file to ``target`` (sent again only if it did not arrive)."""
    opened: list[IO[bytes]] = []
    # What was looked up is what goes out: the bytes are hashed as they are sent (see below).
    hashing: list[_HashingReader] = []

    def files() -> dict[str, Any]:
        # A new stream per attempt: a retried upload never sends a half-read file.
        for old in opened:
            old.close()
        opened.clear()
        hashing.clear()
        stream = source.open()
        if source.expected_sha256:
            reader = _HashingReader(stream)
            hashing.append(reader)
            stream = cast(IO[bytes], reader)
        opened.append(stream)
        return {"file": (source.name, stream, "application/octet-stream")}

    try:
        # A repeated upload is a second submission (and a second request of the quota): it is
        # sent again only when the first one certainly, or verifiably, did not arrive.
        analysis = await client.write(
            "POST",
            target,
            parse=lambda body: _descriptor(body, target),
            read_back=lambda attempt: find_upload(client, source, attempt, private=private),
            what=f"upload of {source.name!r}",
            files=files,
            data=dict(fields) or None,
        )
    finally:
        for stream in opened:
            stream.close()
    if source.expected_sha256 and hashing:
        sent = hashing[-1].sha256()
        if sent != source.expected_sha256:
            raise ContentChangedError(source.name, source.expected_sha256, sent)
    return analysis


async def find_upload(
    client: VirusTotalClient, source: UploadSource, attempt: WriteAttempt, *, private: bool
) -> VTObject[Any] | None:
    """The analysis an upload whose answer was lost started, or None if it did not arrive.

    Public: the file's report by hash; a ``last_submission_date`` at or after the attempt
    means it arrived, and its analysis is ``base64("<md5>:<submission date>")`` (the shape of
    VirusTotal's file analysis ids; that the two dates agree is UNCONFIRMED, so the id is read
    back before it is trusted). Private: the private file by hash and its newest analysis
    since the attempt (``/private/files/{sha256}/analyses``). An upload that arrived but whose
    analysis cannot be found is an ``UnexpectedResponseError``: better a typed failure than a
    second upload.
    """
    sha256 = source.sha256()
    if private:
        try:
            await client.request_json("GET", f"/private/files/{sha256}")
        except NotFoundError:
            return None
        since = attempt.began()
        body = await client.request_json("GET", f"/private/files/{sha256}/analyses", params={"limit": 10})
        for raw in body.get("data") or [] if isinstance(body, dict) else []:
            date = (raw or {}).get("attributes", {}).get("date") if isinstance(raw, dict) else None
            if isinstance(date, (int, float)) and date >= since:
                return parse_object(raw)
        return None
    try:
        report = await client.get_object(f"/files/{sha256}", FileAttributes)
    except NotFoundError:
        return None
    submitted = report.attributes.last_submission_date
    if submitted is None or submitted.timestamp() < attempt.began():
        return None
    md5 = report.attributes.md5 or ""
    analysis_id = base64.b64encode(f"{md5}:{int(submitted.timestamp())}".encode()).decode()
    try:
        return await client.get_object(f"/analyses/{analysis_id}", AnalysisAttributes)
    except NotFoundError:
        raise UnexpectedResponseError(
            "InvalidResponse",
            f"{sha256} was uploaded at {submitted:%Y-%m-%dT%H:%M:%SZ}, but its analysis was not found",
            404,
        ) from None


class _HashingReader(io.RawIOBase):
    """A read-only stream that hashes what is read from it, in order, from the start.

    The SHA-256 is of the bytes actually sent; a seek back to the start (a length probe, or
    a rewind) starts it afresh. ``sha256()`` is None unless the stream was read to its end.
    """

    def __init__(self, inner: IO[bytes]) -> None:
        super().__init__()
        self._inner = inner
        self._digest = hashlib.sha256()
        self._position = 0
        self._at_end = False

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return self._inner.seekable()

    def fileno(self) -> int:
        return self._inner.fileno()

    def tell(self) -> int:
        return self._inner.tell()

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        position = self._inner.seek(offset, whence)
        if position == 0:
            self._digest, self._position, self._at_end = hashlib.sha256(), 0, False
        elif position != self._position:
            self._position = -1  # not a sequential read from the start any more
        return position

    def readinto(self, buffer: Any) -> int:
        data = self._inner.read(len(buffer))
        size = len(data)
        buffer[:size] = data
        if size == 0:
            self._at_end = True
        elif self._position >= 0:
            self._digest.update(data)
            self._position += size
        return size

    def close(self) -> None:
        self._inner.close()
        super().close()

    def sha256(self) -> str | None:
        """The SHA-256 of the bytes read, when they were read from start to end."""
        return self._digest.hexdigest() if self._at_end and self._position >= 0 else None


async def _fetch_upload_url(client: VirusTotalClient, path: str) -> str:
    """A one-time upload URL, checked and made safe by :func:`checked_upload_url`."""
    body = await client.request_json("GET", path)
    url = body.get("data") if isinstance(body, dict) else None
    if not isinstance(url, str):
        raise UnexpectedResponseError("InvalidResponse", f"{path}: no upload URL in the answer", 200)
    return checked_upload_url(client.base_url, url, path)


#: The service's own domain: an upload URL on it or a subdomain is VirusTotal's.
_VT_DOMAIN = "virustotal.com"


def checked_upload_url(base_url: str, url: str, path: str = "upload_url") -> str:
    """``url`` if the key may be sent there, upgraded to https when ``base_url`` is https.

    Accepted: a host of VirusTotal (``virustotal.com`` or a subdomain) or the configured
    API's own host and port (the emulator), in either scheme. Refused, before anything is
    sent: any other host, a non-web scheme, or credentials in the URL.
    """
    api, given = urlsplit(base_url), urlsplit(url)
    host = (given.hostname or "").lower().rstrip(".")
    own = host == (api.hostname or "").lower() and given.port == api.port
    ours = host == _VT_DOMAIN or host.endswith("." + _VT_DOMAIN)
    if given.scheme not in ("http", "https") or given.username or given.password or not (own or ours):
        # The key is sent with the upload: never to a host other than VirusTotal's or the API's.
        raise UnexpectedResponseError(
            "InvalidResponse",
            f"{path}: the upload URL is not on {api.netloc} or a VirusTotal host; refusing to send the key",
            200,
        )
    if api.scheme == "https" and given.scheme == "http":
        # The reference's own example is plain http; the key must never travel in clear.
        # On the API's own host the API's port serves https; elsewhere http's port 80 goes.
        netloc = api.netloc if own else given.netloc.removesuffix(":80")
        given = given._replace(scheme="https", netloc=netloc)
    return given.geturl()


def _descriptor(body: Any, path: str) -> VTObject[Any]:
    """The analysis descriptor ``{"data": {"type": "analysis", "id": ...}}`` of a submission."""
    data = body.get("data") if isinstance(body, dict) else None
    if not isinstance(data, dict) or not data.get("id"):
        raise UnexpectedResponseError("InvalidResponse", f"{path}: no analysis in the answer", 200)
    return parse_object(data)


#: Errors a wait rides out: the analysis may not exist yet just after a submission, and a
#: transient failure past the client's own retries is no reason to give up on the analysis.
_TOLERATED = (
    NotAvailableYet,
    NotFoundError,
    TransientError,
    DeadlineExceededError,
    TooManyRequestsError,
    APIConnectionError,
)


def poll_floor(client: VirusTotalClient, poll_share: float) -> float:
    """The shortest interval between polls that keeps them within ``poll_share`` of the quota.

    With a public key (4 requests a minute) and the default share of a quarter, that is
    one poll a minute, leaving three requests a minute for everything else.
    """
    rpm = getattr(client.limiter, "requests_per_minute", None)
    if not isinstance(rpm, int) or rpm <= 0:
        return 0.0
    return 60.0 / (rpm * poll_share)


async def wait_for_analysis(
    client: VirusTotalClient,
    analysis_id: str,
    *,
    private: bool,
    timeout: float,
    initial_interval: float,
    max_interval: float,
    factor: float | None,
    poll_share: float,
    precision: float = 0.1,
) -> AnalysisObject:
    """Poll an analysis until it completes (see :meth:`Analyses.wait`)."""
    ident = parse_analysis_id(analysis_id)
    if not 0 < poll_share <= 1:
        raise InvalidParameterError("poll_share must be in (0, 1]")
    if timeout < 0 or initial_interval <= 0 or max_interval <= 0 or (factor is not None and factor < 1):
        raise InvalidParameterError("timeout >= 0, intervals > 0 and factor >= 1 required")
    if precision <= 0:
        raise InvalidParameterError("precision > 0 required")
    floor = poll_floor(client, poll_share)
    start = max(initial_interval, floor)
    path = f"/private/analyses/{ident}" if private else f"/analyses/{ident}"
    attributes: type[AnalysisAttributes] = PrivateAnalysisAttributes if private else AnalysisAttributes

    # Every poll of this key in this process takes a turn from one budget: concurrent waits
    # share the quota floor instead of each spending it.
    budget = poll_budget(client.clock, client.base_url, client._key)
    deadline = client.clock.monotonic() + timeout
    progress = SandboxProgress(client.clock) if private else None

    async def fetch() -> AnalysisObject | None:
        if floor > 0 and not await budget.turn(client.clock, floor, deadline):
            return None  # no turn before the deadline: the wait times out without polling
        try:
            analysis = await client.get_object(path, attributes)
            if progress is not None:
                progress.observe(analysis)
            return analysis
        except QuotaExceededError as exc:
            if exc.is_long_term:
                raise
            logger.debug("%s: minute quota spent; waiting", ident)
            return None
        except _TOLERATED as exc:
            logger.debug("%s: %s while waiting; trying again", ident, type(exc).__name__)
            return None

    def age(analysis: AnalysisObject | None) -> float | None:
        """How long the analysis has been going by its own date (a resumed wait starts late).

        Never more than a day: a clock far off, or a date that is not the submission's, must
        not stretch the pauses to ``max_interval`` at once.
        """
        date = analysis.attributes.date if analysis is not None else None
        if date is None:
            return None
        going = client.clock.time() - date.timestamp()
        return going if 0 <= going <= 86_400 else None

    # A caller's factor keeps the geometric schedule; by default the pause is ``precision`` of
    # the analysis' age, so the completion is seen at most that share late. The floor from the
    # key's quota decides how close that can be: a premium key looks every few seconds near
    # the end, a public key still once a minute.
    result = await poll_until(
        fetch,
        lambda analysis: analysis is not None and analysis.attributes.completed,
        ident=ident,
        timeout=timeout,
        status=lambda analysis: analysis.attributes.status if analysis is not None else "unavailable",
        initial_interval=start,
        max_interval=max(max_interval, start),
        factor=factor if factor is not None else 1.0,
        precision=None if factor is not None else precision,
        age=age,
        eta=lambda _: progress.eta() if progress is not None else None,
        clock=client.clock,
    )
    assert result is not None
    return result


_ETA_MARGIN = 0.5
"""Seconds added to an estimated end: a poll just before it would be one spent for nothing."""


class SandboxProgress:
    """When a private analysis should end, by its sandboxes' own progress.

    A private analysis reports ``sandbox_status`` ``{sandbox: {"status": ..., "in_progress_percent":
    n}}`` (VirusTotal's reference, "Private Analyses" object). The rate at which the slowest
    sandbox's percentage grows between two polls gives its end; the wait looks then rather
    than up to a tenth of the age later. UNCONFIRMED: that the percentage grows about linearly
    with time and that the analysis completes when its sandboxes reach 100 %; the reference
    shows the field, not how it moves. So the estimate only ever brings a poll forward (never
    delays one past the proportional schedule), and anything unexpected (no percentage, one
    not a number, one going backwards, a single observation) gives no estimate at all.
    """

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._first: dict[str, tuple[float, float]] = {}
        self._last: dict[str, tuple[float, float]] = {}

    def observe(self, analysis: AnalysisObject) -> None:
        """Record each sandbox's percentage as seen now."""
        statuses = getattr(analysis.attributes, "sandbox_status", None)
        if not isinstance(statuses, dict):
            return
        now = self._clock.monotonic()
        for name, status in statuses.items():
            percent = status.get("in_progress_percent") if isinstance(status, dict) else None
            if isinstance(percent, bool) or not isinstance(percent, (int, float)) or not 0 < percent < 100:
                continue
            last = self._last.get(name)
            if last is not None and percent < last[1]:
                self._first.pop(name, None)  # went backwards: start over
            self._first.setdefault(name, (now, float(percent)))
            self._last[name] = (now, float(percent))

    def eta(self) -> float | None:
        """Seconds from now until the slowest sandbox should reach 100 %; None when unknown or past."""
        ends: list[float] = []
        for name, (t1, p1) in self._first.items():
            t2, p2 = self._last[name]
            if t2 <= t1 or p2 <= p1:
                continue
            ends.append(t2 + (100.0 - p2) * (t2 - t1) / (p2 - p1))
        remaining = max(ends, default=-1.0) - self._clock.monotonic()
        # Once the expected end has passed without completion, the estimate says nothing more:
        # the proportional schedule takes over (no stream of polls at the shortest pause).
        return remaining + _ETA_MARGIN if remaining > 0 else None


def _options(options: PrivateScanOptions | Mapping[str, Any] | None) -> PrivateScanOptions:
    """Options as the model, validated (a bad option costs no request)."""
    if options is None:
        return PrivateScanOptions()
    if isinstance(options, PrivateScanOptions):
        return options
    try:
        return PrivateScanOptions.model_validate(dict(options))
    except ValidationError as exc:
        problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
        raise InvalidParameterError(f"invalid private scanning options: {problems}") from None


def private_options(options: PrivateScanOptions | Mapping[str, Any] | None) -> PrivateScanOptions:
    """Validate private scanning options without sending anything.

    Raises:
        InvalidParameterError: an option is unknown or out of range.
    """
    return _options(options)


class PrivateScanning(_Area):
    """``/private``: private scanning of files and URLs (public scanning lives on Files, URLs, Analyses).

    Private files get no anti-virus engine results: a threat verdict, a severity and
    sandbox verdicts instead. Needs a Private Scanning licence.
    """

    async def upload(
        self,
        file: FileInput | UploadSource,
        options: PrivateScanOptions | Mapping[str, Any] | None = None,
        *,
        filename: str | None = None,
        expected_sha256: str | None = None,
    ) -> VTObject[Any]:
        """Upload a file for private scanning (``POST /private/files``, or an upload URL above 32 MB).

        Args:
            file: a path (streamed from disk) or bytes.
            options: sandbox options, validated before any request.
            filename: the name to report; the path's name by default.
            expected_sha256: the SHA-256 that was looked up: the bytes are hashed as they are
                uploaded and ``ContentChangedError`` is raised if they differ.

        Returns:
            The ``private_analysis`` descriptor; wait on its id with :meth:`wait`.

        Raises:
            InvalidParameterError: a bad option, or a missing, empty or oversized file.
        """
        opts = _options(options)
        source = UploadSource.of(file, filename, expected_sha256)
        return await _upload(self._client, source, "/private/files", "/private/files/upload_url", opts.form())

    async def upload_url(self) -> str:
        """A one-time URL for a private upload of up to 650 MB (``GET /private/files/upload_url``)."""
        return await _fetch_upload_url(self._client, "/private/files/upload_url")

    async def analysis(self, analysis_id: str) -> PrivateAnalysisObject:
        """A private analysis (``GET /private/analyses/{id}``)."""
        ident = parse_analysis_id(analysis_id)
        return await self._client.get_object(f"/private/analyses/{ident}", PrivateAnalysisAttributes)

    async def analysis_item(self, analysis_id: str) -> VTObject[Any]:
        """The private file or URL a private analysis is about (``GET /private/analyses/{id}/item``)."""
        ident = parse_analysis_id(analysis_id)
        body = await self._client.request_json("GET", f"/private/analyses/{ident}/item")
        return parse_object((body or {}).get("data"))

    async def wait(
        self,
        analysis_id: str,
        *,
        timeout: float = 1800.0,
        initial_interval: float = 15.0,
        max_interval: float = 120.0,
        factor: float | None = None,
        poll_share: float = 0.25,
        precision: float = 0.1,
    ) -> PrivateAnalysisObject:
        """Wait for a private analysis to complete (see :meth:`Analyses.wait`)."""
        result = await wait_for_analysis(
            self._client,
            analysis_id,
            private=True,
            timeout=timeout,
            initial_interval=initial_interval,
            max_interval=max_interval,
            factor=factor,
            poll_share=poll_share,
            precision=precision,
        )
        return result  # type: ignore[return-value]

    async def file(self, sha256: str) -> PrivateFileObject:
        """A private file's report (``GET /private/files/{sha256}``)."""
        ident = _sha256(sha256)
        return await self._client.get_object(f"/private/files/{ident}", PrivateFileAttributes)

    async def analyse(
        self, sha256: str, options: PrivateScanOptions | Mapping[str, Any] | None = None
    ) -> VTObject[Any]:
        """Re-analyse a private file (``POST /private/files/{sha256}/analyse``).

        The documentation lists the sandbox options as query parameters here, with
        ``retention_period_days`` among them (a ZIP ``password`` has nothing to open).
        """
        ident = _sha256(sha256)
        opts = _options(options)
        params = {k: v for k, v in opts.form().items() if k != "password"}
        path = f"/private/files/{ident}/analyse"
        body = await self._client.request_json("POST", path, params=params or None, idempotent=False)
        return _descriptor(body, path)

    async def delete(self, sha256: str, *, only_from_storage: bool = False) -> None:
        """Delete a private file and its analyses (``DELETE /private/files/{sha256}``).

        Args:
            sha256: the file's SHA-256.
            only_from_storage: delete only the stored bytes, keep the reports.
        """
        ident = _sha256(sha256)
        params = {"only_from_storage": "true"} if only_from_storage else None
        await self._client.request("DELETE", f"/private/files/{ident}", params=params)

    def files(self, *, limit: int | None = None, cursor: str | None = None) -> Paginator[Any]:
        """The group's private files, ordered by SHA-256 (``GET /private/files``)."""
        if limit is not None and limit < 1:
            raise InvalidParameterError("limit must be positive")
        return self._client.paginate("/private/files", limit=limit, cursor=cursor)

    async def scan_url(
        self,
        url: str,
        *,
        retention_period_days: int | None = None,
        storage_region: str | None = None,
        strip_credentials: bool = False,
        options: PrivateURLScanOptions | Mapping[str, Any] | None = None,
    ) -> VTObject[Any]:
        """Submit a URL for private scanning (``POST /private/urls``).

        ``options`` takes every documented field (``user_agent``, ``sandboxes``,
        ``retention_period_days``, ``storage_region`` US/CA/EU/GB, ``interaction_sandbox``,
        ``interaction_timeout``); the two keyword shortcuts are merged into it. Each is
        checked before anything is sent and sent only when given.

        Raises:
            InvalidIndicatorError: not a URL, or it carries credentials (see
                :func:`check_url_for_submission`).
            InvalidParameterError: an option is out of range (no request made).
        """
        target = check_url_for_submission(url, strip_credentials=strip_credentials)
        given = dict(
            options.model_dump(exclude_none=True)
            if isinstance(options, PrivateURLScanOptions)
            else options or {}
        )
        shortcuts = {"retention_period_days": retention_period_days, "storage_region": storage_region}
        given.update({k: v for k, v in shortcuts.items() if v is not None})
        try:
            opts = PrivateURLScanOptions.model_validate(given)
        except ValidationError as exc:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors())
            raise InvalidParameterError(f"invalid private URL scan options: {problems}") from None
        body = await self._client.request_json(
            "POST", "/private/urls", data={"url": target, **opts.form()}, idempotent=False
        )
        return _descriptor(body, "/private/urls")

    async def url(self, url: str) -> PrivateURLObject:
        """A private URL's report (``GET /private/urls/{id}``): a URL, its id or SHA-256."""
        ident = parse_url_identifier(url)
        return await self._client.get_object(f"/private/urls/{ident}", PrivateURLAttributes)


def _sha256(value: str) -> str:
    ident = parse_file_hash(value)
    if len(ident) != 64:
        raise InvalidIndicatorError(value, "SHA-256", "private files are addressed by SHA-256")
    return ident
