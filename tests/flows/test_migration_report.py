"""``migration_report``: the scanner as a flow, its markdown artifact, no key in it."""

from __future__ import annotations

from typing import Any

import pytest

from prefect_virustotal.core import MigrationInputError
from prefect_virustotal.flows import MIGRATION_ARTIFACT_KEY, migration_report
from tests.conftest import latest_artifact
from tests.core.test_migrate import FAKE_KEY, LEGACY

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def test_report_and_artifact() -> None:
    report = await migration_report([str(LEGACY)])
    assert len(report.files) == 7 and len(report.files_with_findings()) == 5
    artifact: Any = await latest_artifact(MIGRATION_ARTIFACT_KEY)
    markdown = str(artifact.data)
    assert "| file | line | kind | v2 | v3 | pack |" in markdown
    assert "GET /vtapi/v2/file/report | GET /api/v3/files/{id}" in markdown
    assert "legacy_curl.sh | 4 | endpoint" in markdown
    assert "masked" in markdown
    for piece in (FAKE_KEY, FAKE_KEY[:16], FAKE_KEY[-16:]):
        assert piece not in markdown and piece not in report.model_dump_json()


async def test_bad_input_fails_the_run() -> None:
    with pytest.raises(MigrationInputError):
        await migration_report([str(LEGACY / "absent.py")])
