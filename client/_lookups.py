"""Reports on files, URLs, domains and IP addresses."""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

from ._errors import InvalidParameterError
from ._identifiers import parse_domain, parse_file_hash, parse_ip, parse_url_identifier
from .models import DomainObject, FileObject, IPAddressObject, URLObject, VTObject
from .models._community import ResolutionAttributes, ResolutionObject
from .models._objects import DomainAttributes, FileAttributes, IPAddressAttributes, URLAttributes

if TYPE_CHECKING:
    from ._core import VirusTotalClient
    from ._scanning import FileInput, UploadSource

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

    async def upload(
        self,
        file: FileInput | UploadSource,
        *,
        password: str | None = None,
        filename: str | None = None,
        expected_sha256: str | None = None,
    ) -> VTObject[Any]:
        """Submit a file for public analysis (``POST /files``, or an upload URL above 32 MB).

        The file is streamed from disk, never read whole into memory. Anything submitted
        here becomes visible to every VirusTotal user: use ``vt.private.upload`` for
        confidential files.

        Args:
            file: a path or bytes; up to 650 MB.
            password: the password of a ZIP to unpack (UNCONFIRMED form field, as vt-cli sends it).
            filename: the name to report; the path's name by default.
            expected_sha256: the SHA-256 that was looked up: the bytes are hashed as they are
                uploaded and ``ContentChangedError`` is raised if they differ.

        Returns:
            The ``analysis`` descriptor; wait on its id with ``vt.analyses.wait``.

        Raises:
            InvalidParameterError: missing, unreadable, empty or oversized (before any request).
        """
        from ._scanning import UploadSource, _upload

        source = UploadSource.of(file, filename, expected_sha256)
        fields: Mapping[str, str] = {"password": password} if password else {}
        return await _upload(self._client, source, "/files", "/files/upload_url", fields)

    async def upload_url(self) -> str:
        """A one-time URL on the API's host for an upload of up to 650 MB (``GET /files/upload_url``)."""
        from ._scanning import _fetch_upload_url

        return await _fetch_upload_url(self._client, "/files/upload_url")

    async def analyse(self, file_hash: str) -> VTObject[Any]:
        """Ask for a new analysis of a known file (``POST /files/{id}/analyse``)."""
        from ._scanning import _descriptor

        ident = parse_file_hash(file_hash)
        path = f"/files/{ident}/analyse"
        # Not idempotent: each call queues one more analysis.
        return _descriptor(await self._client.request_json("POST", path, idempotent=False), path)


class URLs(_Area):
    """``/urls``."""

    async def get(self, url: str, *, relationships: Sequence[str] | None = None) -> URLObject:
        """The report of a URL, given as a URL, a URL id or its SHA-256 (``GET /urls/{id}``)."""
        ident = parse_url_identifier(url)
        return await self._client.get_object(
            f"/urls/{ident}", URLAttributes, params=relationship_params(relationships)
        )

    async def scan(self, url: str, *, strip_credentials: bool = False) -> VTObject[Any]:
        """Submit a URL for analysis (``POST /urls``).

        A URL carrying ``user:password@`` is refused (it would publish the credentials),
        or, with ``strip_credentials=True``, submitted without them and a warning logged.

        Returns:
            The ``analysis`` descriptor; wait on its id with ``vt.analyses.wait``.

        Raises:
            InvalidIndicatorError: not a URL, or it carries credentials (before any request).
        """
        from ._scanning import _descriptor, check_url_for_submission

        target = check_url_for_submission(url, strip_credentials=strip_credentials)
        body = await self._client.request_json("POST", "/urls", data={"url": target}, idempotent=False)
        return _descriptor(body, "/urls")

    async def analyse(self, url: str) -> VTObject[Any]:
        """Ask for a new analysis of a known URL (``POST /urls/{id}/analyse``)."""
        from ._scanning import _descriptor, check_url_for_submission

        if "://" in url or "/" in url or "." in url:
            url = check_url_for_submission(url)
        ident = parse_url_identifier(url)
        path = f"/urls/{ident}/analyse"
        return _descriptor(await self._client.request_json("POST", path, idempotent=False), path)


class Domains(_Area):
    """``/domains``."""

    async def get(self, domain: str, *, relationships: Sequence[str] | None = None) -> DomainObject:
        """The report of a domain (``GET /domains/{domain}``)."""
        ident = parse_domain(domain)
        return await self._client.get_object(
            f"/domains/{ident}", DomainAttributes, params=relationship_params(relationships)
        )

    async def analyse(self, domain: str) -> VTObject[Any]:
        """Ask for a new analysis of a domain (``POST /domains/{domain}/analyse``)."""
        from ._scanning import _descriptor

        path = f"/domains/{parse_domain(domain)}/analyse"
        return _descriptor(await self._client.request_json("POST", path, idempotent=False), path)


class IPAddresses(_Area):
    """``/ip_addresses``."""

    async def get(self, ip: str, *, relationships: Sequence[str] | None = None) -> IPAddressObject:
        """The report of an IP address (``GET /ip_addresses/{ip}``)."""
        ident = parse_ip(ip)
        return await self._client.get_object(
            f"/ip_addresses/{ident}", IPAddressAttributes, params=relationship_params(relationships)
        )

    async def analyse(self, ip: str) -> VTObject[Any]:
        """Ask for a new analysis of an IP address (``POST /ip_addresses/{ip}/analyse``)."""
        from ._scanning import _descriptor

        path = f"/ip_addresses/{parse_ip(ip)}/analyse"
        return _descriptor(await self._client.request_json("POST", path, idempotent=False), path)


_RESOLUTION_ID = re.compile(r"[0-9A-Fa-f:.]{2,45}[A-Za-z0-9.-]{1,253}")


class Resolutions(_Area):
    """``/resolutions``: DNS resolution objects (id: the IP followed by the domain)."""

    async def get(self, resolution_id: str) -> ResolutionObject:
        """A resolution by id, e.g. ``1.2.3.4example.com`` (``GET /resolutions/{id}``).

        Raises:
            InvalidParameterError: the id is malformed (no request).
            NotFoundError: no such resolution.
        """
        ident = resolution_id.strip()
        if not _RESOLUTION_ID.fullmatch(ident):
            raise InvalidParameterError(f"invalid resolution id {resolution_id!r}: expected <ip><domain>")
        return await self._client.get_object(f"/resolutions/{ident}", ResolutionAttributes)
