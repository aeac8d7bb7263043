"""Safety in the flows and the emulator (issue 15): caches that know who answered, the file
uploaded is the file looked up, internal addresses stay inside, nested JSON is a 400."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import (
    ContentChangedError,
    WrongCredentialsError,
    mount_transport,
)
from prefect_virustotal.core import LookupStatus
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import enrich_iocs, expand_iocs, submit_and_wait
from tests.conftest import PREMIUM_KEY, PUBLIC_KEY
from tests.transports import SwapOnLookup

pytestmark = pytest.mark.usefixtures("prefect_harness")


def block_for(emulator: Emulator, key: str) -> VirusTotalCredentials:
    return VirusTotalCredentials(
        api_key=SecretStr(key), base_url=emulator.base_url, requests_per_minute=10_000, daily_budget=None
    )


# 4. Cached answers never cross keys or endpoints; failures are not cached ---------------------


async def test_expand_cache_is_per_key_and_failures_are_not_cached(mounted: Emulator) -> None:
    seed = mounted.world.pick("domain", index=7)
    wrong = block_for(mounted, "unknown-key-xyz")
    with pytest.raises(WrongCredentialsError):
        await expand_iocs([seed], credentials=wrong, max_depth=0, request_budget=5)

    good = await expand_iocs(
        [seed], credentials=block_for(mounted, PREMIUM_KEY), max_depth=0, request_budget=5
    )
    assert not good.levels[0].cached
    assert any(node.id == seed and node.status.value != "error" for node in good.nodes)

    again = await expand_iocs(
        [seed], credentials=block_for(mounted, PREMIUM_KEY), max_depth=0, request_budget=5
    )
    assert again.levels[0].cached  # the same key and endpoint: reused

    other_key = await expand_iocs(
        [seed], credentials=block_for(mounted, PUBLIC_KEY), max_depth=0, request_budget=5
    )
    assert not other_key.levels[0].cached  # another key never gets the first one's answers


async def test_a_cached_level_is_not_served_to_another_endpoint(mounted: Emulator) -> None:
    seed = mounted.world.pick("domain", index=8)
    first = await expand_iocs(
        [seed], credentials=block_for(mounted, PREMIUM_KEY), max_depth=0, request_budget=5
    )
    assert not first.levels[0].cached
    other = Emulator(seed=0, base_url="http://other-endpoint.invalid/api/v3")
    other.add_key(PREMIUM_KEY, tier="premium")
    with mount_transport(other.base_url, other.transport()):
        moved = await expand_iocs(
            [seed], credentials=block_for(other, PREMIUM_KEY), max_depth=0, request_budget=5
        )
    assert not moved.levels[0].cached
    assert other.requests


async def test_a_partial_level_is_returned_but_never_cached(mounted: Emulator) -> None:
    """A level with a gap of the moment (one node's request failed) is fetched again by the next
    run, and only a complete level is then served from the cache."""
    ok, broken = (mounted.world.pick("domain", index=i) for i in (11, 12))
    block = block_for(mounted, PREMIUM_KEY)
    fault = mounted.faults.add(
        kind="error", status=403, code="ForbiddenError", path_prefix=f"/api/v3/domains/{broken}"
    )
    partial = await expand_iocs([ok, broken], credentials=block, max_depth=0, request_budget=10)
    assert not partial.levels[0].cached
    assert [(gap.node, gap.reason) for gap in partial.unexpanded] == [(f"domain:{broken}", "error")]
    mounted.faults.remove(fault)
    sent = mounted.count()

    again = await expand_iocs([ok, broken], credentials=block, max_depth=0, request_budget=10)
    assert not again.levels[0].cached  # refetched: the partial level was not cached
    assert mounted.count(path_prefix=f"/api/v3/domains/{ok}") == 2
    assert mounted.count() - sent == 2 and not again.unexpanded
    complete = await expand_iocs([ok, broken], credentials=block, max_depth=0, request_budget=10)
    assert complete.levels[0].cached and mounted.count() - sent == 2  # now the level is reused


# 5. Failure reported as failure --------------------------------------------------------------


def test_a_retrohunt_aborted_at_its_deadline_exits_4(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from typer.testing import CliRunner

    from prefect_virustotal import emulator
    from prefect_virustotal.cli import ExitCode, app

    rules = tmp_path / "rules.yar"
    rules.write_text('rule kaixcor { strings: $a = "KAIXCOR-" condition: $a }')
    # The rehearsal's emulated job runs 10 minutes here (2 s by default: a loaded machine could
    # see it finish before the deadline); a deadline of 1 s aborts it.
    durations = emulator.RetrohuntDurations
    monkeypatch.setattr(
        emulator, "RetrohuntDurations", lambda **_: durations(queued=0, starting=0, running=600, aborting=1)
    )
    result = CliRunner().invoke(
        app, ["retrohunt", str(rules), "--timeout", "1", "--poll-interval", "1", "--emulator", "--json"]
    )
    assert result.exit_code == ExitCode.PARTIAL, result.output
    payload = json.loads(result.stdout)["result"]
    assert payload["status"] != "finished" and payload["stopped"] == "deadline"


# 8. The bytes uploaded are the bytes looked up --------------------------------------------------


async def test_a_file_swapped_after_its_lookup_is_not_reported(emulator: Emulator, tmp_path: Path) -> None:
    sample = tmp_path / "sample.bin"
    sample.write_bytes(os.urandom(4096))
    looked_up = hashlib.sha256(sample.read_bytes()).hexdigest()
    emulator.scanning.set_durations(queued=0, running=0)
    swap = SwapOnLookup(emulator.transport(), sample, os.urandom(4096))
    with mount_transport(emulator.base_url, swap), pytest.raises(ContentChangedError) as caught:
        await submit_and_wait(
            file_path=str(sample), credentials=block_for(emulator, PREMIUM_KEY), private=True
        )
    assert caught.value.expected == looked_up


# 9. Internal addresses are not sent ---------------------------------------------------------------


async def test_internal_addresses_are_skipped_unless_asked(mounted: Emulator) -> None:
    public = mounted.world.pick("domain")
    inputs = ["10.0.0.1", "printer.local", "fe80::1", "http://192.168.1.1/admin", "wiki.acme.example", public]
    report = await enrich_iocs(
        indicators=inputs, credentials=block_for(mounted, PREMIUM_KEY), own_domains=["acme.example"]
    )
    statuses = {item.lookup.indicator: item.lookup.status for item in report.items}
    assert statuses[public] != LookupStatus.SKIPPED
    skipped = [i for i, s in statuses.items() if s == LookupStatus.SKIPPED]
    assert len(skipped) == 5
    assert all(
        item.lookup.error == "internal, not sent" for item in report.items if item.lookup.indicator in skipped
    )
    paths = " ".join(r.path for r in mounted.requests)
    assert "10.0.0.1" not in paths and "printer.local" not in paths and "acme.example" not in paths

    mounted.reset_log()
    await enrich_iocs(
        indicators=["10.0.0.1"], credentials=block_for(mounted, PREMIUM_KEY), send_internal=True
    )
    assert any("10.0.0.1" in r.path for r in mounted.requests)


# 10. The emulator: nested JSON is a bad request ----------------------------------------------------


async def test_deeply_nested_json_is_a_400_in_json(emulator: Emulator) -> None:
    body = b"[" * 200_000 + b"]" * 200_000
    async with httpx.AsyncClient(transport=emulator.transport(), base_url=emulator.base_url) as http:
        response = await http.post("/collections", content=body, headers={"x-apikey": PREMIUM_KEY})
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "BadRequestError"


def test_a_half_sent_request_is_timed_out(emulator: Emulator) -> None:
    import socket
    import time
    from urllib.parse import urlsplit

    from prefect_virustotal.emulator._server import serve_in_thread

    with serve_in_thread(emulator, idle_timeout=0.5) as base_url:
        address = urlsplit(base_url)
        with socket.create_connection((address.hostname, address.port), timeout=10) as quiet:
            quiet.sendall(b"GET /api/v3/files/x HTTP/1.1\r\nHost: emulator\r\n")  # headers never end
            started = time.monotonic()
            assert quiet.recv(1024) == b""  # closed by the server, not by our 10 s timeout
            assert time.monotonic() - started < 9
        # A connection that sends nothing at all is closed too; a whole request is answered.
        with socket.create_connection((address.hostname, address.port), timeout=10) as silent:
            assert silent.recv(1024) == b""
        response = httpx.get(f"{base_url}/files/{'0' * 64}", headers={"x-apikey": PREMIUM_KEY})
        assert response.status_code == 404


# 7. A feed goes to the flow by path, not as a flow-run parameter -----------------------------------


def test_lookup_file_passes_the_feed_by_path(tmp_path: Path) -> None:
    import json

    from typer.testing import CliRunner

    from prefect_virustotal.cli import ExitCode, app

    world = Emulator(seed=0).world
    feed = tmp_path / "feed.txt"
    wanted = [world.pick("domain", index=i) for i in range(5)]
    feed.write_bytes(("\n".join(wanted) + "\n").encode("utf-16"))
    result = CliRunner().invoke(app, ["lookup", "--file", str(feed), "--emulator", "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    rows = json.loads(result.stdout)["result"]["items"]
    assert [row["lookup"]["indicator"] for row in rows] == wanted


async def test_sync_leaves_internal_addresses_out(mounted: Emulator) -> None:
    from prefect_virustotal.flows import sync_collection

    public = mounted.world.pick("domain", index=3)
    report = await sync_collection(
        "case-internal",
        indicators=[public, "10.0.0.1", "nas.home.arpa"],
        credentials=block_for(mounted, PREMIUM_KEY),
    )
    assert report.added == [public]
    assert "10.0.0.1 (internal, not sent)" in report.invalid
    assert "nas.home.arpa (internal, not sent)" in report.invalid
    sent = str(list(mounted.collections.collections.values()))
    assert "10.0.0.1" not in sent and "nas.home.arpa" not in sent
