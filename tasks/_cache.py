"""Cache policies that know who answered: the endpoint and the key (never the key itself)."""

from __future__ import annotations

import hashlib
from typing import Any

from prefect.cache_policies import CachePolicy
from prefect.context import TaskRunContext

from prefect_virustotal.core import target_identity


class TargetIdentity(CachePolicy):
    """A cache-key part from the ``credentials`` input: its API endpoint and a salted hash of
    its key (see ``core.target_identity``).

    Add it to an input policy that leaves the block out (``INPUTS - "credentials" +
    TargetIdentity()``): runs with another key, or against the emulator instead of the real
    API, then never share cached answers, while a block saved again under another name does.
    """

    def compute_key(
        self,
        task_ctx: TaskRunContext,
        inputs: dict[str, Any],
        flow_parameters: dict[str, Any],
        **kwargs: Any,
    ) -> str | None:
        credentials = inputs.get("credentials")
        key = getattr(credentials, "api_key", None)
        base_url = getattr(credentials, "base_url", None)
        if key is None or not isinstance(base_url, str):
            return None
        secret = key.get_secret_value() if hasattr(key, "get_secret_value") else str(key)
        return hashlib.sha256(target_identity(base_url, secret).encode()).hexdigest()
