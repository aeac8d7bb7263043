"""``/intelligence/hunting_rulesets``: livehunt rulesets that run YARA on every new file."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError

from ._errors import InvalidIndicatorError, InvalidParameterError, UnexpectedResponseError
from ._lookups import _Area, relationship_params
from ._pagination import Paginator
from ._retrohunt import parse_emails
from ._yara import check_yara_rules
from .models import Descriptor, VTObject
from .models._hunting import HuntingRuleset, HuntingRulesetAttributes
from .models._registry import parse_descriptor

if TYPE_CHECKING:
    from ._core import WriteAttempt

_PATH = "/intelligence/hunting_rulesets"
_RULESET_ID = re.compile(r"[A-Za-z0-9_.\-]{1,200}")
_ORDER = re.compile(r"[a-z_]{1,64}[+-]?")
#: What a ruleset matches, as the reference spells it (create-hunting-ruleset: ``ip``, not
#: ``ip_address``, although the object type of an IP is ``ip_address``).
MATCH_OBJECT_TYPES: tuple[str, ...] = ("file", "url", "domain", "ip")
#: Spellings a caller may use for a value of MATCH_OBJECT_TYPES: the IP object's type name.
_MATCH_OBJECT_SYNONYMS = {"ip_address": "ip"}
_MAX_NAME = 256
_TAG = re.compile(r"[^\s,]{1,128}")
#: Rulesets read back after a creation whose answer was lost.
_READ_BACK_RULESETS = 20


def parse_ruleset_id(value: str) -> str:
    """Check that a ruleset id is a single path segment of safe characters."""
    candidate = value.strip() if isinstance(value, str) else ""
    if not _RULESET_ID.fullmatch(candidate):
        raise InvalidIndicatorError(str(value), "hunting ruleset id", "unexpected characters or length")
    return candidate


def parse_ruleset(raw: Any) -> HuntingRuleset:
    """Parse one ``hunting_ruleset`` object."""
    try:
        return VTObject[HuntingRulesetAttributes].model_validate(raw)
    except ValidationError as exc:
        raise UnexpectedResponseError("InvalidResponse", "malformed hunting_ruleset object", 200) from exc


def _ruleset_attributes(
    *,
    name: str | None,
    rules: str | None,
    enabled: bool | None,
    limit: int | None,
    notification_emails: Sequence[str] | str | None,
    match_object_type: str | None,
    tags: Sequence[str] | None,
    validate: bool,
) -> dict[str, Any]:
    """The attributes to send, each checked; only those given."""
    out: dict[str, Any] = {}
    if name is not None:
        if not name.strip() or len(name) > _MAX_NAME:
            raise InvalidParameterError(f"a ruleset name must be 1..{_MAX_NAME} characters")
        out["name"] = name.strip()
    if rules is not None:
        if validate:
            # Livehunt rulesets have no documented rule-count limit; only the syntax is checked.
            check_yara_rules(rules, max_rules=None)
        elif not rules.strip():
            raise InvalidParameterError("no YARA rules given")
        out["rules"] = rules
    if enabled is not None:
        if not isinstance(enabled, bool):
            raise InvalidParameterError("enabled must be True or False")
        out["enabled"] = enabled
    if limit is not None:
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise InvalidParameterError("limit (notifications per 24 h) must be a positive integer")
        out["limit"] = limit
    if notification_emails is not None:
        out["notification_emails"] = parse_emails(notification_emails)
    if match_object_type is not None:
        match_object_type = _MATCH_OBJECT_SYNONYMS.get(match_object_type, match_object_type)
        if match_object_type not in MATCH_OBJECT_TYPES:
            raise InvalidParameterError(
                f"match_object_type must be one of {', '.join(MATCH_OBJECT_TYPES)}, got {match_object_type!r}"
            )
        out["match_object_type"] = match_object_type
    if tags is not None:
        if isinstance(tags, str):
            raise InvalidParameterError("tags must be a list of strings")
        for tag in tags:
            if not isinstance(tag, str) or not _TAG.fullmatch(tag):
                raise InvalidParameterError(f"invalid tag {tag!r}")
        out["tags"] = list(dict.fromkeys(tags))
    return out


class Livehunt(_Area):
    """``/intelligence/hunting_rulesets``: list, create, get, update, delete, matched files.

    Rules are compiled locally (yara-python) before they are sent; rules importing the
    VirusTotal-only ``vt`` module get a structural check only.
    """

    def list(
        self,
        *,
        filter: str | None = None,
        order: str | None = None,
        page_size: int = 40,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[HuntingRuleset]:
        """The user's rulesets; ``filter`` like ``name:foo* enabled:true``, ``order`` like ``name+``."""
        params: dict[str, str] = {}
        if filter:
            params["filter"] = filter
        if order:
            if not _ORDER.fullmatch(order):
                raise InvalidParameterError(f"invalid order {order!r}; expected e.g. 'name+'")
            params["order"] = order
        return self._client.paginate(
            _PATH, parse_ruleset, params=params, page_size=page_size, limit=limit, cursor=cursor
        )

    async def create(
        self,
        name: str,
        rules: str,
        *,
        enabled: bool = True,
        limit: int | None = None,
        notification_emails: Sequence[str] | str | None = None,
        match_object_type: str | None = None,
        tags: Sequence[str] | None = None,
        validate: bool = True,
    ) -> HuntingRuleset:
        """Create a ruleset (``POST /intelligence/hunting_rulesets``).

        Raises:
            YaraSyntaxError: the rules do not compile (no request made).
            InvalidParameterError: a bad name, limit, address, object type or tag.
        """
        attributes = _ruleset_attributes(
            name=name,
            rules=rules,
            enabled=enabled,
            limit=limit,
            notification_emails=notification_emails,
            match_object_type=match_object_type,
            tags=tags,
            validate=validate,
        )
        body = {"data": {"type": "hunting_ruleset", "attributes": attributes}}
        # A repeated POST would create a second ruleset: sent again only when the first
        # certainly, or verifiably, did not create one.
        return await self._client.write(
            "POST",
            _PATH,
            parse=lambda answer: parse_ruleset((answer or {}).get("data")),
            read_back=lambda attempt: self.find_created(attempt, attributes["name"], attributes["rules"]),
            what=f"livehunt ruleset {attributes['name']!r}",
            json_body=body,
        )

    async def find_created(self, attempt: WriteAttempt, name: str, rules: str) -> HuntingRuleset | None:
        """The ruleset a creation whose answer was lost made, or None if it made none.

        The newest rulesets (``order=creation_date-``) with this name and these rules, created
        at or after the attempt in the service's time. The name is compared here, not in a
        ``filter``: a name with spaces or ``*`` would not survive the filter syntax.
        """
        found = await self.list(
            order="creation_date-", page_size=_READ_BACK_RULESETS, limit=_READ_BACK_RULESETS
        ).collect()
        since = attempt.began()
        for ruleset in found:
            attrs = ruleset.attributes
            created = attrs.creation_date.timestamp() if attrs.creation_date else None
            if attrs.name == name and attrs.rules == rules and created is not None and created >= since:
                return ruleset
        return None

    async def get(self, ruleset_id: str, *, relationships: Sequence[str] | None = None) -> HuntingRuleset:
        """One ruleset (``?relationships=owner,editors`` embeds those)."""
        ident = parse_ruleset_id(ruleset_id)
        return await self._client.get_object(
            f"{_PATH}/{ident}", HuntingRulesetAttributes, params=relationship_params(relationships)
        )

    async def update(
        self,
        ruleset_id: str,
        *,
        name: str | None = None,
        rules: str | None = None,
        enabled: bool | None = None,
        limit: int | None = None,
        notification_emails: Sequence[str] | str | None = None,
        match_object_type: str | None = None,
        tags: Sequence[str] | None = None,
        validate: bool = True,
    ) -> HuntingRuleset:
        """Change some attributes (``PATCH .../{id}``); only those given are sent.

        Raises:
            InvalidParameterError: nothing to change, or a bad value (no request made).
        """
        ident = parse_ruleset_id(ruleset_id)
        attributes = _ruleset_attributes(
            name=name,
            rules=rules,
            enabled=enabled,
            limit=limit,
            notification_emails=notification_emails,
            match_object_type=match_object_type,
            tags=tags,
            validate=validate,
        )
        if not attributes:
            raise InvalidParameterError("nothing to update")
        body = {"data": {"type": "hunting_ruleset", "id": ident, "attributes": attributes}}
        # Idempotent: the same PATCH twice leaves the same ruleset.
        answer = await self._client.request_json("PATCH", f"{_PATH}/{ident}", json_body=body, idempotent=True)
        data = (answer or {}).get("data") if isinstance(answer, dict) else None
        if isinstance(data, dict) and "attributes" in data:
            return parse_ruleset(data)
        return await self.get(ident)

    async def enable(self, ruleset_id: str) -> HuntingRuleset:
        """Turn a ruleset on."""
        return await self.update(ruleset_id, enabled=True)

    async def disable(self, ruleset_id: str) -> HuntingRuleset:
        """Turn a ruleset off (it keeps its rules and notifications)."""
        return await self.update(ruleset_id, enabled=False)

    async def rename(self, ruleset_id: str, name: str) -> HuntingRuleset:
        """Give a ruleset a new name."""
        return await self.update(ruleset_id, name=name)

    async def delete(self, ruleset_id: str) -> None:
        """Delete a ruleset (``DELETE .../{id}``)."""
        ident = parse_ruleset_id(ruleset_id)
        await self._client.request("DELETE", f"{_PATH}/{ident}")

    def list_matching_files(
        self,
        ruleset_id: str,
        *,
        page_size: int = 40,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[Descriptor]:
        """Files the ruleset notified about, as descriptors with the notification context
        (``GET .../{id}/relationships/hunting_notification_files``)."""
        ident = parse_ruleset_id(ruleset_id)
        return self._client.paginate(
            f"{_PATH}/{ident}/relationships/hunting_notification_files",
            parse_descriptor,
            page_size=page_size,
            limit=limit,
            cursor=cursor,
        )
