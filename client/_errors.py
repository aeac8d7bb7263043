"""Exceptions raised by the VirusTotal client.

Every exception the pack raises on purpose derives from :class:`VirusTotalError`.
API errors mirror the v3 error envelope: the leaf class is chosen from ``error.code``,
falling back to the HTTP status family when the code is unknown or the body is not
the JSON envelope (a proxy's HTML page, a truncated body)::

    VirusTotalError
    ├── InvalidIndicatorError          bad hash / URL / domain / IP; raised before any request
    ├── InvalidParameterError          bad option (size, range, enum); raised before any request
    ├── RequestBudgetExceededError     the client-side daily budget is spent; no request sent
    ├── AnalysisTimeoutError           a wait passed its deadline; carries the analysis id
    ├── DownloadIntegrityError         a downloaded file's SHA-256 is not the one asked for
    ├── APIConnectionError             the request did not complete (DNS, refused, dropped)
    │   └── APITimeoutError            connect/read/write/pool timeout
    └── APIError(code, message, status_code)
        ├── BadRequestError (400)          BadRequestError, InvalidArgumentError, NotAvailableYet,
        │                                  UnselectiveContentQueryError, UnsupportedContentQueryError
        ├── AuthenticationError (401)      AuthenticationRequiredError, UserNotActiveError,
        │                                  WrongCredentialsError
        ├── PermissionDeniedError (403)    ForbiddenError
        ├── NotFoundError (404)
        ├── ConflictError (409)            AlreadyExistsError
        ├── FailedDependencyError (424)
        ├── RateLimitError (429)           QuotaExceededError, TooManyRequestsError,
        │                                  DeletionInProgressError
        ├── ServerError (5xx)              TransientError (503), DeadlineExceededError (504)
        └── UnexpectedResponseError        a non-200 answer that is not the envelope, or a 200
                                           whose body is not the JSON we expect

``BadRequestError`` and ``NotFoundError`` are both the status family and the v3 code
of the same name: VirusTotal uses those names for the generic code of the status.
"""

from __future__ import annotations

import re
from typing import ClassVar, Literal

QuotaScope = Literal["minute", "hourly", "daily", "monthly", "unknown"]


class VirusTotalError(Exception):
    """Base class of every error the pack raises on purpose."""


class InvalidIndicatorError(VirusTotalError, ValueError):
    """An indicator (hash, URL, domain, IP, id) is malformed; no request was made."""

    def __init__(self, value: str, kind: str, reason: str) -> None:
        shown = value if len(value) <= 120 else value[:117] + "..."
        super().__init__(f"invalid {kind} {shown!r}: {reason}")
        self.value = value
        self.kind = kind
        self.reason = reason


class InvalidParameterError(VirusTotalError, ValueError):
    """An option is out of range or malformed; no request was made."""


class PublicUploadRefusedError(InvalidParameterError):
    """A file VirusTotal does not know would have to be uploaded publicly, and that was not
    allowed; nothing was uploaded.

    Attributes:
        sha256: the file's SHA-256 (looked up, not found or too old).
    """

    def __init__(self, sha256: str, message: str) -> None:
        super().__init__(message)
        self.sha256 = sha256


class ContentChangedError(VirusTotalError):
    """The bytes uploaded are not the file that was looked up (it changed in between): no
    verdict may be given for the hash that was looked up.

    Attributes:
        expected: the SHA-256 looked up.
        sent: the SHA-256 of the bytes uploaded (None if they were not read to the end).
    """

    def __init__(self, name: str, expected: str, sent: str | None) -> None:
        super().__init__(
            f"{name!r} changed between the hash lookup ({expected}) and the upload "
            f"({sent or 'not read to the end'}); no verdict is given for it"
        )
        self.expected = expected
        self.sent = sent


class RequestBudgetExceededError(VirusTotalError):
    """The client-side request budget for this key is spent; no request was made."""

    def __init__(self, message: str, scope: QuotaScope = "daily") -> None:
        super().__init__(message)
        self.scope: QuotaScope = scope


class AnalysisTimeoutError(VirusTotalError, TimeoutError):
    """An analysis (or job) did not reach a terminal state before the deadline.

    The id is kept so that a later run can resume waiting instead of submitting again.
    """

    def __init__(self, analysis_id: str, waited: float, last_status: str | None) -> None:
        super().__init__(
            f"analysis {analysis_id} not completed after {waited:.0f}s "
            f"(last status: {last_status or 'unknown'}); resume by waiting on this id"
        )
        self.analysis_id = analysis_id
        self.waited = waited
        self.last_status = last_status


class DownloadIntegrityError(VirusTotalError):
    """A downloaded file's SHA-256 differs from the one asked for; the file was deleted."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"downloaded bytes hash to {actual}, not {expected}; the file was deleted")
        self.expected = expected
        self.actual = actual


class APIConnectionError(VirusTotalError):
    """The request did not complete: connection refused, reset or dropped."""


class APITimeoutError(APIConnectionError):
    """The request timed out (connect, read, write or pool)."""


class APIError(VirusTotalError):
    """VirusTotal answered with an error.

    Attributes:
        code: the v3 error code (``error.code`` of the envelope), or a synthetic one
            (``"ClientError"``/``"ServerError"``) when the body was not the envelope.
        message: the envelope's message, or a short excerpt of the body.
        status_code: the HTTP status.
    """

    status: ClassVar[int | None] = None

    def __init__(self, code: str, message: str, status_code: int) -> None:
        super().__init__(f"{code} ({status_code}): {message}")
        self.code = code
        self.message = message
        self.status_code = status_code


class BadRequestError(APIError):
    """400: the request is malformed (also the v3 code ``BadRequestError``)."""

    status = 400


class InvalidArgumentError(BadRequestError):
    """400: an argument is invalid."""


class NotAvailableYet(BadRequestError):  # noqa: N818 - spelled as VirusTotal spells it
    """400: the resource is not available yet; try again later."""


class UnselectiveContentQueryError(BadRequestError):
    """400: the content search is not selective enough."""


class UnsupportedContentQueryError(BadRequestError):
    """400: the content search is not supported."""


class AuthenticationError(APIError):
    """401 family."""

    status = 401


class AuthenticationRequiredError(AuthenticationError):
    """401: no API key was sent."""


class UserNotActiveError(AuthenticationError):
    """401: the account is not active."""


class WrongCredentialsError(AuthenticationError):
    """401: the API key is wrong."""


class PermissionDeniedError(APIError):
    """403 family."""

    status = 403


class ForbiddenError(PermissionDeniedError):
    """403: the key may not do this (e.g. a premium endpoint with a public key)."""


class NotFoundError(APIError):
    """404: the object does not exist (also the v3 code ``NotFoundError``)."""

    status = 404


class ConflictError(APIError):
    """409 family."""

    status = 409


class AlreadyExistsError(ConflictError):
    """409: the resource already exists."""


class FailedDependencyError(APIError):
    """424: a request this one depended on failed."""

    status = 424


class RateLimitError(APIError):
    """429 family."""

    status = 429


class TooManyRequestsError(RateLimitError):
    """429: too many requests."""


class DeletionInProgressError(RateLimitError):
    """429 ``TooManyRequests`` on ``DELETE /ioc_stream``: an earlier bulk deletion still runs.

    Not a quota problem and not retried: the deletion the caller asked for is (in effect)
    already under way; asking again later is the caller's choice.
    """


_QUOTA_WORDS: tuple[tuple[str, QuotaScope], ...] = (
    ("month", "monthly"),
    ("daily", "daily"),
    ("day", "daily"),
    ("hour", "hourly"),
    ("minute", "minute"),
)


class QuotaExceededError(RateLimitError):
    """429: a quota of the key is spent.

    ``scope`` says which quota, read from the message. VirusTotal does not document a
    machine-readable field for it (UNCONFIRMED), so the words of the message decide;
    an unknown scope is treated like a minute quota (retried, bounded).
    """

    def __init__(self, code: str, message: str, status_code: int) -> None:
        super().__init__(code, message, status_code)
        lowered = message.lower()
        self.scope: QuotaScope = "unknown"
        for word, scope in _QUOTA_WORDS:
            if re.search(rf"\b{word}", lowered):
                self.scope = scope
                break

    @property
    def is_long_term(self) -> bool:
        """True for a daily, hourly or monthly quota: waiting seconds will not help."""
        return self.scope in ("hourly", "daily", "monthly")


class ServerError(APIError):
    """5xx family."""

    status = 500


class TransientError(ServerError):
    """503: a transient error; a retry may work."""


class DeadlineExceededError(ServerError):
    """504: the request took too long on the server."""


class UnexpectedResponseError(APIError):
    """An answer that is neither a 200 with JSON nor the error envelope."""


ERROR_CODES: dict[str, type[APIError]] = {
    "BadRequestError": BadRequestError,
    "InvalidArgumentError": InvalidArgumentError,
    "NotAvailableYet": NotAvailableYet,
    "UnselectiveContentQueryError": UnselectiveContentQueryError,
    "UnsupportedContentQueryError": UnsupportedContentQueryError,
    "AuthenticationRequiredError": AuthenticationRequiredError,
    "UserNotActiveError": UserNotActiveError,
    "WrongCredentialsError": WrongCredentialsError,
    "ForbiddenError": ForbiddenError,
    "NotFoundError": NotFoundError,
    "AlreadyExistsError": AlreadyExistsError,
    "FailedDependencyError": FailedDependencyError,
    "QuotaExceededError": QuotaExceededError,
    "TooManyRequestsError": TooManyRequestsError,
    "TransientError": TransientError,
    "DeadlineExceededError": DeadlineExceededError,
}
"""The 16 documented v3 error codes and their classes."""

_STATUS_FAMILIES: dict[int, type[APIError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    409: ConflictError,
    424: FailedDependencyError,
    429: RateLimitError,
    503: TransientError,
    504: DeadlineExceededError,
}


def quota_refusal(error: RequestBudgetExceededError | QuotaExceededError) -> tuple[str, bool]:
    """What a quota refusal tells the analyst, and whether it lasts.

    ``lasting`` is true when every later request with this key would be refused too (the
    client's daily budget, or the service's hourly, daily or monthly quota): a batch stops
    asking then, and reports the rest as quota-limited instead of spending requests on 429s.
    """
    if isinstance(error, RequestBudgetExceededError):
        return str(error), True
    return error.message, error.is_long_term


def error_class_for(code: str | None, status_code: int) -> type[APIError]:
    """Pick the exception class: the v3 code first, then the status family."""
    if code is not None and code in ERROR_CODES:
        return ERROR_CODES[code]
    if status_code in _STATUS_FAMILIES:
        return _STATUS_FAMILIES[status_code]
    if status_code >= 500:
        return ServerError
    return UnexpectedResponseError
