"""core's display helpers: one link builder, defanged indicators, short hashes (no Prefect)."""

from __future__ import annotations

import pytest

from prefect_virustotal.core import (
    GUI_ROOT,
    artifact_key,
    defang,
    display_indicator,
    markdown_link,
    short_hash,
    url_page_id,
    vt_link,
)
from prefect_virustotal.emulator import Emulator

SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"


def test_links_name_virustotals_pages() -> None:
    assert vt_link("file", SHA256) == f"{GUI_ROOT}/file/{SHA256}"
    assert vt_link("ip_address", "203.0.113.7") == f"{GUI_ROOT}/ip-address/203.0.113.7"
    assert vt_link("domain", "evil.example") == f"{GUI_ROOT}/domain/evil.example"
    assert vt_link("collection", "abc") == f"{GUI_ROOT}/collection/abc"
    assert vt_link("file", SHA256, private=True) == f"{GUI_ROOT}/private/file/{SHA256}"


def test_url_pages_use_the_sha256_of_the_canonical_url() -> None:
    world = Emulator(seed=0).world
    url_object_id = world.pick("url")
    url = world.get("url", url_object_id).attributes["url"]
    # The page id is what VirusTotal (here: the emulator's world) names the URL object by.
    assert vt_link("url", url) == f"{GUI_ROOT}/url/{url_object_id}"
    assert url_page_id("HTTP://Evil.Example") == url_page_id("http://evil.example/")
    assert vt_link("url", url_object_id.upper()) == f"{GUI_ROOT}/url/{url_object_id}"


@pytest.mark.parametrize(
    ("raw", "shown"),
    [
        ("http://evil.example/a", "hxxp://evil[.]example/a"),
        (
            "https://a.b.example/x.php?u=http://c.example",
            "hxxps://a[.]b[.]example/x.php?u=http[:]//c.example",
        ),
        ("evil.example", "evil[.]example"),
        ("203.0.113.7", "203[.]0[.]113[.]7"),
        ("hxxp://evil[.]example/a", "hxxp://evil[.]example/a"),
    ],
)
def test_defang(raw: str, shown: str) -> None:
    assert defang(raw) == shown


def test_hashes_are_shortened_in_text_and_full_in_the_link() -> None:
    assert short_hash(SHA256) == SHA256[:12]
    assert display_indicator("file", SHA256) == SHA256[:12]
    assert display_indicator("url", "http://evil.example/") == "hxxp://evil[.]example/"
    assert (
        markdown_link(short_hash(SHA256), vt_link("file", SHA256))
        == f"[{SHA256[:12]}]({GUI_ROOT}/file/{SHA256})"
    )
    assert markdown_link("evil[.]example", vt_link("domain", "evil.example")).startswith(
        "[evil\\[.\\]example]("
    )
    with pytest.raises(ValueError, match="VirusTotal"):
        markdown_link("x", "http://evil.example/")


def test_artifact_keys_shorten_hashes_anywhere() -> None:
    key = artifact_key("expansion-graph", f"{SHA256} and 3 more")
    assert key == f"virustotal-expansion-graph-{SHA256[:12]}-and-3-more"
    assert artifact_key("triage", "INC-2026/11 27") == "virustotal-triage-inc-2026-11-27"
