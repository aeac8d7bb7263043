"""The generated world: deterministic, large enough, consistent with itself."""

from __future__ import annotations

import hashlib
from collections import Counter

import pytest

from prefect_virustotal.emulator import NATURES, RELATIONSHIPS, World
from prefect_virustotal.emulator._vocab import FILE_ENGINES, URL_ENGINES

# (type, relationship) -> (type of the other end, relationship there pointing back)
INVERSES = {
    ("file", "contacted_domains"): "communicating_files",
    ("file", "contacted_ips"): "communicating_files",
    ("file", "contacted_urls"): "communicating_files",
    ("file", "embedded_domains"): "referrer_files",
    ("file", "embedded_ips"): "referrer_files",
    ("file", "embedded_urls"): "referrer_files",
    ("file", "itw_urls"): "downloaded_files",
    ("file", "itw_domains"): "downloaded_files",
    ("file", "itw_ips"): "downloaded_files",
    ("file", "dropped_files"): "execution_parents",
    ("file", "bundled_files"): "compressed_parents",
    ("file", "similar_files"): "similar_files",
    ("url", "redirects_to"): "redirecting_urls",
    ("url", "last_serving_ip_address"): "urls",
    ("domain", "subdomains"): "immediate_parent",
}


def test_same_seed_same_world(world: World) -> None:
    again = World(seed=0)
    assert again == world
    assert again.digest() == world.digest()
    assert again.ids("file")[:50] == world.ids("file")[:50]
    assert again.pick("url", "malicious", index=7) == world.pick("url", "malicious", index=7)


def test_different_seed_different_world(world: World) -> None:
    other = World(seed=1)
    assert other != world
    assert set(other.ids("file")).isdisjoint(world.ids("file")[:100])


def test_size_and_mix(world: World) -> None:
    assert len(world) >= 3000
    assert world.count("file") >= 1000
    assert world.count("url") >= 500
    assert world.count("domain") >= 500
    assert world.count("ip_address") >= 150
    assert any(":" in ip for ip in world.ids("ip_address")), "some IPv6 addresses"
    assert len(world.families) >= 30
    for kind in ("file", "url", "domain", "ip_address"):
        assert set(Counter(o.nature for o in world.objects(kind))) == set(NATURES)


@pytest.mark.parametrize("kind", ["file", "url", "domain", "ip_address"])
def test_natures_agree_with_stats(world: World, kind: str) -> None:
    engines = len(FILE_ENGINES if kind == "file" else URL_ENGINES)
    for obj in world.objects(kind):
        stats = obj.attributes["last_analysis_stats"]
        assert sum(stats.values()) == engines
        malicious, suspicious = stats["malicious"], stats["suspicious"]
        if obj.nature == "malicious":
            assert malicious >= 5
        elif obj.nature == "suspicious":
            assert 1 <= malicious <= 2
            assert suspicious >= 1
        else:
            assert malicious == suspicious == 0
            if kind != "file":
                bigger = "harmless" if obj.nature == "clean" else "undetected"
                smaller = "undetected" if obj.nature == "clean" else "harmless"
                assert stats[bigger] > stats[smaller]
    if kind == "file":
        assert "type-unsupported" in stats
        assert "confirmed-timeout" in stats


def test_results_match_stats(world: World) -> None:
    for kind in ("file", "url", "domain", "ip_address"):
        for obj in list(world.objects(kind))[::97]:
            attrs = world.attributes(obj)
            results = attrs["last_analysis_results"]
            assert Counter(r["category"] for r in results.values()) == +Counter(attrs["last_analysis_stats"])
            for name, entry in results.items():
                assert entry["engine_name"] == name
                assert entry["method"] == "blacklist"
                assert (entry["result"] is None) == (
                    kind == "file" and entry["category"] not in ("malicious", "suspicious")
                )
                assert ("engine_version" in entry) == (kind == "file")
            assert world.attributes(obj) == attrs, "results are rebuilt identically"


def test_files_carry_their_content(world: World) -> None:
    for obj in world.objects("file"):
        content = world.content(obj.id)
        attrs = obj.attributes
        assert 64 <= len(content) <= 2048
        assert attrs["size"] == len(content)
        assert attrs["sha256"] == obj.id == hashlib.sha256(content).hexdigest()
        assert attrs["md5"] == hashlib.md5(content).hexdigest()
        assert attrs["sha1"] == hashlib.sha1(content).hexdigest()
        assert attrs["meaningful_name"] in attrs["names"]


def test_embedded_strings_are_in_the_bytes(world: World) -> None:
    sha256 = world.pick("file", "malicious", min_relationship=("embedded_domains", 1))
    for _, domain in world.related("file", sha256, "embedded_domains"):
        assert domain.encode() in world.content(sha256)


def test_dates_are_integer_epochs(world: World) -> None:
    for kind in ("file", "url", "domain", "ip_address"):
        for obj in world.objects(kind):
            for name, value in obj.attributes.items():
                if name.endswith("_date") or name == "date":
                    assert type(value) is int, (name, value)
                    assert 1_600_000_000 < value <= 1_767_225_600, (name, value)


def test_relationships_point_both_ways(world: World) -> None:
    checked = 0
    for (kind, name), inverse in INVERSES.items():
        for source in world.ids(kind):
            for target_kind, target in world.related(kind, source, name):
                assert (kind, source) in world.related(target_kind, target, inverse), (kind, name, source)
                checked += 1
    assert checked > 5000
    for rid in {r[1] for d in world.ids("domain") for r in world.related("domain", d, "resolutions")}:
        res = world.resolution(rid)
        assert res is not None
        assert rid == f"{res.ip}{res.domain}"
        assert ("resolution", rid) in world.related("ip_address", res.ip, "resolutions")


def test_hubs_and_empty_relationships(world: World) -> None:
    for kind, name in [
        ("domain", "resolutions"),
        ("ip_address", "resolutions"),
        ("ip_address", "communicating_files"),
        ("domain", "subdomains"),
        ("domain", "communicating_files"),
        ("url", "downloaded_files"),
        ("file", "contacted_urls"),
    ]:
        hub = world.pick(kind, min_relationship=(name, 100))
        assert len(world.related(kind, hub, name)) >= 100
    sha256 = world.pick("file")
    assert world.related("file", sha256, "comments") == []
    assert not RELATIONSHIPS["file"]["comments"].modelled


def test_domain_family_tree(world: World) -> None:
    sub = world.pick("domain", min_relationship=("siblings", 5))
    ((_, parent),) = world.related("domain", sub, "immediate_parent")
    assert sub.endswith("." + parent)
    siblings = [d for _, d in world.related("domain", sub, "siblings")]
    assert sub not in siblings
    assert all(d.endswith("." + parent) for d in siblings)
    registered = world.pick("domain", min_relationship=("subdomains", 1))
    assert world.related("domain", registered, "parent") == [] or registered.count(".") > 1


def test_pick_filters_and_fails_clearly(world: World) -> None:
    first = world.pick("file", "suspicious")
    second = world.pick("file", "suspicious", index=1)
    assert first != second
    picked = world.get("file", second)
    assert picked is not None
    assert picked.nature == "suspicious"
    family = world.families[3]
    of_family = world.get("file", world.pick("file", family=family))
    assert of_family is not None
    assert of_family.family == family
    with pytest.raises(LookupError):
        world.pick("file", min_relationship=("contacted_urls", 10_000))
    with pytest.raises(ValueError, match="no relationship"):
        world.pick("file", min_relationship=("subdomains", 1))
    with pytest.raises(ValueError, match="unknown nature"):
        world.pick("file", "evil")


def test_lookup_forms(world: World) -> None:
    obj = world.get("file", world.pick("file"))
    assert obj is not None
    for form in (obj.attributes["md5"], obj.attributes["sha1"].upper(), obj.id.upper()):
        assert world.canonical_id("file", form) == obj.id
    url = world.get("url", world.pick("url"))
    assert url is not None
    import base64

    b64 = base64.urlsafe_b64encode(url.attributes["url"].encode()).decode().rstrip("=")
    assert world.canonical_id("url", b64) == url.id == World.url_id(url.attributes["url"])
    assert world.canonical_id("url", "thisurlidmakesnosenseatall") is None
    assert all(World.url_id(u.attributes["url"]) == u.id for u in world.objects("url"))


def test_growing_the_world(world: World) -> None:
    from tests.conftest import fresh_world

    grown = fresh_world()  # a seed-0 world of its own (the test below holds it equal to a build)
    before = len(grown)
    content = b"MZ" + b"\x00" * 100 + b"EMULATOR-ADDED"
    sha256 = grown.add_file(content, nature="malicious", names=["added.exe"])
    assert sha256 == hashlib.sha256(content).hexdigest()
    assert grown.add_file(content) == sha256
    assert len(grown) == before + 1
    added = grown.get("file", hashlib.md5(content).hexdigest())
    assert added is not None
    assert added.attributes["type_tag"] == "peexe"
    assert added.attributes["last_analysis_stats"]["malicious"] >= 5
    uid = grown.add_url("HTTP://Example.ORG", nature="clean")
    assert uid == World.url_id("http://example.org/")
    assert grown.get("url", uid).attributes["url"] == "http://example.org/"  # type: ignore[union-attr]
    assert grown != world


def test_the_emulator_fixtures_world_is_a_fresh_seed_0_world(world: World) -> None:
    # The ``emulator`` fixture's world is a copy of one built once (tests/conftest.py): the
    # same world as a build, and each its own, so what one test adds no other test sees.
    from tests.conftest import fresh_world

    first, second = fresh_world(), fresh_world()
    assert first == world and second == world and first is not second
    first.add_url("http://only-in-the-first.example/", nature="malicious")
    assert first != world and second == world
    assert second.get("url", World.url_id("http://only-in-the-first.example/")) is None
