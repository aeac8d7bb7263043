"""How the pack shows indicators to people: VirusTotal page links, defanged text, short hashes.

Everything a person reads (artifacts, reports, the terminal) goes through these helpers, so
that the only live links are to VirusTotal's own pages and an indicator under investigation is
never clickable: ``hxxp://evil[.]example/a``, ``evil[.]example``, ``203[.]0[.]113[.]7``.
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal
from urllib.parse import urlsplit, urlunsplit

GUI_ROOT = "https://www.virustotal.com/gui"
"""The root of VirusTotal's web pages; the only links the pack shows."""
SHORT_HASH_LENGTH = 12
"""Characters of a hash shown in text (the full value stays in the link)."""

PageKind = Literal["file", "url", "domain", "ip_address", "collection"]

_GUI_PATHS: dict[str, str] = {
    "file": "file",
    "url": "url",
    "domain": "domain",
    "ip_address": "ip-address",
    "collection": "collection",
}
_SHA256 = re.compile(r"[0-9a-fA-F]{64}")
_HASH = re.compile(r"[0-9a-fA-F]{32}|[0-9a-fA-F]{40}|[0-9a-fA-F]{64}")
_SCHEMES = {"http": "hxxp", "https": "hxxps", "ftp": "fxp"}


def canonical_url(url: str) -> str:
    """The URL as VirusTotal names its page: scheme added if missing, scheme and host in lower
    case, an empty path as ``/``.

    UNCONFIRMED: VirusTotal's canonicalisation does more (percent-encoding, default ports); for
    URLs it already knows, :func:`vt_link` is given the report's id and needs none of this.
    """
    text = url.strip()
    if "://" not in text:
        text = "http://" + text
    parts = urlsplit(text)
    netloc = parts.netloc.lower() if "@" not in parts.netloc else parts.netloc
    return urlunsplit((parts.scheme.lower(), netloc, parts.path or "/", parts.query, parts.fragment))


def url_page_id(url_or_id: str) -> str:
    """The identifier of a URL's page: the SHA-256 of its canonical form (a SHA-256 as is)."""
    if _SHA256.fullmatch(url_or_id):
        return url_or_id.lower()
    return hashlib.sha256(canonical_url(url_or_id).encode()).hexdigest()


def vt_link(kind: str, identifier: str, *, private: bool = False) -> str:
    """The page of an object on virustotal.com.

    Args:
        kind: ``file``, ``url``, ``domain``, ``ip_address`` or ``collection`` (the v3 type).
        identifier: the object's id; for a URL, the URL itself or its SHA-256.
        private: the private-scanning page (UNCONFIRMED path ``/gui/private/<kind>/``; the
            public paths are documented).

    Example:
        >>> vt_link("ip_address", "203.0.113.7")
        'https://www.virustotal.com/gui/ip-address/203.0.113.7'
    """
    ident = url_page_id(identifier) if kind == "url" else identifier
    path = _GUI_PATHS.get(kind, kind)
    return f"{GUI_ROOT}/{'private/' if private else ''}{path}/{ident}"


def short_hash(value: str, length: int = SHORT_HASH_LENGTH) -> str:
    """The first ``length`` characters of a hash (other text unchanged)."""
    return value[:length] if _HASH.fullmatch(value) else value


def _defang_host(host: str) -> str:
    return re.sub(r"(?<!\[)\.(?!\])", "[.]", host)


def defang(value: str) -> str:
    """A URL, domain or IP address that no reader can follow by accident.

    ``http://evil.example/a`` → ``hxxp://evil[.]example/a``; ``evil.example`` → ``evil[.]example``.
    Already defanged text is returned as is.
    """
    text = value.strip()
    scheme, sep, rest = text.partition("://")
    if not sep:
        host, slash, tail = text.partition("/")
        return _defang_host(host) + slash + tail.replace("://", "[:]//")
    authority, slash, tail = rest.partition("/")
    scheme = _SCHEMES.get(scheme.lower(), scheme)
    return f"{scheme}://{_defang_host(authority)}{slash}{tail.replace('://', '[:]//')}"


def display_indicator(kind: str | None, value: str) -> str:
    """What a person reads for an indicator: hashes shortened, everything else defanged."""
    if kind == "file" or (kind is None and _HASH.fullmatch(value)):
        return short_hash(value)
    return defang(value)


def markdown_link(text: str, url: str) -> str:
    """A markdown link whose text is shown as code (never itself a link); ``url`` must be ours."""
    if not url.startswith(GUI_ROOT + "/"):
        raise ValueError("only VirusTotal's own pages are linked")
    return f"[`{markdown_cell(text)}`]({url})"


def markdown_cell(text: str) -> str:
    """Text safe inside a markdown table cell."""
    return text.replace("|", "\\|").replace("`", "'").replace("\n", " ")
