"""Submission planning: the identity of a submission, which names its checkpoint."""

from __future__ import annotations

import hashlib
import json

from prefect_virustotal.client.models import PrivateScanOptions

from ._checkpoints import checkpoint_name


def submission_checkpoint(
    kind: str, indicator: str, private: bool, options: PrivateScanOptions | None
) -> str:
    """The checkpoint name of a submission: a hash of its identity.

    The identity is ``(kind, sha256 or URL, private, sandbox options)``: the same file sent
    again with the same privacy and options resumes the same analysis; anything else is a
    new submission. One checkpoint per submission keeps each far below the size cap.
    """
    identity = {
        "kind": kind,
        "indicator": indicator,
        "private": private,
        "options": options.model_dump(exclude_none=True) if options else {},
    }
    digest = hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()
    return checkpoint_name("submit", digest[:40])
