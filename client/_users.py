"""``/users``: the user behind a key and its quota use.

VirusTotal names a user by its id or by one of its API keys (``/users/{id_or_apikey}``).
Asking about "the key's own user" puts the key in the URL path, so this module never does
that silently in a log: the client's own debug line and ``httpx``'s request line are passed
through :class:`RedactUserPaths`, which hides the path segment after ``/users/``.
"""

from __future__ import annotations

import logging
import re
from datetime import date, timedelta

from ._errors import InvalidParameterError, UnexpectedResponseError
from ._lookups import _Area
from .models._users import ApiUsage, OverallQuotas

API_USAGE_MAX_DAYS = 30
"""Longest range ``api_usage`` accepts (the reference: "The maximum range of time allowed ... is 30 days")."""

_USER_SEGMENT = re.compile(r"(/users/)[^/\s?\"']+")
_USER_ID = re.compile(r"[A-Za-z0-9_.@+-]{1,128}")


class RedactUserPaths(logging.Filter):
    """Hide the segment after ``/users/`` in log lines (it may be an API key)."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if "/users/" in message:
            record.msg, record.args = _USER_SEGMENT.sub(r"\1***", message), ()
        return True


_FILTER = RedactUserPaths()
for _name in ("httpx", "prefect_virustotal.client._core"):
    _logger = logging.getLogger(_name)
    if not any(isinstance(f, RedactUserPaths) for f in _logger.filters):
        _logger.addFilter(_FILTER)


class Users(_Area):
    """``/users``: a user object and its quota use."""

    def _path(self, user_id_or_key: str | None) -> str:
        """``/users/{id}``, the key itself standing for "the key's own user" when None."""
        if user_id_or_key is None:
            return f"/users/{self._client._key}"
        value = user_id_or_key.strip()
        if not _USER_ID.fullmatch(value):
            raise InvalidParameterError("a user id is 1-128 letters, digits or ._@+-")
        return f"/users/{value}"

    async def own_id(self) -> str:
        """The id of the user that owns the client's key (``GET /users/{key}``; log lines hide it).

        Raises:
            UnexpectedResponseError: the answer carries no user id.
        """
        path = self._path(None)
        body = await self._client.request_json("GET", path)
        data = body.get("data") if isinstance(body, dict) else None
        ident = data.get("id") if isinstance(data, dict) else None
        if not isinstance(ident, str) or not ident:
            raise UnexpectedResponseError("InvalidResponse", "/users/...: no user id in the answer", 200)
        return ident

    async def get_overall_quotas(self, user_id_or_key: str | None = None) -> OverallQuotas:
        """The quota use of a user (``GET /users/{id}/overall_quotas``).

        Args:
            user_id_or_key: a user id; None for the user that owns the client's key (the
                key then travels in the path, and log lines hide it).

        Raises:
            InvalidParameterError: the id is malformed (no request is sent).
            ForbiddenError: the key may not see that user.
        """
        body = await self._client.request_json("GET", self._path(user_id_or_key) + "/overall_quotas")
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise UnexpectedResponseError(
                "InvalidResponse", "/users/.../overall_quotas: no data object in the answer", 200
            )
        return OverallQuotas.model_validate(data)

    async def get_api_usage(
        self,
        user_id_or_key: str | None = None,
        *,
        start_date: date | None = None,
        end_date: date | None = None,
    ) -> ApiUsage:
        """Requests per day and endpoint group (``GET /users/{id}/api_usage``).

        The service keeps the last 60 days and answers at most 30 at once (the last 30 by
        default); dates travel as ``YYYYMMDD``.

        Raises:
            InvalidParameterError: the range is reversed or longer than 30 days (no request).
            ForbiddenError: the key may not see that user.
        """
        params: dict[str, str] = {}
        if start_date is not None and end_date is not None:
            if start_date > end_date:
                raise InvalidParameterError("start_date is after end_date")
            if end_date - start_date >= timedelta(days=API_USAGE_MAX_DAYS):
                raise InvalidParameterError(f"api_usage covers at most {API_USAGE_MAX_DAYS} days")
        if start_date is not None:
            params["start_date"] = start_date.strftime("%Y%m%d")
        if end_date is not None:
            params["end_date"] = end_date.strftime("%Y%m%d")
        path = self._path(user_id_or_key) + "/api_usage"
        body = await self._client.request_json("GET", path, params=params)
        if not isinstance(body, dict):
            raise UnexpectedResponseError("InvalidResponse", "/users/.../api_usage: not an object", 200)
        # Tolerant of both shapes: ``{"data": {"daily": ...}}`` and a bare ``{"daily": ...}``.
        data = body.get("data") if isinstance(body.get("data"), dict) else body
        return ApiUsage.model_validate(data)
