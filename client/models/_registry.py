"""Pick the attribute model of an object by its ``type``."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ValidationError

from prefect_virustotal.client._errors import UnexpectedResponseError

from ._base import Descriptor, GenericAttributes, VTObject
from ._objects import (
    AnalysisAttributes,
    DomainAttributes,
    FileAttributes,
    IPAddressAttributes,
    URLAttributes,
)
from ._scanning import PrivateAnalysisAttributes, PrivateFileAttributes, PrivateURLAttributes

ATTRIBUTES_BY_TYPE: dict[str, type[BaseModel]] = {
    "file": FileAttributes,
    "url": URLAttributes,
    "domain": DomainAttributes,
    "ip_address": IPAddressAttributes,
    "analysis": AnalysisAttributes,
    "private_file": PrivateFileAttributes,
    "private_url": PrivateURLAttributes,
    "private_analysis": PrivateAnalysisAttributes,
}
"""Typed attributes per v3 object type; other types get ``GenericAttributes``."""


def parse_object(raw: Any) -> VTObject[Any]:
    """Parse one object of any type, typing its attributes when the type is known.

    Objects without ``attributes`` (descriptors in a mixed list) get empty generic ones;
    an error stub (``{"type", "id", "error"}``) is flagged ``missing``.
    """
    if not isinstance(raw, dict) or "type" not in raw or "id" not in raw:
        raise UnexpectedResponseError("InvalidResponse", "an object without type and id", 200)
    if isinstance(raw.get("error"), dict) and "attributes" not in raw:
        # An error stub in a relationship list: kept as such (``missing``), never given the
        # typed attributes' defaults, which would read as an object with a clean record.
        try:
            return VTObject[GenericAttributes].model_validate({**raw, "attributes": {}})
        except ValidationError as exc:
            raise UnexpectedResponseError("InvalidResponse", f"malformed {raw['type']} stub", 200) from exc
    model = ATTRIBUTES_BY_TYPE.get(str(raw["type"]), GenericAttributes)
    payload = raw if "attributes" in raw else {**raw, "attributes": {}}
    try:
        return VTObject[model].model_validate(payload)  # type: ignore[valid-type]
    except ValidationError:
        # A known type whose attributes do not fit the typed model: keep it, untyped.
        try:
            return VTObject[GenericAttributes].model_validate(payload)
        except ValidationError as exc:
            raise UnexpectedResponseError("InvalidResponse", f"malformed {raw['type']} object", 200) from exc


def parse_descriptor(raw: Any) -> Descriptor:
    """Parse ``{"type", "id", "context_attributes"?}``."""
    try:
        return Descriptor.model_validate(raw)
    except ValidationError as exc:
        raise UnexpectedResponseError("InvalidResponse", "malformed descriptor", 200) from exc
