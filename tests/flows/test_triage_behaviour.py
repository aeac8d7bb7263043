"""Triage with sandbox behaviour: ATT&CK techniques in the report, sandbox contacts as expansion seeds."""

from __future__ import annotations

import pytest

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.core import node_key
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import triage

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _sample(emulator: Emulator) -> str:
    world = emulator.world
    return next(
        o.id
        for o in world.objects("file")
        if o.nature == "malicious"
        and o.attributes["type_tag"] == "peexe"
        and world.related("file", o.id, "contacted_domains")
        and world.related("file", o.id, "contacted_ips")
    )


async def test_malicious_sample_gets_techniques_and_behaviour_seeds(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    sha = _sample(mounted)
    world = mounted.world
    contacted = [d for _, d in world.related("file", sha, "contacted_domains")]
    contacted_ips = [ip for _, ip in world.related("file", sha, "contacted_ips")]
    budget = 80
    report = await triage(
        "INC-BEHAVIOUR-1",
        text=f"EDR flagged {sha} on a finance laptop",
        credentials=credentials,
        submit_unknown=False,
        sync_case_collection=False,
        expand_budget=budget,
    )
    profile = report.behaviours[sha]
    top = profile.techniques[0]
    assert top.severity == "HIGH" and top.id.startswith("T") and top.name and top.tactic
    assert "MALWARE" in profile.verdicts
    # The report shows each technique with its id, name, tactic and severity, and the verdicts.
    assert "## Sandbox behaviour (ATT&CK)" in report.markdown
    assert f"| {top.id} | {top.name} | {top.tactic} | {top.severity} |" in report.markdown
    assert "sandbox verdicts MALWARE" in report.markdown
    # The network indicators seen in the sandbox join the expansion as seeds, within the budget.
    assert report.graph is not None
    sandbox_seeds = {node_key("domain", d) for d in contacted} | {
        node_key("ip_address", ip) for ip in contacted_ips
    }
    assert sandbox_seeds <= set(report.graph.seeds)
    assert report.graph.requests <= budget
    # What a person reads has no live host from the sandbox.
    assert contacted[0].replace(".", "[.]") in report.markdown


async def test_behaviour_can_be_turned_off(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    sha = _sample(mounted)
    mounted.reset_log()
    report = await triage(
        "INC-BEHAVIOUR-2",
        text=sha,
        credentials=credentials,
        submit_unknown=False,
        sync_case_collection=False,
        expand=False,
        behaviour=False,
    )
    assert report.behaviours == {} and "Sandbox behaviour" not in report.markdown
    assert not [r for r in mounted.requests if "behaviour" in r.path]
