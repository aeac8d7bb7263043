"""Indicator validation, normalisation and extraction.

Everything here runs before a request is made: malformed input raises
:class:`InvalidIndicatorError` and costs no quota.
"""

from __future__ import annotations

import base64
import ipaddress
import logging
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

from ._errors import InvalidIndicatorError

logger = logging.getLogger(__name__)

IndicatorKind = Literal["file", "url", "domain", "ip_address"]
"""The v3 object types an indicator can name."""

_HEX = re.compile(r"[0-9a-fA-F]+")
_HASH_LENGTHS = {32: "md5", 40: "sha1", 64: "sha256"}
_LABEL = re.compile(r"(?!-)[a-z0-9-]{1,63}(?<!-)")
#: A label of a URL's host may also hold underscores (``my_host.example.com``): browsers and
#: VirusTotal accept them, though DNS host names (RFC 1123) do not.
_URL_LABEL = re.compile(r"(?!-)[a-z0-9_-]{1,63}(?<!-)")
_TLD = re.compile(r"(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})")
_URL_SCHEMES = ("http", "https", "ftp")

# Ticket text names files too ("invoice.exe"); these endings are file names, not TLDs,
# unless the writer defanged them, which marks them as indicators on purpose.
_FILE_EXTENSIONS = frozenset(
    [
        "exe",
        "dll",
        "sys",
        "scr",
        "bat",
        "cmd",
        "ps1",
        "vbs",
        "js",
        "jse",
        "hta",
        "lnk",
        "msi",
        "iso",
        "img",
        "zip",
        "rar",
        "7z",
        "gz",
        "tgz",
        "tar",
        "bz2",
        "xz",
        "doc",
        "docx",
        "docm",
        "xls",
        "xlsx",
        "xlsm",
        "ppt",
        "pptx",
        "pdf",
        "rtf",
        "txt",
        "csv",
        "log",
        "json",
        "xml",
        "yml",
        "yaml",
        "ini",
        "cfg",
        "png",
        "jpg",
        "jpeg",
        "gif",
        "bmp",
        "svg",
        "mp3",
        "mp4",
        "wav",
        "py",
        "sh",
        "pl",
        "rb",
        "php",
        "jar",
        "class",
        "apk",
        "dmg",
        "pkg",
        "bin",
        "dat",
        "tmp",
        "eml",
        "msg",
        "htm",
        "html",
        "one",
        "elf",
        "so",
    ]
)


def parse_file_hash(value: str) -> str:
    """Validate an MD5, SHA-1 or SHA-256 and return it in lower case.

    Raises:
        InvalidIndicatorError: not 32, 40 or 64 hexadecimal characters.
    """
    candidate = value.strip()
    if not _HEX.fullmatch(candidate) or len(candidate) not in _HASH_LENGTHS:
        raise InvalidIndicatorError(
            value, "file hash", "expected 32 (MD5), 40 (SHA-1) or 64 (SHA-256) hex characters"
        )
    return candidate.lower()


def hash_kind(file_hash: str) -> str:
    """Name the hash algorithm of a validated hash: ``md5``, ``sha1`` or ``sha256``."""
    return _HASH_LENGTHS[len(parse_file_hash(file_hash))]


def parse_domain(value: str, *, url_host: bool = False) -> str:
    """Validate a domain name and return it lower-cased, without a trailing dot.

    Internationalised names are converted to their IDNA (``xn--``) form. ``url_host``
    also accepts underscores in the labels, as a URL's host may have them.

    Raises:
        InvalidIndicatorError: not a syntactically valid domain with a TLD.
    """
    candidate = value.strip().rstrip(".").lower()
    if not candidate.isascii():
        try:
            candidate = candidate.encode("idna").decode("ascii")
        except UnicodeError as exc:
            raise InvalidIndicatorError(value, "domain", "not a valid IDNA name") from exc
    if len(candidate) > 253:
        raise InvalidIndicatorError(value, "domain", "longer than 253 characters")
    labels = candidate.split(".")
    if len(labels) < 2:
        raise InvalidIndicatorError(value, "domain", "needs at least two labels, e.g. example.com")
    label = _URL_LABEL if url_host else _LABEL
    if not all(label.fullmatch(part) for part in labels):
        raise InvalidIndicatorError(value, "domain", "labels are 1-63 letters, digits or inner hyphens")
    if not _TLD.fullmatch(labels[-1]):
        raise InvalidIndicatorError(value, "domain", "the last label is not a valid TLD")
    return candidate


def parse_ip(value: str) -> str:
    """Validate an IPv4 or IPv6 address and return its canonical text form.

    Raises:
        InvalidIndicatorError: not an IP address.
    """
    candidate = value.strip().strip("[]")
    try:
        return str(ipaddress.ip_address(candidate))
    except ValueError as exc:
        raise InvalidIndicatorError(value, "IP address", "not an IPv4 or IPv6 address") from exc


def normalize_url(value: str) -> str:
    """Validate a URL and return it with a scheme.

    VirusTotal canonicalises URLs itself; we only make sure there is a scheme and a
    valid host, so that the id we compute names what the user meant.

    Raises:
        InvalidIndicatorError: no host, an unsupported scheme, spaces or control characters.
    """
    candidate = value.strip()
    if not candidate or any(ch.isspace() or ord(ch) < 32 for ch in candidate):
        raise InvalidIndicatorError(value, "URL", "empty, or contains spaces or control characters")
    if "://" not in candidate:
        candidate = "http://" + candidate
    try:
        parts = urlsplit(candidate)
        hostname = parts.hostname
        _ = parts.port  # raises ValueError for a malformed port
    except ValueError as exc:
        raise InvalidIndicatorError(value, "URL", "malformed") from exc
    if parts.scheme.lower() not in _URL_SCHEMES:
        raise InvalidIndicatorError(value, "URL", f"scheme must be one of {', '.join(_URL_SCHEMES)}")
    if not hostname:
        raise InvalidIndicatorError(value, "URL", "no host")
    try:
        parse_ip(hostname)
    except InvalidIndicatorError:
        parse_domain(hostname, url_host=True) if "." in hostname else _reject_host(value, hostname)
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, parts.query, parts.fragment))


def _reject_host(value: str, host: str) -> None:
    """Refuse a single-label host: VirusTotal only knows public names."""
    if host != "localhost":
        raise InvalidIndicatorError(value, "URL", f"host {host!r} is not a domain or IP address")


def url_has_credentials(url: str) -> bool:
    """True when the URL carries ``user:password@`` (which must never be submitted)."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    return parts.username is not None or parts.password is not None


def strip_url_credentials(url: str) -> str:
    """Return the URL without its ``user:password@`` part."""
    parts = urlsplit(url if "://" in url else "http://" + url)
    netloc = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


def mask_url_credentials(url: str) -> str:
    """The URL with its password (or a lone user name, often a token) shown as ``***``.

    ``https://admin:hunter2@intranet.example/login`` -> ``https://admin:***@intranet.example/login``:
    what a warning may name without repeating the secret.
    """
    scheme, sep, rest = url.partition("://")
    if not sep:
        scheme, rest = "", url
    authority, slash, tail = rest.partition("/")
    userinfo, at, host = authority.rpartition("@")
    if not at:
        return url
    user, colon, _password = userinfo.partition(":")
    masked = f"{user}:***" if colon else "***"
    return f"{scheme}{sep}{masked}@{host}{slash}{tail}"


# A URL's authority with ``user[:password]@`` in free text (defanged schemes too).
_CREDENTIALS_IN_TEXT = re.compile(r"(?i)\b([a-z][a-z0-9+.\-]*(?:://|\[://\]))([^\s/@<>\"'`]+)@(?=[^\s@])")


_URL_TAIL = re.compile(r"[^\s<>\"'`]*")


def redact_url_credentials(text: str) -> tuple[str, list[str]]:
    """Remove every ``user:password@`` from the URLs in free text.

    Returns the text without the credentials, and each URL found with them, masked (for a
    warning). Nothing else of the text changes.
    """
    masked: list[str] = []

    def cut(match: re.Match[str]) -> str:
        tail = _URL_TAIL.match(text, match.end())
        masked.append(mask_url_credentials(match.group(0) + (tail.group(0) if tail else "")))
        return match.group(1)

    return _CREDENTIALS_IN_TEXT.sub(cut, text), masked


def redact_all(values: Iterable[str]) -> tuple[list[str], list[str]]:
    """``redact_url_credentials`` over many values: the cleaned values and every masked URL."""
    cleaned: list[str] = []
    masked: list[str] = []
    for value in values:
        clean, found = redact_url_credentials(value)
        cleaned.append(clean)
        masked += found
    return cleaned, masked


def _clean_url(value: str) -> str:
    """Validate a URL and drop its ``user:password@``: credentials never go into a request."""
    url = normalize_url(value)
    if url_has_credentials(url):
        logger.warning("removed credentials from a URL before using it: %s", mask_url_credentials(url))
        url = strip_url_credentials(url)
    return url


def url_id(url: str) -> str:
    """The v3 URL identifier: URL-safe base64 of the URL (credentials removed) without padding."""
    return base64.urlsafe_b64encode(_clean_url(url).encode()).decode().rstrip("=")


def parse_url_identifier(value: str) -> str:
    """Accept a URL, a URL id (unpadded URL-safe base64) or a SHA-256 URL id.

    Returns the identifier to put in the path.
    """
    candidate = value.strip()
    if len(candidate) == 64 and _HEX.fullmatch(candidate):
        return candidate.lower()
    if "/" in candidate or "." in candidate or ":" in candidate:
        return url_id(candidate)
    padded = candidate + "=" * (-len(candidate) % 4)
    try:
        decoded = base64.urlsafe_b64decode(padded.encode()).decode()
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidIndicatorError(value, "URL id", "neither a URL, a SHA-256 nor a URL id") from exc
    normalize_url(decoded)
    return candidate.rstrip("=")


@dataclass(frozen=True, slots=True)
class Indicator:
    """A validated indicator.

    Attributes:
        kind: the v3 object type it names.
        value: the normalised indicator (hash in lower case, URL with scheme, ...).
        id: the identifier to use in API paths.
    """

    kind: IndicatorKind
    value: str
    id: str

    @property
    def collection(self) -> str:
        """The API collection that holds objects of this kind."""
        return {"file": "files", "url": "urls", "domain": "domains", "ip_address": "ip_addresses"}[self.kind]


def parse_indicator(value: str, kind: IndicatorKind | None = None) -> Indicator:
    """Validate an indicator of a given kind, or detect the kind.

    Detection order: hash, IP address, URL (has a scheme or a path), domain.

    Raises:
        InvalidIndicatorError: the value is not a valid indicator (of that kind).
    """
    text = refang(value.strip())
    if kind == "file" or (kind is None and _HEX.fullmatch(text) and len(text) in _HASH_LENGTHS):
        file_hash = parse_file_hash(text)
        return Indicator("file", file_hash, file_hash)
    if kind == "ip_address":
        ip = parse_ip(text)
        return Indicator("ip_address", ip, ip)
    if kind == "domain":
        domain = parse_domain(text)
        return Indicator("domain", domain, domain)
    if kind == "url":
        url = _clean_url(text)
        return Indicator("url", url, url_id(url))
    if kind is not None:
        raise InvalidIndicatorError(value, "indicator", f"unknown kind {kind!r}")
    try:
        ip = parse_ip(text)
    except InvalidIndicatorError:
        pass
    else:
        return Indicator("ip_address", ip, ip)
    if "://" in text or "/" in text:
        url = _clean_url(text)
        return Indicator("url", url, url_id(url))
    try:
        domain = parse_domain(text)
    except InvalidIndicatorError as exc:
        raise InvalidIndicatorError(value, "indicator", "not a hash, IP address, URL or domain") from exc
    return Indicator("domain", domain, domain)


_DEFANG_RULES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bhxxp(s?)", re.IGNORECASE), r"http\1"),
    (re.compile(r"\bh\[tt\]p(s?)", re.IGNORECASE), r"http\1"),
    (re.compile(r"\bfxp\b", re.IGNORECASE), "ftp"),
    (re.compile(r"\[(?:\.|dot)\]|\((?:\.|dot)\)|\{(?:\.|dot)\}", re.IGNORECASE), "."),
    (re.compile(r"\[:\]"), ":"),
    (re.compile(r"\[://\]"), "://"),
    (re.compile(r"\[/\]"), "/"),
    (re.compile(r"\[@\]|\[at\]", re.IGNORECASE), "@"),
)


def refang(text: str) -> str:
    """Undo common defanging: ``hxxp`` → ``http``, ``[.]``/``(.)``/``{.}`` → ``.``, ``[:]``..."""
    for pattern, replacement in _DEFANG_RULES:
        text = pattern.sub(replacement, text)
    return text


_DEFANG_MARK = re.compile(r"hxxp|h\[tt\]p|\[\.\]|\(\.\)|\{\.\}|\[dot\]|\[:\]|\[://\]", re.I)
_TOKEN = re.compile(r"[^\s<>\"'`,;|]+")
_TRAILING = ".,;:!?)]}>'\""


def extract_indicators(text: str) -> list[Indicator]:
    """Find the indicators in free text (a ticket, an e-mail), refanged, in order, once each.

    Hashes, IP addresses, URLs and domains are recognised; the host of a URL is not
    listed on its own (it would cost a second lookup for what the URL report shows).
    Bare names ending in a common file extension (``invoice.exe``) are not taken as
    domains unless they were defanged (``invoice[.]exe``).
    """
    found: dict[tuple[str, str], Indicator] = {}
    for match in _TOKEN.finditer(text):
        raw = match.group(0)
        defanged = bool(_DEFANG_MARK.search(raw))
        token = refang(raw).strip(_TRAILING).lstrip("([{<'\"")
        if not token:
            continue
        indicator = _token_indicator(token, defanged)
        if indicator is not None:
            found.setdefault((indicator.kind, indicator.id), indicator)
    return list(found.values())


def _token_indicator(token: str, defanged: bool) -> Indicator | None:
    """Classify one refanged token, or None when it is not an indicator."""
    if _HEX.fullmatch(token):
        return parse_indicator(token, "file") if len(token) in _HASH_LENGTHS else None
    try:
        if "://" in token:
            return parse_indicator(token, "url")
        ip = parse_ip(token)
        return Indicator("ip_address", ip, ip)
    except InvalidIndicatorError:
        pass
    host, sep, _rest = token.partition("/")
    try:
        domain = parse_domain(host)
    except InvalidIndicatorError:
        return None
    if not defanged and domain.rsplit(".", 1)[-1] in _FILE_EXTENSIONS:
        return None
    if sep and _rest:
        try:
            return parse_indicator(token, "url")
        except InvalidIndicatorError:
            return None
    return Indicator("domain", domain, domain)


INTERNAL_DOMAIN_SUFFIXES = ("local", "internal", "lan", "corp", "home.arpa", "localhost")
"""Names that only mean something inside a network (RFC 6762, RFC 8375 and common practice)."""


# RFC 5737 and RFC 3849 documentation ranges: reserved, but not anybody's internal network.
_DOCUMENTATION_NETWORKS = tuple(
    ipaddress.ip_network(n) for n in ("192.0.2.0/24", "198.51.100.0/24", "203.0.113.0/24", "2001:db8::/32")
)


def _internal_host(host: str, own_domains: Iterable[str]) -> bool:
    try:
        address = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        name = host.rstrip(".").lower()
        suffixes = [
            *INTERNAL_DOMAIN_SUFFIXES,
            *(d.strip().strip(".").lower() for d in own_domains if d.strip()),
        ]
        return any(name == suffix or name.endswith("." + suffix) for suffix in suffixes)
    if any(address in network for network in _DOCUMENTATION_NETWORKS):
        # Examples in tickets, reports and the emulator: they name nobody's network.
        return False
    # Private, loopback, link-local, multicast, reserved, unspecified, shared (CGNAT), mapped...:
    # anything not globally routable names a place inside some network, not a public indicator.
    return not address.is_global or address.is_multicast


def is_internal(indicator: Indicator, own_domains: Iterable[str] = ()) -> bool:
    """True when looking the indicator up would tell VirusTotal about an internal network.

    IP addresses that are not globally routable (private, loopback, link-local, multicast,
    reserved), names under ``.local``, ``.internal``, ``.lan``, ``.corp``, ``.home.arpa``, and
    names under any of ``own_domains`` (the organisation's own), also as the host of a URL.
    Files are never internal.
    """
    if indicator.kind == "file":
        return False
    if indicator.kind == "url":
        host = urlsplit(indicator.value).hostname
        return host is not None and _internal_host(host, own_domains)
    return _internal_host(indicator.value, own_domains)
