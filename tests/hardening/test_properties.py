"""Hostile input, property-based: only the pack's typed errors, never a crash, never a request."""

from __future__ import annotations

import json
import string
from typing import Any

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from prefect_virustotal.client import (
    APIError,
    InvalidIndicatorError,
    InvalidParameterError,
    RetryPolicy,
    UnexpectedResponseError,
    VirusTotalClient,
    VirusTotalError,
    extract_indicators,
    parse_indicator,
    refang,
)
from prefect_virustotal.client._pagination import parse_resume_token

# The session's Prefect harness runs background threads that use the global ``random`` module;
# Hypothesis sees the global state move while it draws and warns, which is not about our code.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

FAST = settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])

ioc_alphabet = st.sampled_from([*(string.ascii_letters + string.digits + ".:/-_[]()@?=&%#hx "), "\x00", "é"])
ioc_text = st.text(ioc_alphabet, max_size=120) | st.text(max_size=80)


@FAST
@given(ioc_text)
def test_parse_indicator_only_raises_typed_errors(value: str) -> None:
    try:
        indicator = parse_indicator(value)
    except InvalidIndicatorError as exc:
        assert exc.reason
        return
    # Whatever is accepted round-trips to the same kind and id.
    again = parse_indicator(indicator.value, indicator.kind)
    assert (again.kind, again.id) == (indicator.kind, indicator.id)
    assert "/" not in indicator.id or indicator.kind == "url"


@FAST
@given(st.text(max_size=400))
def test_extraction_never_crashes_and_finds_valid_indicators(text: str) -> None:
    for indicator in extract_indicators(text):
        assert parse_indicator(indicator.value, indicator.kind).id == indicator.id


@FAST
@given(st.text(max_size=200))
def test_refang_is_idempotent(text: str) -> None:
    once = refang(text)
    assert refang(once) == once


@FAST
@given(st.text(max_size=60))
def test_resume_tokens_never_crash(token: str) -> None:
    try:
        cursor, index = parse_resume_token(token)
    except InvalidParameterError:
        return
    assert index >= 0
    assert cursor is None or isinstance(cursor, str)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=20),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=10), children, max_size=4)
    ),
    max_leaves=12,
)
bodies = (
    json_values.map(json.dumps)
    | st.fixed_dictionaries({"error": json_values}).map(json.dumps)
    | st.fixed_dictionaries(
        {"error": st.fixed_dictionaries({"code": json_values, "message": json_values})}
    ).map(json.dumps)
    | st.fixed_dictionaries({"data": json_values, "meta": json_values}).map(json.dumps)
    | st.binary(max_size=64).map(lambda b: b.decode("latin-1"))
)
statuses = st.sampled_from([200, 200, 200, 400, 401, 403, 404, 409, 418, 424, 429, 500, 502, 503, 504])


def _client(status: int, body: str) -> VirusTotalClient:
    """A client whose every answer is ``status``/``body``: random envelopes the emulator never sends."""

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            status,
            content=body.encode("utf-8", "surrogatepass"),
            headers={"content-type": "application/json"},
        )

    return VirusTotalClient(
        "fuzz-key", transport=httpx.MockTransport(handler), retry=RetryPolicy(max_retries=0)
    )


async def _exercise(client: VirusTotalClient) -> Any:
    async with client:
        await client.domains.get("example.com")
        await client.analyses.get("abc")
        await client.relationships.list_descriptors(
            "domains", "example.com", "resolutions", limit=100
        ).collect()


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(status=statuses, body=bodies)
async def test_random_answers_give_typed_errors_only(status: int, body: str) -> None:
    try:
        await _exercise(_client(status, body))
    except (APIError, VirusTotalError) as exc:
        assert "fuzz-key" not in str(exc)
    except RecursionError:  # pragma: no cover - would be a bug
        pytest.fail("recursion on a hostile body")


async def test_huge_page_is_bounded_by_limit() -> None:
    page = {
        "data": [{"type": "resolution", "id": f"r{i}"} for i in range(10_000)],
        "meta": {"cursor": "next"},
    }

    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=page)

    async with VirusTotalClient("k", transport=httpx.MockTransport(handler)) as client:
        items = await client.relationships.list_descriptors(
            "domains", "example.com", "resolutions", limit=50
        ).collect()
    assert len(items) == 50


async def test_a_page_that_never_ends_is_bounded_by_limit() -> None:
    calls = 0

    def handler(request: httpx.Request) -> httpx.Response:
        nonlocal calls
        calls += 1
        return httpx.Response(
            200,
            json={"data": [{"type": "domain", "id": f"d{calls}.example"}], "meta": {"cursor": f"c{calls}"}},
        )

    async with VirusTotalClient("k", transport=httpx.MockTransport(handler)) as client:
        items = await client.relationships.list_descriptors(
            "domains", "example.com", "subdomains", limit=25
        ).collect()
    assert len(items) == 25
    assert calls == 25


async def test_a_cursor_that_does_not_move_is_an_error_not_a_hang() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"data": [{"type": "domain", "id": "a.example"}], "meta": {"cursor": "stuck"}}
        )

    async with VirusTotalClient("k", transport=httpx.MockTransport(handler)) as client:
        with pytest.raises(UnexpectedResponseError, match="cursor"):
            await client.relationships.list_descriptors("domains", "example.com", "subdomains").collect()
