"""A checkpoint store in a local folder: crash-safe resumes for runs without a Prefect server.

The command line's direct path (no Prefect API configured) keeps a submission's checkpoint
here, so that ``scan --no-wait`` and a scan interrupted after its upload attach to the same
analysis when run again, as the flow does through Prefect Variables.
"""

from __future__ import annotations

import asyncio
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ._checkpoints import ensure_checkpoint_fits

STATE_DIR_VARIABLE = "VT_STATE_DIR"
"""The environment variable naming the folder of local checkpoints."""


def default_state_dir() -> Path:
    """``$VT_STATE_DIR``, else ``$XDG_STATE_HOME/prefect-virustotal``, else ``~/.local/state/...``."""
    given = os.environ.get(STATE_DIR_VARIABLE)
    if given:
        return Path(given).expanduser()
    base = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(base) / "prefect-virustotal"


class DirectoryCheckpointStore:
    """Checkpoints as JSON files in one folder, one file per name, readable by the owner only.

    A save writes a temporary file and renames it over the old one: a crash leaves the old
    value or the new one, never half of either. Names are the core's checkpoint names
    (letters, digits, dashes, underscores), so they are safe file names.

    Example:
        ```python
        store = DirectoryCheckpointStore(default_state_dir() / "checkpoints")
        ```
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)

    def _path(self, name: str) -> Path:
        if not name or "/" in name or "\\" in name or name.startswith("."):
            raise ValueError(f"not a checkpoint name: {name!r}")
        return self.directory / f"{name}.json"

    async def load(self, name: str) -> Any:
        """The value saved under ``name``; None when there is none (or it is unreadable JSON)."""
        return await asyncio.to_thread(self._load, self._path(name))

    async def save(self, name: str, value: Any) -> None:
        """Write ``value`` under ``name`` atomically (refused over the size cap)."""
        ensure_checkpoint_fits(name, value)
        await asyncio.to_thread(self._save, self._path(name), value)

    async def clear(self, name: str) -> None:
        """Forget ``name``."""
        await asyncio.to_thread(self._path(name).unlink, missing_ok=True)

    @staticmethod
    def _load(path: Path) -> Any:
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except (FileNotFoundError, json.JSONDecodeError):
            return None

    def _save(self, path: Path, value: Any) -> None:
        self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        handle, temporary = tempfile.mkstemp(dir=self.directory, prefix=".tmp-", suffix=".json")
        try:
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(value, out, separators=(",", ":"), ensure_ascii=False)
            os.replace(temporary, path)
        except BaseException:
            Path(temporary).unlink(missing_ok=True)
            raise
