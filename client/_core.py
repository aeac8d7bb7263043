"""``VirusTotalClient``: one async ``httpx`` client, retries, pacing and error mapping."""

from __future__ import annotations

import json
import logging
import os
import ssl
import threading
import weakref
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from email.utils import parsedate_to_datetime
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from ._clock import SYSTEM_CLOCK, Clock
from ._errors import (
    APIConnectionError,
    APIError,
    APITimeoutError,
    InvalidParameterError,
    RateLimitError,
    UnexpectedResponseError,
    VirusTotalError,
    error_class_for,
)
from ._pagination import Paginator
from ._ratelimit import RateLimiter
from ._retry import MAX_WRITE_ATTEMPTS, RetryPolicy, WriteOutcome, write_outcome
from ._transports import mounted_transport
from .models import VTObject
from .models._registry import parse_object

logger = logging.getLogger(__name__)

DEFAULT_BASE_URL = "https://www.virustotal.com/api/v3"
USER_AGENT = "prefect-virustotal"

AttributesT = TypeVar("AttributesT", bound=BaseModel)
T = TypeVar("T")
FilesArg = Mapping[str, Any] | Callable[[], Mapping[str, Any]] | None

_IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "DELETE", "PUT", "OPTIONS"})

_SSL_LOCK = threading.Lock()
_SSL_CONTEXTS: dict[tuple[str | None, str | None], ssl.SSLContext] = {}


def shared_ssl_context() -> ssl.SSLContext:
    """The process's one SSL context for the network, built on first use.

    Each task run builds a client; building an SSL context loads the whole CA bundle
    (``load_verify_locations``, ~0.1 s of CPU on a loaded machine), so every client shares one.
    The verification is httpx's default, unchanged: certificates and host names are checked
    against ``SSL_CERT_FILE`` or ``SSL_CERT_DIR`` when set, else certifi's bundle; a change of
    those variables gets a context of its own. One context serving many connections (and
    threads) is how Python's ``ssl`` module is meant to be used.
    """
    where = (os.environ.get("SSL_CERT_FILE") or None, os.environ.get("SSL_CERT_DIR") or None)
    with _SSL_LOCK:
        context = _SSL_CONTEXTS.get(where)
        if context is None:
            context = _SSL_CONTEXTS[where] = httpx.create_ssl_context()
        return context


def _endpoint_of(base_url: str) -> str:
    """``host:port`` of the API root, for errors that must say where a request went."""
    parts = urlsplit(base_url)
    port = parts.port or (443 if parts.scheme == "https" else 80)
    return f"{parts.hostname}:{port}"


def _retry_after(response: httpx.Response) -> float | None:
    """``Retry-After`` in seconds when it is a number (VirusTotal sending it is UNCONFIRMED)."""
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


@dataclass(frozen=True)
class WriteAttempt:
    """One send of a write whose answer was lost, as a read-back sees it."""

    client: VirusTotalClient
    monotonic: float
    """When it was sent, on the client's monotonic clock."""

    def began(self, slack: float = 2.0) -> float:
        """When it was sent in the service's time (epoch seconds), ``slack`` seconds early.

        Call it after the read-back's first request, so the service's latest ``Date`` is used.
        ``Date`` has a one-second resolution, hence the default slack of two seconds.
        """
        return self.client.server_time(self.monotonic) - slack


_NOT_DECODED = object()


class VirusTotalClient:
    """Async client of the VirusTotal API v3.

    One ``httpx.AsyncClient`` underneath; use it as an async context manager. The key
    travels only in the ``x-apikey`` header and never appears in a repr, log or error.

    Args:
        api_key: the VirusTotal API key.
        base_url: the API root, ``https://www.virustotal.com/api/v3`` by default.
        timeout: seconds for connect, read, write and pool each.
        limiter: paces requests (see ``LocalRateLimiter``); None sends at once.
        retry: the retry policy (bounded, jittered backoff).
        transport: an ``httpx`` transport (the emulator's, in tests); by default the one
            mounted for ``base_url`` if any, else the network.
        clock: what waits are measured and slept on.

    Example:
        >>> async with VirusTotalClient(key) as vt:  # doctest: +SKIP
        ...     report = await vt.files.get("44d88612fea8a8f36de82e1278abb02f")
    """

    def __init__(
        self,
        api_key: str | SecretStr,
        *,
        base_url: str = DEFAULT_BASE_URL,
        timeout: float = 60.0,
        limiter: RateLimiter | None = None,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Clock = SYSTEM_CLOCK,
    ) -> None:
        key = api_key.get_secret_value() if isinstance(api_key, SecretStr) else api_key
        if not key or not key.strip():
            raise InvalidParameterError("an API key is required")
        self._key = key.strip()
        self.base_url = base_url.rstrip("/")
        self._endpoint = _endpoint_of(self.base_url)
        self.limiter = limiter
        self.retry = retry or RetryPolicy()
        self.clock = clock
        self.request_count = 0
        """Requests sent by this client (retries and read-backs included)."""
        # Bodies already decoded while checking that a 200 is JSON, for request_json to use
        # rather than decoding a large list page a second time.
        self._decoded: weakref.WeakKeyDictionary[httpx.Response, Any] = weakref.WeakKeyDictionary()
        self.read_backs = 0
        """Writes whose answer was lost and that were resolved by asking the service."""
        self.read_back_requests = 0
        """Requests those read-backs sent (counted in ``request_count`` too)."""
        self.write_resends = 0
        """Writes sent again because the previous send certainly or verifiably did not happen."""
        self._server_time: tuple[float, float] | None = None
        self.emulated = False
        """True once an answer came from the pack's emulator: its data is fiction."""
        transport = transport or mounted_transport(self.base_url)
        self._http = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout),
            transport=transport,
            # A given transport (an emulator's) needs none; the network shares one.
            verify=True if transport is not None else shared_ssl_context(),
            headers={"x-apikey": self._key, "accept": "application/json", "user-agent": USER_AGENT},
            follow_redirects=False,
        )
        # Areas are imported here to keep the module graph acyclic.
        from ._analyses import Analyses
        from ._behaviours import Behaviours
        from ._collections import Collections
        from ._comments import Community
        from ._downloads import Downloads
        from ._ioc_stream import IoCStream
        from ._livehunt import Livehunt
        from ._lookups import Domains, Files, IPAddresses, Resolutions, URLs
        from ._notifications import HuntingNotifications
        from ._relationships import Relationships
        from ._retrohunt import Retrohunt
        from ._scanning import PrivateScanning
        from ._search import Search
        from ._users import Users
        from ._vt_alerts import VtAlerts

        self.files = Files(self)
        self.urls = URLs(self)
        self.domains = Domains(self)
        self.ip_addresses = IPAddresses(self)
        self.analyses = Analyses(self)
        self.relationships = Relationships(self)
        self.private = PrivateScanning(self)
        self.retrohunt = Retrohunt(self)
        self.livehunt = Livehunt(self)
        self.hunting_notifications = HuntingNotifications(self)
        self.ioc_stream = IoCStream(self)
        self.collections = Collections(self)
        self.users = Users(self)
        self.alerts = VtAlerts(self)
        """VT Alerts: watchlist assets and their notifications (not the IoC Stream)."""
        self.behaviours = Behaviours(self)
        self.downloads = Downloads(self)
        self.community = Community(self)
        self.resolutions = Resolutions(self)
        self.search = Search(self)

    def __repr__(self) -> str:
        return f"VirusTotalClient(base_url={self.base_url!r})"

    async def __aenter__(self) -> VirusTotalClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._http.aclose()

    def request_figures(self) -> str:
        """``"N request(s)"``, naming the read-backs among them when a lost answer needed any."""
        text = f"{self.request_count} request(s)"
        if self.read_backs:
            text += f", {self.read_back_requests} of them reading back {self.read_backs} lost answer(s)"
        return text

    def _redact(self, text: str) -> str:
        """Remove the key from text that came back from the server."""
        return text.replace(self._key, "***") if self._key in text else text

    def _error_from(self, response: httpx.Response) -> APIError:
        """Build the exception for a non-200 answer."""
        code: str | None = None
        message = ""
        try:
            body = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            body = None
        if isinstance(body, dict) and isinstance(body.get("error"), dict):
            raw_code = body["error"].get("code")
            code = raw_code if isinstance(raw_code, str) else None
            message = str(body["error"].get("message", ""))
        if code is None:
            excerpt = response.text[:200].strip().replace("\n", " ")
            message = message or f"unexpected answer: {excerpt or '(empty body)'}"
        status = response.status_code
        cls = error_class_for(code, status)
        fallback = "ServerError" if status >= 500 else "ClientError"
        return cls(code or fallback, self._redact(message), status)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, Any] | None = None,
        json_body: Any = None,
        data: Mapping[str, Any] | None = None,
        files: FilesArg = None,
        idempotent: bool | None = None,
        timeout: float | None = None,
        expect_json: bool = False,
    ) -> httpx.Response:
        """Send a request with pacing, retries and error mapping; return a 200 answer.

        Args:
            method: HTTP method.
            path: a path under the base URL, or an absolute URL (upload URLs).
            params: query parameters.
            json_body: a JSON body.
            data: form fields.
            files: multipart files, or a callable that opens them afresh for each attempt
                (a retried upload must not send a half-read file).
            idempotent: whether repeating the request is harmless; GET and DELETE are.
            timeout: overrides the client's timeout for this request.
            expect_json: a 200 whose non-empty body is not JSON (cut short, an HTML page) is
                an ``UnexpectedResponseError``, retried like a transient error when the
                request is idempotent.

        Raises:
            APIError: VirusTotal answered with an error (the leaf class names the code).
            APIConnectionError: the request did not complete after the retries allowed.
        """
        method = method.upper()
        safe = method in _IDEMPOTENT_METHODS if idempotent is None else idempotent
        attempt = 0
        while True:
            attempt += 1
            response, error, retry_after, sent = await self._attempt(
                method, path, params, json_body, data, files, timeout, expect_json
            )
            if error is None:
                assert response is not None
                return response
            if not self.retry.should_retry(error, attempt=attempt, idempotent=safe, sent=sent):
                raise error
            delay = self.retry.delay(error, attempt=attempt, retry_after=retry_after)
            if delay is None:
                raise error
            logger.debug(
                "%s %s failed (%s); retry %d in %.1fs", method, path, type(error).__name__, attempt, delay
            )
            await self.clock.sleep(delay)

    async def _attempt(
        self,
        method: str,
        path: str,
        params: Mapping[str, Any] | None,
        json_body: Any,
        data: Mapping[str, Any] | None,
        files: FilesArg,
        timeout: float | None,
        expect_json: bool,
    ) -> tuple[httpx.Response | None, VirusTotalError | None, float | None, bool]:
        """Send once: ``(2xx answer, None, ...)`` or ``(None, error, Retry-After, sent)``."""
        if self.limiter is not None:
            await self.limiter.acquire()
        retry_after: float | None = None
        sent = True
        error: VirusTotalError
        try:
            self.request_count += 1
            response = await self._http.request(
                method,
                path,
                params=params,
                json=json_body,
                data=data,
                files=files() if callable(files) else files,
                timeout=httpx.Timeout(timeout) if timeout is not None else httpx.USE_CLIENT_DEFAULT,
            )
        except (httpx.ConnectTimeout, httpx.PoolTimeout) as exc:
            sent = False
            error = APITimeoutError(
                f"{method} {self._redact(path)} at {self._endpoint}: {type(exc).__name__}"
            )
        except httpx.TimeoutException as exc:
            error = APITimeoutError(
                f"{method} {self._redact(path)} at {self._endpoint}: {type(exc).__name__}"
            )
        except httpx.ConnectError as exc:
            sent = False
            error = APIConnectionError(
                f"{method} {self._redact(path)}: could not connect to {self._endpoint} ({type(exc).__name__})"
            )
        except httpx.TransportError as exc:
            error = APIConnectionError(
                f"{method} {self._redact(path)} at {self._endpoint}: "
                f"{type(exc).__name__}: {self._redact(str(exc))}"
            )
        else:
            logger.debug("%s %s -> %s", method, path, response.status_code)
            self._note_server_time(response)
            if response.headers.get("x-vt-emulator"):
                self.emulated = True
            if 200 <= response.status_code < 300:
                # Any 2xx is success (the reference's errors page); a 204 has no body.
                if not expect_json or self._decodes(response):
                    return response, None, None, True
                error = UnexpectedResponseError(
                    "InvalidResponse",
                    f"{method} {self._redact(path)}: the body is not JSON",
                    response.status_code,
                )
            else:
                error = self._error_from(response)
                retry_after = _retry_after(response)
        return None, error, retry_after, sent

    def _note_server_time(self, response: httpx.Response) -> None:
        """Remember the service's clock (its ``Date``) against ours, to date a lost write."""
        value = response.headers.get("date")
        if not value:
            return
        try:
            when = parsedate_to_datetime(value)
        except (TypeError, ValueError, IndexError):
            return
        if when.tzinfo is not None:
            self._server_time = (when.timestamp(), self.clock.monotonic())

    def server_time(self, monotonic: float) -> float:
        """The service's time (epoch seconds) at a moment of this client's monotonic clock.

        From the last ``Date`` the service sent (our own wall clock when none came): a write
        whose answer was lost is dated in the service's time, whatever our clock says.
        """
        if self._server_time is None:
            return self.clock.time() - (self.clock.monotonic() - monotonic)
        server, seen = self._server_time
        return server - (seen - monotonic)

    async def write(
        self,
        method: str,
        path: str,
        *,
        parse: Callable[[Any], T],
        read_back: Callable[[WriteAttempt], Awaitable[T | None]],
        what: str,
        json_body: Any = None,
        data: Mapping[str, Any] | None = None,
        files: FilesArg = None,
        params: Mapping[str, Any] | None = None,
        timeout: float | None = None,
    ) -> T:
        """Send a write that must happen once: resend only when it certainly did not happen.

        A failure that means "not done" (see :func:`write_outcome`) is resent after the
        policy's backoff. An uncertain one (the answer was lost after the request left) is
        resolved by ``read_back``: what the write would have left behind, asked of the service
        (each of its requests is counted in ``request_count``, and the read-back itself in
        ``read_backs``). The read-back returns the result of the write if it happened, and
        None if it did not, and only then is the write sent again. At most
        :data:`MAX_WRITE_ATTEMPTS` attempts; a 429 (refused before the write was looked at) is
        no attempt and is retried as a read is. Never more sends than the policy's
        ``max_retries`` allows a read.

        Args:
            method: HTTP method (a write: POST, usually).
            path: a path under the base URL, or an absolute URL (upload URLs).
            parse: turns the decoded 200 answer into the result.
            read_back: given the attempt, finds what it left behind, or None.
            what: what is written, for log lines ("retrohunt job", "upload of <sha256>").
            json_body: a JSON body.
            data: form fields.
            files: multipart files, or a callable opening them afresh per attempt.
            params: query parameters.
            timeout: overrides the client's timeout for this request.

        Raises:
            VirusTotalError: the write was refused, or it is still uncertain after the last
                attempt, or the read-back failed (raised with the read-back's error as cause).
        """
        method = method.upper()
        attempts = sends = 0
        while True:
            sends += 1
            began = self.clock.monotonic()
            response, error, retry_after, sent = await self._attempt(
                method, path, params, json_body, data, files, timeout, True
            )
            if error is None:
                assert response is not None
                try:
                    return parse(response.json() if response.content else {})
                except UnexpectedResponseError as exc:
                    error = exc  # a 200 we cannot read: done, most likely; read back below
            outcome = write_outcome(error, sent=sent)
            if outcome is WriteOutcome.FAILED:
                raise error
            if not isinstance(error, RateLimitError):
                attempts += 1  # a 429 never reached the write: not an attempt of it
            if outcome is WriteOutcome.UNCERTAIN:
                self.read_backs += 1
                logger.info("%s: the answer was lost (%s); asking the service", what, type(error).__name__)
                if isinstance(error, APITimeoutError):
                    # A request we stopped waiting for may still be queued or running on the
                    # service: give it as long again to land, or the read-back could miss it.
                    await self.clock.sleep(self._read_timeout(timeout))
                before = self.request_count
                try:
                    found = await read_back(WriteAttempt(self, began))
                except VirusTotalError as exc:
                    raise error from exc
                finally:
                    self.read_back_requests += self.request_count - before
                if found is not None:
                    logger.info("%s: it was applied; not sending it again", what)
                    return found
                logger.info("%s: it was not applied", what)
            if attempts >= MAX_WRITE_ATTEMPTS or sends > self.retry.max_retries:
                raise error
            delay = self.retry.delay(error, attempt=sends, retry_after=retry_after)
            if delay is None:
                raise error
            self.write_resends += 1
            await self.clock.sleep(delay if outcome is WriteOutcome.NOT_DONE else 0.0)

    def _read_timeout(self, timeout: float | None) -> float:
        """The read timeout a request had (capped at a minute)."""
        if timeout is not None:
            return min(timeout, 60.0)
        configured = self._http.timeout.read
        return min(configured, 60.0) if configured is not None else 60.0

    async def request_json(self, method: str, path: str, **kwargs: Any) -> Any:
        """Like :meth:`request`, returning the decoded JSON body.

        Raises:
            UnexpectedResponseError: a 200 whose body is not JSON (truncated, HTML).
        """
        response = await self.request(method, path, expect_json=True, **kwargs)
        if not response.content:
            return {}
        decoded = self._decoded.pop(response, _NOT_DECODED)
        return response.json() if decoded is _NOT_DECODED else decoded

    def _decodes(self, response: httpx.Response) -> bool:
        """Whether a body is empty or JSON (the decoded body is kept for ``request_json``)."""
        if not response.content:
            return True
        try:
            self._decoded[response] = response.json()
        except (json.JSONDecodeError, UnicodeDecodeError):
            return False
        return True

    async def get_report(
        self, kind: str, object_id: str, *, relationships: Sequence[str] | None = None
    ) -> VTObject[Any]:
        """The report of a file, URL, domain or IP address, from the area that holds its kind.

        Args:
            kind: ``file``, ``url``, ``domain`` or ``ip_address`` (an ``IndicatorKind``).
            object_id: its hash, URL (or URL id), domain or address; validated by the area.
            relationships: relationships to embed (first page of each).

        Raises:
            InvalidParameterError: ``kind`` is not one of the four.
        """
        if kind == "file":
            return await self.files.get(object_id, relationships=relationships)
        if kind == "url":
            return await self.urls.get(object_id, relationships=relationships)
        if kind == "domain":
            return await self.domains.get(object_id, relationships=relationships)
        if kind == "ip_address":
            return await self.ip_addresses.get(object_id, relationships=relationships)
        raise InvalidParameterError(f"no report for objects of type {kind!r}")

    async def get_object(
        self,
        path: str,
        attributes: type[AttributesT],
        *,
        params: Mapping[str, Any] | None = None,
    ) -> VTObject[AttributesT]:
        """GET one object and parse it with ``attributes`` as its attribute model."""
        body = await self.request_json("GET", path, params=params)
        return self.parse_single(body, attributes, path)

    def parse_single(self, body: Any, attributes: type[AttributesT], path: str) -> VTObject[AttributesT]:
        """Parse ``{"data": {...}, "meta"?}`` into a typed object.

        Raises:
            UnexpectedResponseError: the body is not an object envelope.
        """
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise UnexpectedResponseError("InvalidResponse", f"{path}: no data object in the answer", 200)
        payload = dict(body["data"])
        if isinstance(body.get("meta"), dict):
            payload["meta"] = body["meta"]
        try:
            return VTObject[attributes].model_validate(payload)  # type: ignore[valid-type]
        except ValidationError as exc:
            raise UnexpectedResponseError(
                "InvalidResponse", f"{path}: {exc.error_count()} field(s) do not match the v3 schema", 200
            ) from exc

    def paginate(
        self,
        path: str,
        parse: Callable[[Any], Any] = parse_object,
        *,
        params: Mapping[str, Any] | None = None,
        page_size: int = 40,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[Any]:
        """A lazy, resumable iterator over a list endpoint."""

        async def fetch(query: Mapping[str, Any]) -> Mapping[str, Any]:
            body = await self.request_json("GET", path, params=query)
            if not isinstance(body, dict):
                raise UnexpectedResponseError("InvalidResponse", f"{path}: not a list answer", 200)
            return body

        return Paginator(fetch, parse, params=params, page_size=page_size, limit=limit, cursor=cursor)
