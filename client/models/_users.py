"""Users and their quota use (``/users/{id}``, ``/users/{id}/overall_quotas``)."""

from __future__ import annotations

from pydantic import Field

from ._base import VTModel


class QuotaCount(VTModel):
    """How many requests a period allows and how many are used."""

    allowed: int = 0
    used: int = 0

    @property
    def remaining(self) -> int:
        """Requests left in the period (never negative)."""
        return max(0, self.allowed - self.used)


class QuotaPeriod(VTModel):
    """One period of ``overall_quotas``: the user's own count (and a group's, if any).

    The shape ``{"user": {"allowed", "used"}, "group"?: {...}}`` is UNCONFIRMED: only the
    path is documented publicly, so every part is optional.
    """

    user: QuotaCount = Field(default_factory=QuotaCount)
    group: QuotaCount | None = None


class OverallQuotas(VTModel):
    """``GET /users/{id}/overall_quotas``: the key's quota use per period."""

    api_requests_hourly: QuotaPeriod = Field(default_factory=QuotaPeriod)
    api_requests_daily: QuotaPeriod = Field(default_factory=QuotaPeriod)
    api_requests_monthly: QuotaPeriod = Field(default_factory=QuotaPeriod)

    @property
    def daily(self) -> QuotaCount:
        """The user's daily API request count."""
        return self.api_requests_daily.user

    @property
    def monthly(self) -> QuotaCount:
        """The user's monthly API request count."""
        return self.api_requests_monthly.user


class ApiUsage(VTModel):
    """``GET /users/{id}/api_usage``: requests per day (``YYYY-MM-DD``) and endpoint group.

    ``total`` is kept when the service sends it (UNCONFIRMED; the reference's example shows
    ``daily`` only); ``per_day`` sums the groups of each day.
    """

    daily: dict[str, dict[str, int]] = Field(default_factory=dict)
    total: dict[str, int] = Field(default_factory=dict)

    @property
    def per_day(self) -> dict[str, int]:
        """Requests per day, all endpoint groups together, oldest first."""
        return {day: sum(groups.values()) for day, groups in sorted(self.daily.items())}

    @property
    def per_endpoint(self) -> dict[str, int]:
        """Requests per endpoint group over the whole range, busiest first."""
        totals: dict[str, int] = dict(self.total)
        if not totals:
            for groups in self.daily.values():
                for group, count in groups.items():
                    totals[group] = totals.get(group, 0) + count
        return dict(sorted(totals.items(), key=lambda kv: (-kv[1], kv[0])))
