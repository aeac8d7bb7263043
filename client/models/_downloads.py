"""What a download left on disk."""

from __future__ import annotations

from pathlib import Path

from ._base import VTModel


class DownloadedFile(VTModel):
    """A verified download: where it is, its SHA-256 and size, and whether it is zipped."""

    path: Path
    sha256: str
    size: int
    zipped: bool = False
