"""Retrohunt through the real client against the emulator: lifecycle, matches, limits."""

from __future__ import annotations

import pytest

from prefect_virustotal.client import (
    ForbiddenError,
    InvalidIndicatorError,
    InvalidParameterError,
    NotFoundError,
    VirusTotalClient,
    YaraSyntaxError,
)
from prefect_virustotal.emulator import Emulator, FakeClock
from prefect_virustotal.emulator._hunting import MAX_CONCURRENT_JOBS, RetrohuntDurations
from tests.conftest import PUBLIC_KEY
from tests.hunting import BAD_RULES, campaign_marker, files_containing, marker_rule

JOBS = "/api/v3/intelligence/retrohunt_jobs"


async def test_full_lifecycle_to_exact_matches(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    world = emulator.world
    marker = campaign_marker(world, 3)
    expected = files_containing(world, marker)
    assert len(expected) >= 5
    job = await vt.retrohunt.create(marker_rule(marker, tags="apt"), notification_email="soc@example.com")
    assert job.type == "retrohunt_job"
    # The reference lists starting, running, aborting, aborted, finished: no "queued".
    assert job.attributes.status == "starting"
    assert job.attributes.notification_email == "soc@example.com"
    assert job.attributes.corpus == "main"

    seen: list[str] = []
    progress: list[float] = []
    matches: list[int] = []
    while True:
        current = await vt.retrohunt.get(job.id)
        attrs = current.attributes
        seen.append(attrs.status)
        progress.append(attrs.progress or 0.0)
        matches.append(attrs.num_matches or 0)
        if attrs.terminal:
            break
        assert attrs.eta_seconds is not None and attrs.eta_seconds > 0
        clock.advance(25)
    assert list(dict.fromkeys(seen)) == ["starting", "running", "finished"]
    assert progress == sorted(progress) and progress[-1] == 100.0
    assert matches == sorted(matches) and matches[-1] == len(expected)
    final = current.attributes
    assert final.eta_seconds == 0
    assert final.scanned_bytes == sum(len(o.content or b"") for o in world.objects("file"))
    assert final.start_date is not None and final.finish_date is not None
    assert final.creation_date is not None and final.creation_date < final.start_date < final.finish_date

    files = await vt.retrohunt.list_matching_files(
        job.id, relationships=["contacted_domains"], page_size=7
    ).collect()
    assert {f.id for f in files} == expected
    assert len(files) == len(expected)  # no duplicates across pages
    assert all(f.context_attributes and f.context_attributes["rule_name"] == "campaign_marker" for f in files)
    assert all("contacted_domains" in f.relationships for f in files)
    assert files[0].attributes.sha256 == files[0].id


async def test_matches_grow_while_running(vt: VirusTotalClient, emulator: Emulator, clock: FakeClock) -> None:
    emulator.hunting.durations = RetrohuntDurations(queued=0, starting=0, running=1000, aborting=5)
    # Every PE file: spread all over the scan order.
    pe_files = {o.id for o in emulator.world.objects("file") if (o.content or b"").startswith(b"MZ")}
    job = await vt.retrohunt.create("rule pe { condition: uint16(0) == 0x5A4D }")
    counts = []
    for _ in range(11):
        counts.append((await vt.retrohunt.get(job.id)).attributes.num_matches)
        clock.advance(100)
    assert counts[0] == 0 and counts[-1] == len(pe_files)
    assert counts == sorted(counts) and len(set(counts)) == 11


async def test_goodware_corpus_and_time_range(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    rule = "rule any_file { condition: filesize > 0 }"
    clean = {o.id for o in emulator.world.objects("file") if o.nature == "clean"}
    job = await vt.retrohunt.create(rule, corpus="goodware")
    clock.advance(10_000)
    assert {f.id for f in await vt.retrohunt.list_matching_files(job.id).collect()} == clean

    files = list(emulator.world.objects("file"))
    start = 1767225600 - 30 * 86400
    in_range = {o.id for o in files if o.attributes["last_submission_date"] >= start}
    ranged = await vt.retrohunt.create(rule, start=start)
    clock.advance(10_000)
    done = await vt.retrohunt.get(ranged.id)
    assert done.attributes.time_range is not None and done.attributes.time_range.start is not None
    assert int(done.attributes.time_range.start.timestamp()) == start
    assert done.attributes.num_matches == len(in_range)
    assert done.attributes.num_matches_outside_time_range == len(files) - len(in_range)


async def test_abort_keeps_partial_matches(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    job = await vt.retrohunt.create("rule everything { condition: true }")
    clock.advance(60 + 300)  # queued + starting, then half the scan
    aborted = await vt.retrohunt.abort(job.id)
    assert aborted is not None and aborted.attributes.status == "aborting"
    clock.advance(30)
    final = await vt.retrohunt.get(job.id)
    assert final.attributes.status == "aborted"
    assert final.attributes.progress == pytest.approx(50.0, abs=0.5)
    total = emulator.world.count("file")
    assert final.attributes.num_matches == total // 2
    assert len(await vt.retrohunt.list_matching_files(job.id).collect()) == total // 2
    # Aborting again is harmless; deleting removes it.
    assert (await vt.retrohunt.abort(job.id)) is not None
    await vt.retrohunt.delete(job.id)
    with pytest.raises(NotFoundError):
        await vt.retrohunt.get(job.id)


async def test_list_and_filter(vt: VirusTotalClient, clock: FakeClock) -> None:
    first = await vt.retrohunt.create("rule a { condition: true }")
    clock.advance(5000)
    second = await vt.retrohunt.create("rule b { condition: true }", notification_email="a@x.org")
    assert second.attributes.notification_email == "a@x.org"
    listed = await vt.retrohunt.list(page_size=1).collect()
    assert [j.id for j in listed] == [second.id, first.id]
    running = await vt.retrohunt.list(filter="status:starting").collect()
    assert [j.id for j in running] == [second.id]


async def test_the_eleventh_concurrent_job_is_refused(
    vt: VirusTotalClient, emulator: Emulator, clock: FakeClock
) -> None:
    jobs = []
    for i in range(MAX_CONCURRENT_JOBS):
        jobs.append(await vt.retrohunt.create(f"rule r{i} {{ condition: true }}"))
        clock.advance(1)
    before = emulator.count("POST", JOBS)
    with pytest.raises(ForbiddenError, match="maximum of 10 concurrent retrohunt jobs") as caught:
        await vt.retrohunt.create("rule eleventh { condition: true }")
    assert caught.value.status_code == 403
    assert emulator.count("POST", JOBS) == before + 1  # refused once, not retried
    await vt.retrohunt.abort(jobs[0].id)
    with pytest.raises(ForbiddenError):  # an aborting job still holds its slot
        await vt.retrohunt.create("rule eleventh { condition: true }")
    clock.advance(60)
    assert (await vt.retrohunt.create("rule eleventh { condition: true }")).attributes.status == "starting"


async def test_bad_rules_and_inputs_make_no_request(vt: VirusTotalClient, emulator: Emulator) -> None:
    with pytest.raises(YaraSyntaxError) as caught:
        await vt.retrohunt.create(BAD_RULES)
    assert caught.value.rule_name == "broken"
    too_many = "".join(f"rule r{i} {{ condition: true }}\n" for i in range(301))
    with pytest.raises(InvalidParameterError, match="at most 300"):
        await vt.retrohunt.create(too_many)
    with pytest.raises(InvalidParameterError):
        await vt.retrohunt.create("rule a { condition: true }", corpus="everything")
    with pytest.raises(InvalidParameterError):
        await vt.retrohunt.create("rule a { condition: true }", start=200, end=100)
    with pytest.raises(InvalidParameterError):
        await vt.retrohunt.create("rule a { condition: true }", notification_email="not-an-address")
    with pytest.raises(InvalidIndicatorError):
        await vt.retrohunt.get("../files/x")
    assert emulator.count() == 0


async def test_server_rejects_what_the_client_was_told_not_to_check(
    vt: VirusTotalClient, emulator: Emulator
) -> None:
    from prefect_virustotal.client import InvalidArgumentError

    with pytest.raises(InvalidArgumentError, match="undefined string"):
        await vt.retrohunt.create(BAD_RULES, validate=False)
    assert emulator.count("POST", JOBS) == 1


async def test_public_keys_and_other_users_see_nothing(emulator: Emulator, vt: VirusTotalClient) -> None:
    job = await vt.retrohunt.create("rule a { condition: true }")
    async with VirusTotalClient(
        PUBLIC_KEY, base_url=emulator.base_url, transport=emulator.transport()
    ) as public:
        with pytest.raises(ForbiddenError):
            await public.retrohunt.get(job.id)
    emulator.add_key("other-premium", tier="premium", user_id="someone-else")
    async with VirusTotalClient(
        "other-premium", base_url=emulator.base_url, transport=emulator.transport()
    ) as other:
        with pytest.raises(NotFoundError):
            await other.retrohunt.get(job.id)
        assert await other.retrohunt.list().collect() == []


async def test_notification_email_is_one_string(vt: VirusTotalClient, emulator: Emulator) -> None:
    # The reference documents notification_email as a string: several addresses cost no request.
    with pytest.raises(InvalidParameterError, match="one address"):
        await vt.retrohunt.create("rule b { condition: true }", notification_email="a@x.org, b@y.org")
    assert emulator.count() == 0


async def test_an_unknown_status_is_read_as_a_job_under_way() -> None:
    from prefect_virustotal.client.models._hunting import RetrohuntJobAttributes

    attributes = RetrohuntJobAttributes.model_validate({"status": "queued"})
    assert attributes.status == "queued" and not attributes.terminal
