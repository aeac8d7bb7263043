"""One checkpoint store for every flow: a small typed interface, one naming scheme, one size cap.

A flow keeps what must survive a crash (an analysis id, the jobs already announced, a
listing's cursor) as one JSON value under a name. Where it is kept is the store's business:
Prefect Variables in a deployment (``prefect_virustotal.flows.VariableCheckpointStore``), a
dictionary in tests and rehearsals (:class:`MemoryCheckpointStore`). Flows take the store as
a parameter; nothing patches a module global to swap it.

* Names: ``checkpoint_name(area, *parts)`` gives ``virustotal-<area>-<part>...``, lower-case
  letters, digits, dashes and underscores only, as Prefect Variable names must be.
* Size: a value is measured as the server measures it, compact JSON in UTF-8 bytes, and must
  stay within :data:`MAX_CHECKPOINT_BYTES` (Prefect Variables hold 5,000). Every store refuses a
  larger value with :class:`CheckpointTooLargeError` instead of letting the server fail later.
"""

from __future__ import annotations

import json
import re
from typing import Any, Protocol, runtime_checkable

from prefect_virustotal.client import InvalidParameterError, VirusTotalError

CHECKPOINT_PREFIX = "virustotal-"
"""The prefix of every checkpoint name."""
MAX_CHECKPOINT_BYTES = 4_900
"""The most compact-JSON bytes one checkpoint may take (a Prefect Variable holds 5,000)."""

_PART = re.compile(r"[a-z0-9_-]+")
_MAX_NAME = 255


class CheckpointTooLargeError(VirusTotalError, ValueError):
    """A checkpoint value does not fit :data:`MAX_CHECKPOINT_BYTES`; nothing was written."""


def checkpoint_name(area: str, *parts: str) -> str:
    """The name of a checkpoint: ``virustotal-<area>-<part>-...``.

    Raises:
        InvalidParameterError: a part is empty or holds anything but lower-case letters,
            digits, dashes and underscores, or the name passes 255 characters.
    """
    for part in (area, *parts):
        if not _PART.fullmatch(part):
            raise InvalidParameterError(
                f"checkpoint name part {part!r}: lower-case letters, digits, '-' and '_' only"
            )
    name = CHECKPOINT_PREFIX + "-".join((area, *parts))
    if len(name) > _MAX_NAME:
        raise InvalidParameterError(f"checkpoint name longer than {_MAX_NAME} characters")
    return name


def checkpoint_size(value: Any) -> int:
    """Bytes of ``value`` as compact UTF-8 JSON: what the Variable's 5,000 cap counts.

    Raises:
        TypeError: ``value`` is not JSON (a model must be dumped first).
    """
    return len(json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode())


def checkpoint_fits(value: Any) -> bool:
    """Whether ``value`` fits one checkpoint (see :data:`MAX_CHECKPOINT_BYTES`)."""
    return checkpoint_size(value) <= MAX_CHECKPOINT_BYTES


def ensure_checkpoint_fits(name: str, value: Any) -> None:
    """What every store does before writing.

    Raises:
        CheckpointTooLargeError: the value is over :data:`MAX_CHECKPOINT_BYTES`.
    """
    size = checkpoint_size(value)
    if size > MAX_CHECKPOINT_BYTES:
        raise CheckpointTooLargeError(
            f"checkpoint {name!r} is {size} bytes of JSON, more than {MAX_CHECKPOINT_BYTES}; nothing written"
        )


@runtime_checkable
class CheckpointStore(Protocol):
    """Where flows keep what must survive a crash: one JSON value per name."""

    async def load(self, name: str) -> Any:
        """The value saved under ``name``; None when there is none."""
        ...

    async def save(self, name: str, value: Any) -> None:
        """Create or overwrite ``name`` (raises ``CheckpointTooLargeError`` over the cap)."""
        ...

    async def clear(self, name: str) -> None:
        """Forget ``name``; nothing happens when there is none."""
        ...


class MemoryCheckpointStore:
    """A checkpoint store in a dictionary: for tests, rehearsals and one-off runs.

    Values are kept as the JSON a Variable would hold (a copy in, a copy out), so a flow
    behaves as it would against Prefect, size cap included.

    Example:
        ```python
        store = MemoryCheckpointStore()
        report = await submit_and_wait(file_path="sample.bin", checkpoints=store)
        ```
    """

    def __init__(self) -> None:
        self.values: dict[str, str] = {}
        """Name -> the saved value as JSON text."""
        self.writes = 0
        """How many saves succeeded (a measure of checkpoint traffic)."""

    async def load(self, name: str) -> Any:
        """The value saved under ``name`` (a fresh copy); None when there is none."""
        text = self.values.get(name)
        return None if text is None else json.loads(text)

    async def save(self, name: str, value: Any) -> None:
        """Keep a copy of ``value`` under ``name``."""
        ensure_checkpoint_fits(name, value)
        self.values[name] = json.dumps(value, separators=(",", ":"), ensure_ascii=False)
        self.writes += 1

    async def clear(self, name: str) -> None:
        """Forget ``name``."""
        self.values.pop(name, None)
