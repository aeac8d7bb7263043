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
from ._hunting import (
    RETROHUNT_STATUSES,
    RETROHUNT_TERMINAL,
    HuntingRuleset,
    HuntingRulesetAttributes,
    MatchingFiles,
    RetrohuntJob,
    RetrohuntJobAttributes,
    RetrohuntTimeRange,
    RulesetFiles,
    YaraCheck,
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

__all__ = [
    "RETROHUNT_STATUSES",
    "RETROHUNT_TERMINAL",
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
    "HuntingRuleset",
    "HuntingRulesetAttributes",
    "IPAddressAttributes",
    "IPAddressObject",
    "ListMeta",
    "LookupResult",
    "LookupStatus",
    "MatchingFiles",
    "Relationship",
    "RetrohuntJob",
    "RetrohuntJobAttributes",
    "RetrohuntTimeRange",
    "RulesetFiles",
    "URLAttributes",
    "URLObject",
    "VTModel",
    "VTObject",
    "Votes",
    "YaraCheck",
]
