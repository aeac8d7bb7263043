"""Samples on disk, handled as malware: verified, then zipped with the password ``infected``.

The convention of malware repositories: a sample travels and rests inside a ZIP whose password
is ``infected``, so that no antivirus quarantines it by mistake and nobody opens it by a
double click. The ZIP is AES-256 encrypted (WinZip AE-2, through ``pyzipper``) and written
with mode 0600. Nothing here opens, parses or runs the sample; the plain file exists only
next to the destination, with mode 0600, until the ZIP is written (or, when the plain file is
asked for, it becomes the result).
"""

from __future__ import annotations

import os
from pathlib import Path

from prefect_virustotal.client import VirusTotalClient, free_destination, private_file
from prefect_virustotal.client.models import DownloadedFile

ZIP_PASSWORD = "infected"  # noqa: S105 - a convention, not a secret
"""The password malware repositories use for sample archives."""
_CHUNK = 1 << 20


def zip_sample(sample: Path, dest: Path, member: str, password: str = ZIP_PASSWORD) -> Path:
    """Write ``sample`` into a new AES-encrypted ZIP at ``dest`` (mode 0600) as ``member``.

    ``dest`` must not exist. On any failure the half-written ZIP is removed.
    """
    # Imported here: pyzipper loads pycryptodome (~0.3 s), which only a download needs, and
    # every command that imports the core (a direct lookup too) would pay for it.
    import pyzipper  # type: ignore[import-untyped]

    fd = private_file(dest)
    try:
        with (
            os.fdopen(fd, "wb") as raw,
            pyzipper.AESZipFile(
                raw, "w", compression=pyzipper.ZIP_DEFLATED, encryption=pyzipper.WZ_AES
            ) as archive,
        ):
            archive.setpassword(password.encode())
            archive.setencryption(pyzipper.WZ_AES, nbits=256)
            with sample.open("rb") as source, archive.open(member, "w", force_zip64=True) as target:
                while chunk := source.read(_CHUNK):
                    target.write(chunk)
    except BaseException:
        dest.unlink(missing_ok=True)
        raise
    return dest


async def download_sample(
    vt: VirusTotalClient, file_hash: str, dest: str | Path, *, plain: bool = False
) -> DownloadedFile:
    """Download a sample, check its hash, and leave it as a ``infected`` ZIP (or plain) at ``dest``.

    Args:
        vt: the client (a premium key).
        file_hash: MD5, SHA-1 or SHA-256.
        dest: the ZIP (or, with ``plain``, the file) to create; must not exist.
        plain: keep the bare sample instead of zipping it.

    Raises:
        InvalidParameterError: ``dest`` exists (no request made).
        DownloadIntegrityError: the bytes did not match the hash; nothing is left on disk.
        ForbiddenError: the key is not premium.
    """
    target = free_destination(dest)
    if plain:
        return await vt.downloads.download(file_hash, target)
    staging = target.with_name(f".{target.name}.sample")
    staging.unlink(missing_ok=True)
    try:
        fetched = await vt.downloads.download(file_hash, staging)
        zip_sample(staging, target, member=fetched.sha256)
    finally:
        staging.unlink(missing_ok=True)
    return DownloadedFile(path=target, sha256=fetched.sha256, size=fetched.size, zipped=True)
