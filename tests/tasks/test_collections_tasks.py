"""Collection tasks under Prefect, real client, emulator behind."""

from __future__ import annotations

import pytest

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import ForbiddenError, InvalidIndicatorError, NotFoundError
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.tasks import (
    add_collection_comment,
    add_collection_items,
    create_collection,
    delete_collection,
    get_collection,
    list_collection_comments,
    list_collection_items,
    list_user_collections,
    remove_collection_items,
    update_collection,
)
from tests.conftest import PREMIUM_KEY

pytestmark = pytest.mark.usefixtures("prefect_harness")


async def test_collection_lifecycle(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    sha256 = mounted.world.pick("file", "malicious")
    created = await create_collection(
        "IR-7",
        "ransomware",
        indicators=[sha256, "bad[.]example"],
        raw_text="c2 198.51.100.77",
        credentials=credentials,
    )
    assert created.attributes.items_count == 3
    added = await add_collection_items(
        created.id, ["http://bad.example/a", "192.0.2.8"], credentials=credentials
    )
    assert added.requests == 2 and added.emulated
    removed = await remove_collection_items(created.id, ["bad.example"], credentials=credentials)
    assert removed.items == {"domains": ["bad.example"]}
    listed = await list_collection_items(created.id, credentials=credentials)
    assert listed.count == 4 and {o.id for o in listed.items["files"]} == {sha256}
    only_urls = await list_collection_items(created.id, ["urls"], credentials=credentials)
    assert list(only_urls.items) == ["urls"]
    renamed = await update_collection(
        created.id, name="IR-7 (contained)", tags=["ir-7"], credentials=credentials
    )
    assert renamed.attributes.name == "IR-7 (contained)"
    await add_collection_comment(created.id, "contained #ir7", credentials=credentials)
    comments = await list_collection_comments(created.id, credentials=credentials)
    assert [c.attributes.tags for c in comments] == [["ir7"]]
    owner = mounted.quotas.get(PREMIUM_KEY)
    assert owner is not None
    assert [c.id for c in await list_user_collections(owner.owner, credentials=credentials)] == [created.id]
    assert (await get_collection(created.id, credentials=credentials)).attributes.tags == ["ir-7"]
    await delete_collection(created.id, credentials=credentials)
    with pytest.raises(NotFoundError):
        await get_collection(created.id, credentials=credentials)
    with pytest.raises(InvalidIndicatorError):
        await add_collection_items(created.id, ["???"], credentials=credentials)


async def test_tasks_refuse_a_non_owner(credentials: VirusTotalCredentials, mounted: Emulator) -> None:
    theirs = mounted.collections.create("someone-else", "their case")
    with pytest.raises(ForbiddenError):
        await add_collection_items(theirs.id, ["a.example"], credentials=credentials)
    with pytest.raises(ForbiddenError):
        await delete_collection(theirs.id, credentials=credentials)
