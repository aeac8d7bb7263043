"""The pack's own logic over the client, without Prefect.

Expansion engine and graph, alert checkpoint and listing state machines, submission planning,
collection diffing, verdict ranking, triage assembly, report rendering, VirusTotal page links and
defanged display live here (see DESIGN.md). This package imports `prefect_virustotal.client` and
well-kept libraries, never Prefect.
"""

from ._checkpoints import (
    CHECKPOINT_PREFIX,
    MAX_CHECKPOINT_BYTES,
    CheckpointStore,
    CheckpointTooLargeError,
    MemoryCheckpointStore,
    checkpoint_fits,
    checkpoint_name,
    checkpoint_size,
    ensure_checkpoint_fits,
)
from ._submission import submission_checkpoint

__all__ = [
    "CHECKPOINT_PREFIX",
    "MAX_CHECKPOINT_BYTES",
    "CheckpointStore",
    "CheckpointTooLargeError",
    "MemoryCheckpointStore",
    "checkpoint_fits",
    "checkpoint_name",
    "checkpoint_size",
    "ensure_checkpoint_fits",
    "submission_checkpoint",
]
