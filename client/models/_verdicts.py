"""The one ranking of verdicts, shared by the client's assessment and the pack's reports."""

from __future__ import annotations

VERDICT_SEVERITY: dict[str, int] = {"malicious": 3, "suspicious": 2, "unknown": 1, "clean": 0}
"""The one ranking of verdicts: higher is worse. Anything else (failed, invalid) ranks below
every verdict: use ``VERDICT_SEVERITY.get(value, -1)``."""
