"""Related objects of any object: full objects or descriptors, paged."""

from __future__ import annotations

from typing import Any

from ._errors import InvalidParameterError
from ._identifiers import parse_domain, parse_file_hash, parse_ip, parse_url_identifier
from ._lookups import _RELATIONSHIP_NAME, _Area
from ._pagination import Paginator
from .models import Descriptor, VTObject
from .models._registry import parse_descriptor, parse_object

ENTERPRISE_RELATIONSHIPS: dict[str, frozenset[str]] = {
    "domain": frozenset({"downloaded_files", "urls"}),
    "ip_address": frozenset({"downloaded_files"}),
}
"""Relationships the reference marks "VT Enterprise users only" (domain and IP address object
pages): a public key gets an error for them, so they are not worth a request."""

_ID_PARSERS = {
    "files": parse_file_hash,
    "urls": parse_url_identifier,
    "domains": parse_domain,
    "ip_addresses": parse_ip,
}


def object_path(collection: str, object_id: str) -> str:
    """``/{collection}/{id}`` with the id validated for the indicator collections."""
    parser = _ID_PARSERS.get(collection)
    if parser is None:
        raise InvalidParameterError(
            f"unknown collection {collection!r}; expected one of {', '.join(_ID_PARSERS)}"
        )
    return f"/{collection}/{parser(object_id)}"


def _check(relationship: str) -> str:
    if not _RELATIONSHIP_NAME.fullmatch(relationship):
        raise InvalidParameterError(f"invalid relationship name {relationship!r}")
    return relationship


class Relationships(_Area):
    """``/{collection}/{id}/{relationship}`` and ``.../relationships/{relationship}``."""

    def list_objects(
        self,
        collection: str,
        object_id: str,
        relationship: str,
        *,
        page_size: int = 40,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[VTObject[Any]]:
        """Related objects in full (each costs the same request as a descriptor page)."""
        path = f"{object_path(collection, object_id)}/{_check(relationship)}"
        return self._client.paginate(path, parse_object, page_size=page_size, limit=limit, cursor=cursor)

    def list_descriptors(
        self,
        collection: str,
        object_id: str,
        relationship: str,
        *,
        page_size: int = 40,
        limit: int | None = None,
        cursor: str | None = None,
    ) -> Paginator[Descriptor]:
        """Related objects as ``{type, id}`` descriptors."""
        path = f"{object_path(collection, object_id)}/relationships/{_check(relationship)}"
        return self._client.paginate(path, parse_descriptor, page_size=page_size, limit=limit, cursor=cursor)

    async def get_one(self, collection: str, object_id: str, relationship: str) -> VTObject[Any] | None:
        """A to-one relationship (``last_serving_ip_address``, ``parent``...), or None."""
        path = f"{object_path(collection, object_id)}/{_check(relationship)}"
        body = await self._client.request_json("GET", path)
        data = (body or {}).get("data")
        if data is None:
            return None
        if isinstance(data, list):
            return parse_object(data[0]) if data else None
        return parse_object(data)
