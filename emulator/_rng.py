"""The emulator's one source of randomness: seeded, for reproducibility rather than secrecy."""

from __future__ import annotations

import random

__all__ = ["seeded"]


def seeded(seed: int | str) -> random.Random:
    """A deterministic RNG (string seeds are hashed stably, independent of PYTHONHASHSEED)."""
    return random.Random(seed)  # noqa: S311 - determinism is the point; nothing here is secret
