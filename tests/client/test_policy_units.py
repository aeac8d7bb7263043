"""Pure pieces of the client: error classes, retry decisions, verdicts, resume tokens."""

from __future__ import annotations

import pytest

from prefect_virustotal.client import (
    ERROR_CODES,
    MAX_WRITE_ATTEMPTS,
    APIConnectionError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    DeadlineExceededError,
    ForbiddenError,
    NotFoundError,
    QuotaExceededError,
    RetryPolicy,
    ServerError,
    TooManyRequestsError,
    TransientError,
    UnexpectedResponseError,
    Verdict,
    VerdictPolicy,
    VirusTotalError,
    WriteOutcome,
    WrongCredentialsError,
    assess,
    write_outcome,
)
from prefect_virustotal.client._errors import error_class_for
from prefect_virustotal.client._pagination import make_resume_token, parse_resume_token
from prefect_virustotal.client.models import AnalysisStats, EngineResult


def test_sixteen_codes_each_with_its_class() -> None:
    assert len(ERROR_CODES) == 16
    for code, cls in ERROR_CODES.items():
        assert cls.__name__ == code
        assert error_class_for(code, 999) is cls


def test_status_family_fallback() -> None:
    assert error_class_for("SomethingNew", 401) is AuthenticationError
    assert error_class_for(None, 400) is BadRequestError
    assert error_class_for(None, 502) is ServerError
    assert error_class_for(None, 418) is UnexpectedResponseError
    assert issubclass(WrongCredentialsError, AuthenticationError)
    assert issubclass(ForbiddenError, Exception)


@pytest.mark.parametrize(
    ("message", "scope", "long_term"),
    [
        ("Quota exceeded: minute quota of 4 requests", "minute", False),
        ("Quota exceeded: daily quota of 500 requests", "daily", True),
        ("You have exceeded your monthly quota", "monthly", True),
        ("Quota exceeded", "unknown", False),
    ],
)
def test_quota_scope(message: str, scope: str, long_term: bool) -> None:
    error = QuotaExceededError("QuotaExceededError", message, 429)
    assert error.scope == scope
    assert error.is_long_term is long_term


def test_retry_decisions() -> None:
    policy = RetryPolicy(max_retries=3)
    transient = TransientError("TransientError", "x", 503)
    assert policy.should_retry(transient, attempt=1, idempotent=True, sent=True)
    # A 503 means the write was not taken: resent, within the write cap of three attempts.
    assert policy.should_retry(transient, attempt=1, idempotent=False, sent=True)
    assert not policy.should_retry(transient, attempt=MAX_WRITE_ATTEMPTS, idempotent=False, sent=True)
    refused = TooManyRequestsError("TooManyRequestsError", "x", 429)  # never reached the write
    assert policy.should_retry(refused, attempt=MAX_WRITE_ATTEMPTS, idempotent=False, sent=True)
    assert not policy.should_retry(transient, attempt=4, idempotent=True, sent=True)
    dropped = APIConnectionError("dropped")
    assert not policy.should_retry(dropped, attempt=1, idempotent=False, sent=True)
    assert policy.should_retry(dropped, attempt=1, idempotent=False, sent=False)
    assert policy.should_retry(APITimeoutError("t"), attempt=1, idempotent=True, sent=True)
    assert not policy.should_retry(
        NotFoundError("NotFoundError", "x", 404), attempt=1, idempotent=True, sent=True
    )
    daily = QuotaExceededError("QuotaExceededError", "daily quota", 429)
    assert not policy.should_retry(daily, attempt=1, idempotent=True, sent=True)
    minute = QuotaExceededError("QuotaExceededError", "minute quota", 429)
    assert policy.should_retry(minute, attempt=1, idempotent=False, sent=True)


@pytest.mark.parametrize(
    ("error", "sent", "outcome"),
    [
        (TransientError("TransientError", "x", 503), True, WriteOutcome.NOT_DONE),
        (ServerError("ServerError", "gateway", 503), True, WriteOutcome.NOT_DONE),
        (TooManyRequestsError("TooManyRequestsError", "x", 429), True, WriteOutcome.NOT_DONE),
        (QuotaExceededError("QuotaExceededError", "minute quota", 429), True, WriteOutcome.NOT_DONE),
        (APIConnectionError("refused"), False, WriteOutcome.NOT_DONE),
        (APITimeoutError("connect timeout"), False, WriteOutcome.NOT_DONE),
        (APIConnectionError("dropped"), True, WriteOutcome.UNCERTAIN),
        (APITimeoutError("read timeout"), True, WriteOutcome.UNCERTAIN),
        (DeadlineExceededError("DeadlineExceededError", "x", 504), True, WriteOutcome.UNCERTAIN),
        (ServerError("ServerError", "gateway", 502), True, WriteOutcome.UNCERTAIN),
        (UnexpectedResponseError("InvalidResponse", "cut short", 200), True, WriteOutcome.UNCERTAIN),
        (QuotaExceededError("QuotaExceededError", "daily quota", 429), True, WriteOutcome.FAILED),
        (ForbiddenError("ForbiddenError", "x", 403), True, WriteOutcome.FAILED),
        (NotFoundError("NotFoundError", "x", 404), True, WriteOutcome.FAILED),
    ],
)
def test_write_outcomes(error: VirusTotalError, sent: bool, outcome: WriteOutcome) -> None:
    assert write_outcome(error, sent=sent) is outcome


def test_backoff_is_capped_and_jittered() -> None:
    policy = RetryPolicy(initial_delay=1, max_delay=8, jitter=0.25)
    error = TransientError("TransientError", "x", 503)
    delays = [policy.delay(error, attempt=n, retry_after=None) for n in range(1, 8)]
    assert all(d is not None and d <= 10 for d in delays)
    assert delays[0] is not None and 0.75 <= delays[0] <= 1.25
    assert policy.delay(error, attempt=1, retry_after=7) == 7
    assert policy.delay(error, attempt=1, retry_after=10_000) is None


def _results(**categories: str) -> dict[str, EngineResult]:
    return {name: EngineResult(category=cat, engine_name=name) for name, cat in categories.items()}


def test_verdicts_are_distinct_and_explained() -> None:
    policy = VerdictPolicy(malicious_threshold=3, min_engines=5)
    assert assess(None).verdict is Verdict.UNKNOWN
    mal = assess(AnalysisStats(malicious=5, undetected=60), policy=policy)
    assert mal.verdict is Verdict.MALICIOUS and "5/65" in mal.reason
    sus = assess(AnalysisStats(malicious=1, suspicious=1, undetected=60), policy=policy)
    assert sus.verdict is Verdict.SUSPICIOUS
    clean = assess(AnalysisStats(harmless=10, undetected=50), policy=policy)
    assert clean.verdict is Verdict.CLEAN and clean.reason == "0/60 engines flag it"
    few = assess(AnalysisStats(undetected=2), policy=policy)
    assert few.verdict is Verdict.UNKNOWN and "only 2 engines" in few.reason
    preferred = VerdictPolicy(preferred_engines=("TrustedAV",))
    one = assess(AnalysisStats(malicious=1, undetected=60), _results(TrustedAV="malicious"), preferred)
    assert one.verdict is Verdict.MALICIOUS and "TrustedAV" in one.reason


def test_resume_tokens_round_trip() -> None:
    assert parse_resume_token(make_resume_token("abc:def", 7)) == ("abc:def", 7)
    assert parse_resume_token(make_resume_token(None, 0)) == (None, 0)
    assert parse_resume_token("server-cursor") == ("server-cursor", 0)
    assert parse_resume_token(None) == (None, 0)
