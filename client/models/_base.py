"""The v3 envelopes: objects, descriptors, lists and errors."""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Annotated, Any, Generic, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer


def _from_epoch(value: Any) -> Any:
    """Epoch seconds (int, float or numeric string) to an aware UTC datetime."""
    if isinstance(value, bool):
        return value
    if isinstance(value, (int, float)):
        return datetime.fromtimestamp(value, tz=timezone.utc)
    if isinstance(value, str) and value.strip().lstrip("-").isdigit():
        return datetime.fromtimestamp(int(value), tz=timezone.utc)
    return value


EpochDatetime = Annotated[
    datetime,
    BeforeValidator(_from_epoch),
    PlainSerializer(lambda d: int(d.timestamp()), return_type=int, when_used="json"),
]
"""A v3 timestamp: integer UNIX seconds on the wire, an aware UTC ``datetime`` here."""


class VTModel(BaseModel):
    """Base of every model: VirusTotal adds fields all the time, so extra keys are kept."""

    model_config = ConfigDict(extra="allow", populate_by_name=True)


class ErrorBody(VTModel):
    """``error`` of the error envelope."""

    code: str
    message: str = ""


class Descriptor(VTModel):
    """An object reduced to its type and id (plus context attributes where relevant).

    ``error`` is set on an error stub: in a relationship list, an object VirusTotal no longer
    has comes as ``{"type", "id", "error": {...}}`` in place of the object.
    """

    type: str
    id: str
    context_attributes: dict[str, Any] | None = None
    error: ErrorBody | None = None

    @property
    def missing(self) -> bool:
        """True for an error stub: VirusTotal listed the object but no longer has it."""
        return self.error is not None


class Relationship(VTModel):
    """An embedded relationship (``?relationships=name``) on an object."""

    data: list[Descriptor] | Descriptor | None = None
    meta: dict[str, Any] | None = None
    links: dict[str, str] | None = None
    error: ErrorBody | None = None
    """Set when the service refused this relationship alone (e.g. one for VT Enterprise users)."""

    @property
    def items(self) -> list[Descriptor]:
        """The descriptors, whether the relationship is to-one or to-many."""
        if self.data is None:
            return []
        return self.data if isinstance(self.data, list) else [self.data]

    @property
    def count(self) -> int | None:
        """The total number of related objects when the service says it."""
        value = (self.meta or {}).get("count")
        return int(value) if isinstance(value, int) else None

    @property
    def cursor(self) -> str | None:
        """The cursor to the next page when the embedded list was truncated."""
        value = (self.meta or {}).get("cursor")
        return str(value) if value else None


AttributesT = TypeVar("AttributesT", bound=BaseModel)


class VTObject(VTModel, Generic[AttributesT]):
    """A v3 object: ``{"type", "id", "links", "attributes", "relationships"?, ...}``.

    ``meta`` holds the response's top-level ``meta`` for single-object answers
    (for analyses it names the analysed item: ``file_info`` or ``url_info``).
    """

    type: str
    id: str
    attributes: AttributesT
    links: dict[str, str] | None = None
    relationships: dict[str, Relationship] = Field(default_factory=dict)
    context_attributes: dict[str, Any] | None = None
    meta: dict[str, Any] | None = None
    error: ErrorBody | None = None
    """Set on an error stub (see :class:`Descriptor`); its attributes are then empty."""

    @property
    def missing(self) -> bool:
        """True for an error stub: VirusTotal listed the object but no longer has it."""
        return self.error is not None

    @property
    def self_link(self) -> str | None:
        """The object's API URL."""
        return (self.links or {}).get("self")


class GenericAttributes(VTModel):
    """Attributes of an object type the pack does not model field by field."""


class ListMeta(VTModel):
    """``meta`` of a list answer."""

    cursor: str | None = None
    count: int | None = None


class ErrorEnvelope(VTModel):
    """``{"error": {"code": ..., "message": ...}}``."""

    error: ErrorBody
