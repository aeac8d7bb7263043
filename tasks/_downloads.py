"""Sample download: streamed, hash-checked, kept as a password-protected ZIP."""

from __future__ import annotations

from pathlib import Path

from prefect import get_run_logger, task
from prefect.cache_policies import NO_CACHE

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client.models import DownloadedFile
from prefect_virustotal.core import download_sample


@task(name="VirusTotal: download file", retries=0, cache_policy=NO_CACHE)
async def download_file(
    file_hash: str, dest: str | Path, plain: bool = False, *, credentials: VirusTotalCredentials
) -> DownloadedFile:
    """Download a sample (premium key) into a ZIP protected by the password ``infected``.

    The bytes are streamed to disk with mode 0600, checked against ``file_hash`` (a
    mismatch deletes them and fails) and never opened or run. The ZIP is AES-256
    encrypted; ``plain=True`` keeps the bare sample instead.

    Args:
        file_hash: MD5, SHA-1 or SHA-256 of the sample.
        dest: the file to create; must not exist.
        plain: keep the bare sample rather than a ZIP.
        credentials: the VirusTotal credentials block (a premium key).

    Raises:
        DownloadIntegrityError: the bytes did not match the hash; nothing was kept.
        ForbiddenError: the key is not premium (the message says so).

    Example:
        ```python
        sample = await download_file(sha256, "/cases/IR-2041/sample.zip", credentials=credentials)
        ```
    """
    async with credentials.get_client() as vt:
        result = await download_sample(vt, file_hash, dest, plain=plain)
    get_run_logger().info(
        "sample %s: %d bytes to %s (zipped: %s)", result.sha256, result.size, result.path, result.zipped
    )
    return result
