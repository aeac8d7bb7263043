"""The credentials block: the API key and how to use it."""

from __future__ import annotations

import contextlib
import logging
import re
from collections.abc import AsyncIterator
from typing import Any, ClassVar, Literal

from prefect.blocks.core import Block
from pydantic import Field, HttpUrl, SecretStr, field_validator

from prefect_virustotal.client import (
    DEFAULT_BASE_URL,
    InvalidParameterError,
    RateLimiter,
    RetryPolicy,
    VirusTotalClient,
    shared_limiter,
)

from ._ratelimit import PrefectRateLimiter


def _no_schema_default(schema: dict[str, Any]) -> None:
    """Drop ``default`` from a field's JSON schema (the value itself keeps its default)."""
    schema.pop("default", None)


class VirusTotalCredentials(Block):
    """A VirusTotal API key, where to send it, and the quota that comes with it.

    The key is a secret: it is masked in the UI, in logs and in reprs, and only the
    client built by :meth:`get_client` ever reads it.

    Attributes:
        api_key: the VirusTotal API key.
        base_url: the API root; the emulator's URL for rehearsals.
        timeout: seconds per request phase.
        requests_per_minute: the key's minute quota (public keys: 4).
        burst: most requests sent back to back (defaults to the minute quota).
        daily_budget: most requests per UTC day from one process (public keys: 500).
        max_retries: retries of a failed request (see the client's retry policy).
        retry_initial_delay: the first backoff before a retry, in seconds (it doubles, with
            jitter, up to ``retry_max_delay``).
        retry_max_delay: the longest backoff between two retries, in seconds.
        retry_quota_delay: the wait before retrying a minute-quota 429 that carries no
            ``Retry-After`` (the minute window needs most of a minute to clear).
        rate_limit_name: the Prefect global concurrency limit that paces every client of
            this key on every worker (``deployments/setup.py`` creates it as
            ``virustotal-<block name>``); None paces per process only.
        daily_reserve: requests per UTC day kept back for incident response; work that
            would eat into them is refused (see ``ensure_daily_budget``).
        key_tier: ``public`` or ``premium``: with a public key, expansion skips the
            relationships VirusTotal keeps for VT Enterprise users (and says so).

    Example:
        Load a saved block and look a file up:

        ```python
        from prefect_virustotal.blocks import VirusTotalCredentials

        credentials = VirusTotalCredentials.load("BLOCK_NAME")

        async def lookup() -> None:
            async with credentials.get_client() as vt:
                report = await vt.files.get("44d88612fea8a8f36de82e1278abb02f")
        ```
    """

    _block_type_name: ClassVar[str] = "VirusTotal Credentials"
    _block_type_slug: ClassVar[str] = "virustotal-credentials"
    _description: ClassVar[str] = "A VirusTotal API v3 key with its endpoint and quota."
    # UNCONFIRMED: VirusTotal's own favicon path (no documented logo URL); shown by the UI only.
    _logo_url: ClassVar[HttpUrl] = HttpUrl("https://www.virustotal.com/gui/images/favicon.png")
    _documentation_url: ClassVar[HttpUrl] = HttpUrl("https://docs.virustotal.com/reference/overview")

    api_key: SecretStr = Field(description="The VirusTotal API key (sent only in the x-apikey header).")
    base_url: str = Field(
        default=DEFAULT_BASE_URL,
        description="The API root. Point it at the emulator (e.g. http://127.0.0.1:8080/api/v3) "
        "to rehearse without spending quota.",
    )
    timeout: float = Field(default=60.0, gt=0, description="Seconds allowed per request phase.")
    requests_per_minute: int = Field(
        default=4, ge=1, description="The key's per-minute quota; the client paces itself under it."
    )
    burst: int | None = Field(
        default=None, ge=1, description="Most requests sent back to back; defaults to the minute quota."
    )
    daily_budget: int | None = Field(
        default=500,
        ge=0,
        description="Most requests per UTC day from one process (a public key has 500); empty for "
        "no client-side cap.",
        # No default in the form's schema: Prefect's form shows a schema default in place of a
        # stored empty value, and saving the form would then write 500 over "no cap".
        json_schema_extra=_no_schema_default,
    )
    max_retries: int = Field(
        default=3, ge=0, le=10, description="Retries of a failed request (only where retrying is safe)."
    )
    retry_initial_delay: float = Field(
        default=1.0,
        gt=0,
        le=60,
        description="Seconds of the first backoff before a retry (doubles each time).",
    )
    retry_max_delay: float = Field(
        default=30.0, gt=0, le=600, description="The longest backoff between two retries, in seconds."
    )
    retry_quota_delay: float = Field(
        default=30.0,
        gt=0,
        le=600,
        description="Seconds to wait before retrying a minute-quota 429 that says nothing of when to retry.",
    )
    rate_limit_name: str | None = Field(
        default=None,
        description="Name of the Prefect global concurrency limit that carries this key's quota for "
        "every flow run on every worker (deployments/setup.py creates 'virustotal-<block name>'). "
        "When set, the limit must exist: a missing limit is an error. None paces per process only.",
    )
    daily_reserve: int | None = Field(
        default=None,
        ge=0,
        description="Requests per UTC day kept back for incident response: routine work that would "
        "eat into them is refused. None for no reserve (and no quota check).",
    )

    key_tier: Literal["public", "premium"] = Field(
        default="public",
        description="The key's licence: 'public' skips relationships VirusTotal keeps for VT Enterprise "
        "users (domains' downloaded_files and urls, IP addresses' downloaded_files) instead of spending "
        "requests on errors.",
    )

    @field_validator("base_url")
    @classmethod
    def _strip_slash(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError("base_url must be an http(s) URL")
        return value.rstrip("/")

    def limiter(self) -> RateLimiter:
        """The rate limiter: the shared Prefect limit when named, else this process's own."""
        if self.rate_limit_name:
            return PrefectRateLimiter(self.rate_limit_name, requests_per_minute=self.requests_per_minute)
        return shared_limiter(
            self.api_key.get_secret_value(),
            self.requests_per_minute,
            burst=self.burst,
            daily_budget=self.daily_budget,
        )

    def retry_policy(self) -> RetryPolicy:
        """How the clients of this block retry: the block's retry fields over the client's policy."""
        return RetryPolicy(
            max_retries=self.max_retries,
            initial_delay=self.retry_initial_delay,
            max_delay=self.retry_max_delay,
            quota_delay=self.retry_quota_delay,
        )

    @contextlib.asynccontextmanager
    async def get_client(self) -> AsyncIterator[VirusTotalClient]:
        """Build a client for one task run (a client belongs to one event loop).

        Example:
            ```python
            async with credentials.get_client() as vt:
                domain = await vt.domains.get("example.com")
            ```
        """
        client = VirusTotalClient(
            self.api_key,
            base_url=self.base_url,
            timeout=self.timeout,
            limiter=self.limiter(),
            retry=self.retry_policy(),
        )
        async with client:
            yield client


_API_KEY_SHAPE = re.compile(r"[0-9a-fA-F]{64}")


async def resolve_credentials(credentials: VirusTotalCredentials | str) -> VirusTotalCredentials:
    """A block instance as is, or the saved block of that name.

    A VirusTotal API key (64 hex characters) passed where a block name belongs is refused
    without being echoed: keys live in blocks, never in flow parameters.

    Raises:
        InvalidParameterError: the string looks like an API key.
        ValueError: no saved block has that name.
    """
    if isinstance(credentials, VirusTotalCredentials):
        return credentials
    if _API_KEY_SHAPE.fullmatch(credentials.strip()):
        await _scrub_flow_run_parameter(credentials)
        raise InvalidParameterError(
            "credentials looks like a VirusTotal API key, which must never be a flow parameter: "
            "save it in a VirusTotalCredentials block (VirusTotalCredentials(api_key=...).save('name')) "
            "and pass the block's name instead"
        )
    loaded = await VirusTotalCredentials.aload(credentials)
    assert isinstance(loaded, VirusTotalCredentials)
    return loaded


REFUSED_KEY_PARAMETER = "<refused: an API key given as a parameter>"


async def _scrub_flow_run_parameter(value: str) -> None:
    """Blank a refused key out of the current flow run's stored parameters.

    Prefect stores a flow run's parameters before the flow's body runs, so refusing the key
    is not enough: the stored copy is overwritten too (best effort; the refusal stands).
    """
    from prefect.client.orchestration import get_client
    from prefect.context import FlowRunContext

    context = FlowRunContext.get()
    run = context.flow_run if context is not None else None
    if run is None or not run.parameters:
        return
    parameters = {
        name: REFUSED_KEY_PARAMETER if isinstance(given, str) and given.strip() == value.strip() else given
        for name, given in run.parameters.items()
    }
    if parameters == run.parameters:
        return
    run.parameters = parameters
    try:
        async with get_client() as client:
            await client.update_flow_run(run.id, parameters=parameters)
    except Exception:
        logging.getLogger(__name__).warning("could not blank the refused key out of flow run %s", run.id)
