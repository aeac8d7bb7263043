"""Community comments and votes on files, URLs, domains and IP addresses.

``GET``/``POST /{collection}/{id}/comments`` and ``/{collection}/{id}/votes``. Adding a
comment or a vote is public and permanent: every VirusTotal user sees it under the key's
user name. The client adds only when told to; flows add only when a parameter says so.
"""

from __future__ import annotations

from typing import Any, Literal

from ._errors import InvalidParameterError, UnexpectedResponseError
from ._identifiers import IndicatorKind, parse_indicator
from ._lookups import _Area
from ._pagination import Paginator
from .models._base import VTObject
from .models._collections import CommentAttributes, CommentObject
from .models._community import VoteAttributes, VoteObject

VoteVerdict = Literal["malicious", "harmless"]
MAX_COMMENT_CHARS = 4096
"""Longest comment the client sends (a client-side bound; the service's own limit is UNCONFIRMED)."""


def _comment(raw: Any) -> CommentObject:
    return VTObject[CommentAttributes].model_validate(
        raw if "attributes" in raw else {**raw, "attributes": {}}
    )


def _vote(raw: Any) -> VoteObject:
    return VTObject[VoteAttributes].model_validate(raw if "attributes" in raw else {**raw, "attributes": {}})


class Community(_Area):
    """Comments and votes (reading is free of side effects; adding is public)."""

    @staticmethod
    def _path(indicator: str, kind: IndicatorKind | None, what: str) -> str:
        parsed = parse_indicator(indicator, kind)
        return f"/{parsed.collection}/{parsed.id}/{what}"

    def list_comments(
        self, indicator: str, *, kind: IndicatorKind | None = None, limit: int | None = None
    ) -> Paginator[CommentObject]:
        """Comments on an object, newest first (``GET /{collection}/{id}/comments``), lazily."""
        return self._client.paginate(self._path(indicator, kind, "comments"), _comment, limit=limit)

    def list_votes(
        self, indicator: str, *, kind: IndicatorKind | None = None, limit: int | None = None
    ) -> Paginator[VoteObject]:
        """Votes on an object (``GET /{collection}/{id}/votes``), lazily."""
        return self._client.paginate(self._path(indicator, kind, "votes"), _vote, limit=limit)

    async def add_comment(
        self, indicator: str, text: str, *, kind: IndicatorKind | None = None
    ) -> CommentObject:
        """Post a public comment (``POST /{collection}/{id}/comments``); ``#words`` become tags.

        Raises:
            InvalidParameterError: empty or longer than ``MAX_COMMENT_CHARS`` (no request).
        """
        path = self._path(indicator, kind, "comments")
        body_text = text.strip()
        if not body_text or len(body_text) > MAX_COMMENT_CHARS:
            raise InvalidParameterError(f"a comment is 1-{MAX_COMMENT_CHARS} characters")
        payload = {"data": {"type": "comment", "attributes": {"text": body_text}}}
        # Not idempotent: a repeated POST would publish the comment twice.
        body = await self._client.request_json("POST", path, json_body=payload, idempotent=False)
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise UnexpectedResponseError("InvalidResponse", f"{path}: no comment in the answer", 200)
        return _comment(body["data"])

    async def add_vote(
        self, indicator: str, verdict: VoteVerdict, *, kind: IndicatorKind | None = None
    ) -> VoteObject:
        """Cast a public vote (``POST /{collection}/{id}/votes``), ``malicious`` or ``harmless``.

        Raises:
            InvalidParameterError: another verdict (no request).
            AlreadyExistsError: this key already voted on the object (as the emulator answers; UNCONFIRMED).
        """
        if verdict not in ("malicious", "harmless"):
            raise InvalidParameterError('a vote is "malicious" or "harmless"')
        path = self._path(indicator, kind, "votes")
        payload = {"data": {"type": "vote", "attributes": {"verdict": verdict}}}
        body = await self._client.request_json("POST", path, json_body=payload, idempotent=False)
        if not isinstance(body, dict) or not isinstance(body.get("data"), dict):
            raise UnexpectedResponseError("InvalidResponse", f"{path}: no vote in the answer", 200)
        return _vote(body["data"])
