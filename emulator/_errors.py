"""The v3 error envelope: every error code, its HTTP status, and one helper to answer with it."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from starlette.responses import JSONResponse

__all__ = ["ERROR_STATUS", "ApiError", "error_response"]

#: Error code -> HTTP status, as in the v3 errors table (all 16 codes).
ERROR_STATUS: Mapping[str, int] = MappingProxyType(
    {
        "BadRequestError": 400,
        "InvalidArgumentError": 400,
        "NotAvailableYet": 400,
        "UnselectiveContentQueryError": 400,
        "UnsupportedContentQueryError": 400,
        "AuthenticationRequiredError": 401,
        "UserNotActiveError": 401,
        "WrongCredentialsError": 401,
        "ForbiddenError": 403,
        "NotFoundError": 404,
        "AlreadyExistsError": 409,
        "FailedDependencyError": 424,
        "QuotaExceededError": 429,
        "TooManyRequestsError": 429,
        "TransientError": 503,
        "DeadlineExceededError": 504,
    }
)


class ApiError(Exception):
    """Raised inside a route to answer with a v3 error envelope.

    Args:
        code: One of the v3 error codes (a key of ``ERROR_STATUS``).
        message: Human-readable text placed in ``error.message``.
        headers: Extra response headers (e.g. ``Retry-After``).
    """

    def __init__(self, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        if code not in ERROR_STATUS:
            raise ValueError(f"unknown v3 error code: {code!r}")
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        self.headers = dict(headers or {})

    @property
    def status(self) -> int:
        """The HTTP status that goes with ``code``."""
        return ERROR_STATUS[self.code]

    def response(self) -> JSONResponse:
        """Render this error as a response."""
        return error_response(self.code, self.message, headers=self.headers)


def error_response(
    code: str,
    message: str,
    *,
    headers: Mapping[str, str] | None = None,
    status: int | None = None,
) -> JSONResponse:
    """Build ``{"error": {"code", "message"}}`` with ``application/json`` and the code's status.

    ``status`` overrides the table only for answers that are not v3 codes at all (the 413 body
    guard); everything else takes its status from ``ERROR_STATUS``.
    """
    if code not in ERROR_STATUS:
        raise ValueError(f"unknown v3 error code: {code!r}")
    return JSONResponse(
        {"error": {"code": code, "message": message}},
        status_code=status if status is not None else ERROR_STATUS[code],
        headers=dict(headers or {}),
    )
