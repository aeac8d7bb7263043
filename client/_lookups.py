"""Reports on files, URLs, domains and IP addresses."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._errors import InvalidParameterError
from ._identifiers import parse_domain, parse_file_hash, parse_ip, parse_url_identifier
from .models import DomainObject, FileObject, IPAddressObject, URLObject
from .models._objects import DomainAttributes, FileAttributes, IPAddressAttributes, URLAttributes

if TYPE_CHECKING:
    from ._core import VirusTotalClient

_RELATIONSHIP_NAME = re.compile(r"[a-z][a-z0-9_]{0,63}")


def relationship_params(relationships: Sequence[str] | None) -> dict[str, str]:
    """``?relationships=a,b`` from a list of names, each checked before sending."""
    if not relationships:
        return {}
    for name in relationships:
        if not _RELATIONSHIP_NAME.fullmatch(name):
            raise InvalidParameterError(f"invalid relationship name {name!r}")
    return {"relationships": ",".join(dict.fromkeys(relationships))}


class _Area:
    """An area of the API, sharing the client's transport, pacing and retries."""

    def __init__(self, client: VirusTotalClient) -> None:
        self._client = client


class Files(_Area):
    """``/files``."""

    async def get(self, file_hash: str, *, relationships: Sequence[str] | None = None) -> FileObject:
        """The report of a file by MD5, SHA-1 or SHA-256 (``GET /files/{id}``)."""
        ident = parse_file_hash(file_hash)
        return await self._client.get_object(
            f"/files/{ident}", FileAttributes, params=relationship_params(relationships)
        )


class URLs(_Area):
    """``/urls``."""

    async def get(self, url: str, *, relationships: Sequence[str] | None = None) -> URLObject:
        """The report of a URL, given as a URL, a URL id or its SHA-256 (``GET /urls/{id}``)."""
        ident = parse_url_identifier(url)
        return await self._client.get_object(
            f"/urls/{ident}", URLAttributes, params=relationship_params(relationships)
        )


class Domains(_Area):
    """``/domains``."""

    async def get(self, domain: str, *, relationships: Sequence[str] | None = None) -> DomainObject:
        """The report of a domain (``GET /domains/{domain}``)."""
        ident = parse_domain(domain)
        return await self._client.get_object(
            f"/domains/{ident}", DomainAttributes, params=relationship_params(relationships)
        )


class IPAddresses(_Area):
    """``/ip_addresses``."""

    async def get(self, ip: str, *, relationships: Sequence[str] | None = None) -> IPAddressObject:
        """The report of an IP address (``GET /ip_addresses/{ip}``)."""
        ident = parse_ip(ip)
        return await self._client.get_object(
            f"/ip_addresses/{ident}", IPAddressAttributes, params=relationship_params(relationships)
        )
