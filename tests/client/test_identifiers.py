"""Indicator parsing, refanging and extraction: pure functions, no requests."""

from __future__ import annotations

import pytest

from prefect_virustotal.client import (
    InvalidIndicatorError,
    extract_indicators,
    parse_domain,
    parse_file_hash,
    parse_indicator,
    parse_ip,
    parse_url_identifier,
    refang,
    strip_url_credentials,
    url_has_credentials,
    url_id,
)

MD5 = "44d88612fea8a8f36de82e1278abb02f"
SHA1 = "3395856ce81f2b7382dee72602f798b642f14140"
SHA256 = "275a021bbfb6489e54d471899f7db9d1663fc695ec2fe2a2c4538aabf651fd0f"


@pytest.mark.parametrize("value", [MD5, SHA1, SHA256, SHA256.upper(), f"  {MD5} "])
def test_valid_hashes_are_lower_cased(value: str) -> None:
    assert parse_file_hash(value) == value.strip().lower()


@pytest.mark.parametrize("value", ["", "abc", MD5[:-1], SHA256 + "0", "g" * 64, MD5 + " x"])
def test_invalid_hashes_say_why(value: str) -> None:
    with pytest.raises(InvalidIndicatorError, match="hex characters"):
        parse_file_hash(value)


def test_url_id_is_unpadded_urlsafe_base64() -> None:
    assert url_id("http://www.example.com/") == "aHR0cDovL3d3dy5leGFtcGxlLmNvbS8"
    assert "=" not in url_id("http://a.example.com/?x=1")
    assert url_id("example.com/path") == url_id("http://example.com/path")


def test_url_identifier_accepts_url_id_and_sha256() -> None:
    ident = url_id("http://www.example.com/")
    assert parse_url_identifier(ident) == ident
    assert parse_url_identifier("A" * 64) == "a" * 64
    assert parse_url_identifier("http://www.example.com/") == ident
    with pytest.raises(InvalidIndicatorError):
        parse_url_identifier("!!notbase64!!")


@pytest.mark.parametrize(
    "value", ["http://", "javascript:alert(1)", "http://exa mple.com", "http://nodot/", "gopher://x.example"]
)
def test_bad_urls(value: str) -> None:
    with pytest.raises(InvalidIndicatorError):
        parse_indicator(value, "url")


def test_domains() -> None:
    assert parse_domain("Sub.Example.COM.") == "sub.example.com"
    assert parse_domain("bücher.example") == "xn--bcher-kva.example"
    for bad in ["localhost", "-a.example", "a..example", "example.c0m", "a" * 64 + ".com"]:
        with pytest.raises(InvalidIndicatorError):
            parse_domain(bad)


def test_ips() -> None:
    assert parse_ip("8.8.8.8") == "8.8.8.8"
    assert parse_ip("2001:DB8:0:0::1") == "2001:db8::1"
    with pytest.raises(InvalidIndicatorError):
        parse_ip("256.1.1.1")


def test_detection_of_kind() -> None:
    assert parse_indicator(SHA256).kind == "file"
    assert parse_indicator("1.2.3.4").kind == "ip_address"
    assert parse_indicator("hxxps://evil[.]example/x").kind == "url"
    assert parse_indicator("evil[.]example").kind == "domain"
    with pytest.raises(InvalidIndicatorError, match="not a hash, IP address, URL or domain"):
        parse_indicator("not an indicator")


def test_refang() -> None:
    assert refang("hxxps://evil[.]example[:]8080/a") == "https://evil.example:8080/a"
    assert refang("1(.)2{.}3[dot]4") == "1.2.3.4"


def test_extraction_from_a_ticket() -> None:
    text = (
        "User opened invoice.exe (md5 44d88612fea8a8f36de82e1278abb02f) which beaconed to "
        "hxxp://update-check[.]example/gate.php and 203.0.113[.]7. Also seen: cdn.evil-example.net, "
        "payload.zip, report[.]zip. Repeat: 44D88612FEA8A8F36DE82E1278ABB02F."
    )
    found = [(i.kind, i.value) for i in extract_indicators(text)]
    assert found == [
        ("file", MD5),
        ("url", "http://update-check.example/gate.php"),
        ("ip_address", "203.0.113.7"),
        ("domain", "cdn.evil-example.net"),
        ("domain", "report.zip"),
    ]


def test_url_credentials() -> None:
    assert url_has_credentials("https://user:pass@example.com/x")
    assert not url_has_credentials("https://example.com/x")
    assert strip_url_credentials("https://user:pass@example.com/x?a=1") == "https://example.com/x?a=1"
