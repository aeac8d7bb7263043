"""Downloads: sample files (``/files/{id}/download``, ``/files/{id}/download_url``) streamed to disk.

A sample is malware more often than not, so a download is handled like one: streamed to a
file created with mode 0600 (never executable) next to its destination, its digest checked
against the id asked for (a mismatch deletes it and raises ``DownloadIntegrityError``), and
only then moved into place. Nothing here opens or runs the bytes. The password-protected ZIP
is written by ``prefect_virustotal.core`` from the verified file.

``/files/{id}/download`` answers with a redirect to a signed storage URL (vt-py follows it).
The client follows one redirect itself without the ``x-apikey`` header, so the key never
travels to the storage host (that the signed URL needs no key is UNCONFIRMED; the reference
says download URLs are ephemeral and expire after an hour). Downloads need a
premium key: the service answers a public key with ``ForbiddenError``, re-raised here with
a message that says so.
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

from ._errors import (
    APIConnectionError,
    APITimeoutError,
    DownloadIntegrityError,
    ForbiddenError,
    InvalidParameterError,
    UnexpectedResponseError,
)
from ._identifiers import hash_kind, parse_file_hash
from ._lookups import _Area
from .models._downloads import DownloadedFile

if TYPE_CHECKING:
    from ._core import VirusTotalClient

logger = logging.getLogger(__name__)

_CHUNK = 1 << 20
_PREMIUM_HINT = "downloading samples needs a premium (VirusTotal Enterprise) API key"


def free_destination(dest: str | Path) -> Path:
    """``dest`` as a path, refusing one that exists (a file, a directory or a dangling link)."""
    target = Path(dest)
    if os.path.lexists(target):
        raise InvalidParameterError(f"{target} exists; refusing to overwrite it")
    return target


def private_file(path: Path) -> int:
    """Create ``path`` for writing with mode 0600, refusing to follow or replace anything."""
    return os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0), 0o600)


async def _open(client: VirusTotalClient, url: str, *, with_key: bool) -> httpx.Response:
    """Send one streamed GET; the caller closes the response."""
    if client.limiter is not None and with_key:
        await client.limiter.acquire()
    request = client._http.build_request("GET", url)
    if not with_key:
        del request.headers["x-apikey"]
    client.request_count += 1
    try:
        return await client._http.send(request, stream=True)
    except httpx.TimeoutException as exc:
        raise APITimeoutError(f"GET {client._redact(url)}: {type(exc).__name__}") from None
    except httpx.TransportError as exc:
        raise APIConnectionError(f"GET {client._redact(url)}: {type(exc).__name__}") from None


async def stream_to_file(
    client: VirusTotalClient, path: str, dest: Path, *, expected: str | None = None
) -> DownloadedFile:
    """Stream ``GET path`` (following one redirect) into ``dest``, checking ``expected``.

    ``expected`` is an MD5, SHA-1 or SHA-256; the bytes must hash to it under the same
    algorithm. ``dest`` must not exist.

    Raises:
        DownloadIntegrityError: the bytes hash to something else (nothing is left on disk).
        APIError: the service refused (``ForbiddenError`` for a public key, ``NotFoundError``).
    """
    response = await _open(client, path, with_key=True)
    try:
        if response.is_redirect and "location" in response.headers:
            target = response.url.join(response.headers["location"])
            await response.aclose()
            # The storage URL is signed: it needs no key, so the key never follows it.
            response = await _open(client, str(target), with_key=False)
        if response.headers.get("x-vt-emulator"):
            client.emulated = True
        if response.status_code != 200:
            await response.aread()
            error = client._error_from(response)
            if isinstance(error, ForbiddenError):
                raise ForbiddenError(error.code, f"{_PREMIUM_HINT} ({error.message})", 403)
            raise error
        digests = {name: hashlib.new(name) for name in ("md5", "sha1", "sha256")}
        size = 0
        partial = dest.with_name(f".{dest.name}.part")
        partial.unlink(missing_ok=True)  # a crashed earlier attempt's leftovers
        fd = private_file(partial)
        try:
            with os.fdopen(fd, "wb") as out:
                async for chunk in response.aiter_bytes(_CHUNK):
                    out.write(chunk)
                    size += len(chunk)
                    for digest in digests.values():
                        digest.update(chunk)
        except BaseException:
            partial.unlink(missing_ok=True)
            raise
    finally:
        await response.aclose()
    hexes = {name: d.hexdigest() for name, d in digests.items()}
    if expected is not None and hexes[hash_kind(expected)] != expected.lower():
        partial.unlink(missing_ok=True)
        raise DownloadIntegrityError(expected.lower(), hexes[hash_kind(expected)])
    os.replace(partial, dest)
    logger.debug("downloaded %d bytes to %s", size, dest)
    return DownloadedFile(path=dest, sha256=hexes["sha256"], size=size, zipped=False)


class Downloads(_Area):
    """Sample downloads (premium)."""

    async def download_url(self, file_hash: str) -> str:
        """A short-lived URL that serves the file (``GET /files/{id}/download_url``).

        The URL itself grants the download: treat it as a secret and as a live link to
        malware (never show it to a person unfenced).

        Raises:
            ForbiddenError: the key is not premium.
        """
        ident = parse_file_hash(file_hash)
        try:
            body = await self._client.request_json("GET", f"/files/{ident}/download_url")
        except ForbiddenError as exc:
            raise ForbiddenError(exc.code, f"{_PREMIUM_HINT} ({exc.message})", 403) from exc
        url = body.get("data") if isinstance(body, dict) else None
        if not isinstance(url, str) or not url.startswith(("http://", "https://")):
            raise UnexpectedResponseError("InvalidResponse", "download_url: no URL in the answer", 200)
        return url

    async def download(self, file_hash: str, dest: str | Path) -> DownloadedFile:
        """Stream a sample to ``dest`` (mode 0600), checking its hash (``GET /files/{id}/download``).

        Args:
            file_hash: MD5, SHA-1 or SHA-256 of the sample.
            dest: where to write; must not exist.

        Raises:
            InvalidIndicatorError: the hash is malformed (no request sent).
            InvalidParameterError: ``dest`` exists.
            DownloadIntegrityError: the bytes do not hash to ``file_hash``; nothing is kept.
            ForbiddenError: the key is not premium.
        """
        ident = parse_file_hash(file_hash)
        target = free_destination(dest)
        return await stream_to_file(self._client, f"/files/{ident}/download", target, expected=ident)
