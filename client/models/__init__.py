"""Pydantic models of the v3 API, in one place.

Every model keeps unknown fields (``extra="allow"``) and turns epoch-second
timestamps into aware UTC datetimes, field by field.
"""

from ._base import (
    Descriptor,
    EpochDatetime,
    ErrorBody,
    ErrorEnvelope,
    GenericAttributes,
    ListMeta,
    Relationship,
    VTModel,
    VTObject,
)
from ._objects import (
    AnalysisAttributes,
    AnalysisObject,
    AnalysisStats,
    DomainAttributes,
    DomainObject,
    EngineResult,
    FileAttributes,
    FileObject,
    IPAddressAttributes,
    IPAddressObject,
    URLAttributes,
    URLObject,
    Votes,
)
from ._results import LookupResult, LookupStatus
from ._users import OverallQuotas, QuotaCount, QuotaPeriod

__all__ = [
    "AnalysisAttributes",
    "AnalysisObject",
    "AnalysisStats",
    "Descriptor",
    "DomainAttributes",
    "DomainObject",
    "EngineResult",
    "EpochDatetime",
    "ErrorBody",
    "ErrorEnvelope",
    "FileAttributes",
    "FileObject",
    "GenericAttributes",
    "IPAddressAttributes",
    "IPAddressObject",
    "ListMeta",
    "LookupResult",
    "LookupStatus",
    "OverallQuotas",
    "QuotaCount",
    "QuotaPeriod",
    "Relationship",
    "URLAttributes",
    "URLObject",
    "VTModel",
    "VTObject",
    "Votes",
]
