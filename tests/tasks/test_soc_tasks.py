"""SOC tasks through Prefect: sample download into an ``infected`` ZIP, behaviour, comments, usage."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest
import pyzipper  # type: ignore[import-untyped]
from pydantic import SecretStr

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import DownloadIntegrityError, ForbiddenError
from prefect_virustotal.core import ZIP_PASSWORD
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.tasks import download_file
from tests.conftest import PUBLIC_KEY

pytestmark = pytest.mark.usefixtures("prefect_harness")


def _sample(emulator: Emulator) -> str:
    return emulator.world.pick("file", "malicious", min_relationship=("contacted_domains", 1))


async def test_sample_lands_in_an_encrypted_zip(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path
) -> None:
    sha = _sample(mounted)
    result = await download_file(sha, tmp_path / "sample.zip", credentials=credentials)
    assert result.zipped and result.sha256 == sha
    assert sorted(os.listdir(tmp_path)) == ["sample.zip"]
    assert stat.S_IMODE(os.stat(result.path).st_mode) == 0o600
    with pyzipper.AESZipFile(result.path) as archive:
        info = archive.infolist()[0]
        assert info.filename == sha and info.flag_bits & 0x1  # encrypted
        archive.setpassword(ZIP_PASSWORD.encode())
        assert archive.read(sha) == mounted.world.content(sha)


async def test_plain_only_when_asked(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path
) -> None:
    sha = _sample(mounted)
    result = await download_file(sha, tmp_path / "sample.bin", plain=True, credentials=credentials)
    assert not result.zipped
    assert stat.S_IMODE(os.stat(result.path).st_mode) == 0o600  # never executable


async def test_corruption_in_transit_leaves_nothing(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path
) -> None:
    mounted.soc.corrupt_downloads = 1
    with pytest.raises(DownloadIntegrityError):
        await download_file(_sample(mounted), tmp_path / "sample.zip", credentials=credentials)
    assert os.listdir(tmp_path) == []


async def test_public_key_gets_a_clear_error(mounted: Emulator, tmp_path: Path) -> None:
    block = VirusTotalCredentials(
        api_key=SecretStr(PUBLIC_KEY),
        base_url=mounted.base_url,
        requests_per_minute=10_000,
        daily_budget=None,
    )
    with pytest.raises(ForbiddenError, match="premium"):
        await download_file(_sample(mounted), tmp_path / "sample.zip", credentials=block)
    assert os.listdir(tmp_path) == []


async def test_behaviour_profile_ranks_techniques(
    credentials: VirusTotalCredentials, mounted: Emulator
) -> None:
    from prefect_virustotal.tasks import get_behaviour_profile

    world = mounted.world
    sha = next(
        o.id
        for o in world.objects("file")
        if o.nature == "malicious"
        and o.attributes["type_tag"] == "peexe"
        and world.related("file", o.id, "contacted_ips")
    )
    profile = await get_behaviour_profile(sha, top=4, credentials=credentials)
    assert len(profile.techniques) == 4 and profile.techniques[0].severity == "HIGH"
    assert all(t.tactic and t.name and t.sandboxes for t in profile.techniques)
    assert "MALWARE" in profile.verdicts
    assert set(profile.network["ip_addresses"]) == {
        ip for _, ip in world.related("file", sha, "contacted_ips")
    }
    unknown = await get_behaviour_profile("f" * 64, credentials=credentials)
    assert not unknown.ran


async def test_comment_vote_and_rescan_tasks(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    from prefect_virustotal.tasks import (
        add_comment,
        add_vote,
        analyse_domain,
        analyse_ip_address,
        get_resolution,
        list_comments,
        list_votes,
    )

    domain = mounted.world.pick("domain", "malicious", min_relationship=("resolutions", 1))
    assert await list_comments(domain.replace(".", "[.]"), credentials=credentials) == []
    await add_comment(domain, "phishing kit host #ir", credentials=credentials)
    await add_vote(domain, "malicious", credentials=credentials)
    assert [c.attributes.text for c in await list_comments(domain, credentials=credentials)] == [
        "phishing kit host #ir"
    ]
    assert [v.attributes.verdict for v in await list_votes(domain, credentials=credentials)] == ["malicious"]
    assert (await analyse_domain(domain, credentials=credentials)).type == "analysis"
    ip = mounted.world.pick("ip_address", "malicious")
    assert (await analyse_ip_address(ip, credentials=credentials)).type == "analysis"
    rid = mounted.world.related("domain", domain, "resolutions")[0][1]
    assert (await get_resolution(rid, credentials=credentials)).attributes.host_name == domain
