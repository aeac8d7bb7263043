"""Behaviour, MITRE ATT&CK, downloads, comments, votes, rescans and resolutions: client vs emulator."""

from __future__ import annotations

import hashlib
import os
import stat
from pathlib import Path

import pytest

from prefect_virustotal.client import (
    AlreadyExistsError,
    ForbiddenError,
    InvalidIndicatorError,
    InvalidParameterError,
    NotFoundError,
    VirusTotalClient,
)
from prefect_virustotal.client._errors import DownloadIntegrityError
from prefect_virustotal.emulator import Emulator, FakeClock
from tests.conftest import PUBLIC_KEY


@pytest.fixture
async def public_vt(emulator: Emulator, clock: FakeClock) -> VirusTotalClient:
    client = VirusTotalClient(
        PUBLIC_KEY, base_url=emulator.base_url, transport=emulator.transport(), clock=clock
    )
    yield client  # type: ignore[misc]
    await client.aclose()


def _campaign_file(emulator: Emulator) -> str:
    world = emulator.world
    for index in range(50):
        sha = world.pick("file", "malicious", min_relationship=("contacted_domains", 2), index=index)
        if world.get("file", sha).attributes["type_tag"] == "peexe":  # type: ignore[union-attr]
            return sha
    raise AssertionError("no malicious PE with contacts")


async def test_summary_agrees_with_the_world_relationships(vt: VirusTotalClient, emulator: Emulator) -> None:
    sha = _campaign_file(emulator)
    summary = await vt.behaviours.get_summary(sha)
    world = emulator.world
    contacted = {d for _, d in world.related("file", sha, "contacted_domains")}
    contacted_ips = {ip for _, ip in world.related("file", sha, "contacted_ips")}
    assert set(summary.network_indicators["domains"]) == contacted
    assert set(summary.network_indicators["ip_addresses"]) == contacted_ips
    assert summary.processes_tree and summary.processes_tree[0].name
    assert summary.registry_keys_set and summary.registry_keys_set[0].key.startswith("HKCU")
    assert "MALWARE" in summary.verdicts
    levels = {t.level for t in summary.mitre_attack_techniques}
    assert "HIGH" in levels
    # Deterministic: the same world gives the same behaviour.
    assert (await vt.behaviours.get_summary(sha)).model_dump() == summary.model_dump()


async def test_mitre_trees_and_per_sandbox_reports(
    vt: VirusTotalClient, emulator: Emulator, tmp_path: Path
) -> None:
    sha = _campaign_file(emulator)
    trees = await vt.behaviours.get_mitre_trees(sha)
    reports = [r async for r in vt.behaviours.list(sha)]
    assert {r.attributes.sandbox_name for r in reports} == set(trees.sandboxes)
    tactic = next(iter(trees.sandboxes.values())).tactics[0]
    assert tactic.id.startswith("TA") and tactic.techniques[0].id.startswith("T")
    report = await vt.behaviours.get(reports[0].id)
    assert report.id == reports[0].id and report.attributes.has_html_report
    html = await vt.behaviours.download_report(report.id, "html", tmp_path / "report.html")
    assert html.size > 0 and stat.S_IMODE(os.stat(html.path).st_mode) == 0o600
    missing = next(k for k in ("pcap", "evtx", "memdump") if not getattr(report.attributes, f"has_{k}"))
    with pytest.raises(NotFoundError):
        await vt.behaviours.download_report(report.id, missing, tmp_path / "x.bin")  # type: ignore[arg-type]


async def test_unknown_file_and_malformed_ids_cost_nothing_or_404(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    before = len(emulator.requests)
    with pytest.raises(InvalidIndicatorError):
        await vt.behaviours.get_summary("not-a-hash")
    with pytest.raises(InvalidParameterError):
        await vt.behaviours.get("abc_Zenbox")
    assert len(emulator.requests) == before
    with pytest.raises(NotFoundError):
        await vt.behaviours.get_mitre_trees("0" * 64)
    with pytest.raises(NotFoundError):
        await vt.behaviours.get("0" * 64 + "_Zenbox")


async def test_archives_have_no_sandbox_reports(vt: VirusTotalClient, emulator: Emulator) -> None:
    world = emulator.world
    sha = next(o.id for o in world.objects("file") if o.attributes["type_tag"] == "zip")
    assert (await vt.behaviours.get_mitre_trees(sha)).sandboxes == {}
    assert [r async for r in vt.behaviours.list(sha)] == []


async def test_private_behaviours_need_the_licence(public_vt: VirusTotalClient, vt: VirusTotalClient) -> None:
    content = b"MZ\x90\x00 private sample for behaviour"
    await vt.private.upload(content, filename="p.exe")
    sha = hashlib.sha256(content).hexdigest()
    summary = await vt.behaviours.get_summary(sha, private=True)
    reports = [r async for r in vt.behaviours.list(sha, private=True)]
    assert reports and all(r.type == "private_file_behaviour" for r in reports)
    assert summary.processes_tree
    with pytest.raises(ForbiddenError):
        await public_vt.behaviours.get_summary(sha, private=True)


async def test_download_checks_the_hash_and_writes_0600(
    vt: VirusTotalClient, emulator: Emulator, tmp_path: Path
) -> None:
    sha = _campaign_file(emulator)
    got = await vt.downloads.download(sha, tmp_path / "sample.bin")
    assert got.sha256 == sha and stat.S_IMODE(os.stat(got.path).st_mode) == 0o600
    assert (tmp_path / "sample.bin").read_bytes() == emulator.world.content(sha)
    url = await vt.downloads.download_url(sha)
    assert url.startswith("http") and sha in url


async def test_a_byte_corrupted_in_transit_deletes_the_file(
    vt: VirusTotalClient, emulator: Emulator, tmp_path: Path
) -> None:
    sha = _campaign_file(emulator)
    emulator.soc.corrupt_downloads = 1
    with pytest.raises(DownloadIntegrityError) as caught:
        await vt.downloads.download(sha, tmp_path / "sample.bin")
    assert caught.value.expected == sha
    assert os.listdir(tmp_path) == []


async def test_download_with_a_public_key_says_premium(
    public_vt: VirusTotalClient, emulator: Emulator, tmp_path: Path
) -> None:
    sha = _campaign_file(emulator)
    with pytest.raises(ForbiddenError, match="premium"):
        await public_vt.downloads.download(sha, tmp_path / "s.bin")
    with pytest.raises(ForbiddenError, match="premium"):
        await public_vt.downloads.download_url(sha)
    assert os.listdir(tmp_path) == []


async def test_download_redirect_does_not_carry_the_key(
    vt: VirusTotalClient, emulator: Emulator, tmp_path: Path
) -> None:
    sha = _campaign_file(emulator)
    emulator.reset_log()
    await vt.downloads.download(sha, tmp_path / "s.bin")
    storage = [r for r in emulator.requests if r.path.startswith("/storage/")]
    assert storage and all(r.api_key is None for r in storage)


async def test_comments_and_votes_round_trip(vt: VirusTotalClient, emulator: Emulator) -> None:
    domain = emulator.world.pick("domain", "malicious")
    assert [c async for c in vt.community.list_comments(domain)] == []
    added = await vt.community.add_comment(domain, "C2 seen in #incident-42")
    assert added.attributes.tags == ["incident-42"]
    listed = [c async for c in vt.community.list_comments(domain)]
    assert [c.id for c in listed] == [added.id]
    vote = await vt.community.add_vote(domain, "malicious")
    assert vote.attributes.verdict == "malicious"
    assert [v.attributes.verdict async for v in vt.community.list_votes(domain)] == ["malicious"]
    with pytest.raises(AlreadyExistsError):
        await vt.community.add_vote(domain, "harmless")
    before = len(emulator.requests)
    with pytest.raises(InvalidParameterError):
        await vt.community.add_vote(domain, "evil")  # type: ignore[arg-type]
    with pytest.raises(InvalidParameterError):
        await vt.community.add_comment(domain, "   ")
    assert len(emulator.requests) == before
    with pytest.raises(NotFoundError):
        await vt.community.add_comment("unknown-domain-xyz.example", "text")


async def test_rescans_and_resolutions(vt: VirusTotalClient, emulator: Emulator) -> None:
    world = emulator.world
    domain = world.pick("domain", "malicious", min_relationship=("resolutions", 1))
    ip = world.pick("ip_address", "malicious")
    descriptor = await vt.domains.analyse(domain)
    assert descriptor.type == "analysis"
    analysis = await vt.analyses.get(descriptor.id)
    assert analysis.attributes.status == "completed"
    assert (await vt.ip_addresses.analyse(ip)).type == "analysis"
    rid = world.related("domain", domain, "resolutions")[0][1]
    resolution = await vt.resolutions.get(rid)
    assert resolution.attributes.host_name == domain
    with pytest.raises(NotFoundError):
        await vt.resolutions.get("10.9.8.7nowhere.example")
