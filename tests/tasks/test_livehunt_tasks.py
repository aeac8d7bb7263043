"""Livehunt tasks as a runbook calls them: create, update, list, matched files, delete."""

from __future__ import annotations

import pytest

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.tasks import (
    create_hunting_ruleset,
    delete_hunting_ruleset,
    get_hunting_ruleset,
    get_hunting_ruleset_files,
    list_hunting_rulesets,
    update_hunting_ruleset,
    validate_yara_rules,
)
from tests.hunting import marker_rule

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def test_livehunt_tasks_round_trip(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    rules = marker_rule("TASK-MARKER", name="task_marker")
    check = await validate_yara_rules(rules)
    assert check.rule_names == ["task_marker"]
    ruleset = await create_hunting_ruleset(
        "task-hunt", rules, limit=10, tags=["runbook"], credentials=credentials
    )
    sha256 = mounted.add_file(b"xx TASK-MARKER xx")
    files = await get_hunting_ruleset_files(ruleset.id, credentials=credentials)
    assert [f.id for f in files.files] == [sha256] and files.resume_cursor is None
    updated = await update_hunting_ruleset(
        ruleset.id, enabled=False, name="task-hunt-off", credentials=credentials
    )
    assert updated.attributes.enabled is False and updated.attributes.name == "task-hunt-off"
    assert (await get_hunting_ruleset(ruleset.id, credentials=credentials)).attributes.limit == 10
    listed = await list_hunting_rulesets(filter="enabled:false", credentials=credentials)
    assert [r.id for r in listed] == [ruleset.id]
    assert await delete_hunting_ruleset(ruleset.id, credentials=credentials) == ruleset.id
    assert await list_hunting_rulesets(credentials=credentials) == []
