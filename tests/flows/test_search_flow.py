"""``intelligence_search`` end to end: pre-check, bounded pages, ranking, artifact, collection."""

from __future__ import annotations

import pytest

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import InvalidParameterError
from prefect_virustotal.core import search_plan
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import SEARCH_ARTIFACT_KEY, intelligence_search
from tests.conftest import latest_artifact

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def test_results_ranked_worst_first_into_a_table(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    mounted.reset_log()
    report = await intelligence_search(
        "entity:domain tag:fast-flux or p:1+", limit=25, credentials=credentials
    )
    searches = [r for r in mounted.requests if r.path.endswith("/intelligence/search")]
    assert len(searches) == 1 and report.requests == 1
    assert len(report.hits) == 25 and report.resume
    severities = [h.assessment.verdict.severity for h in report.hits]
    assert severities == sorted(severities, reverse=True)
    artifact = await latest_artifact(SEARCH_ARTIFACT_KEY)
    rows = artifact.data  # type: ignore[attr-defined]
    text = str(rows)
    assert "EMULATED" in str(artifact.description)  # type: ignore[attr-defined]
    assert all("[.]" in h.shown for h in report.hits) and report.hits[0].shown in text
    assert report.hits[0].indicator not in text  # defanged: no live host in what a person reads


async def test_request_budget_bounds_the_pages(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    assert search_plan(700, None) == (300, 700)
    assert search_plan(700, 2) == (300, 600)
    mounted.reset_log()
    report = await intelligence_search("p:0+", limit=700, request_budget=2, credentials=credentials)
    assert len(report.hits) == 600
    assert len([r for r in mounted.requests if r.path.endswith("/intelligence/search")]) == 2


async def test_a_malformed_query_costs_nothing(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    mounted.reset_log()
    with pytest.raises(InvalidParameterError):
        await intelligence_search('name:"unterminated', credentials=credentials)
    assert mounted.requests == []


async def test_results_join_a_collection_only_when_asked(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    report = await intelligence_search("type:pdf p:5+", limit=5, credentials=credentials)
    assert report.collection is None
    assert not [r for r in mounted.requests if "/collections" in r.path]
    report = await intelligence_search(
        "type:pdf p:5+", limit=5, collection="hunt-pdf", credentials=credentials
    )
    assert report.collection is not None and report.collection.created
    assert len(report.collection.added) == len(report.hits) == 5
