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
from ._graph import (
    VERDICT_SEVERITY,
    GraphEdge,
    GraphGap,
    GraphNode,
    IOCGraph,
    LevelSummary,
    NodeRef,
    NodeStatus,
    NodeVerdict,
    TruncatedRelationship,
    node_key,
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
    "VERDICT_SEVERITY",
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
    "GraphEdge",
    "GraphGap",
    "GraphNode",
    "IOCGraph",
    "IPAddressAttributes",
    "IPAddressObject",
    "LevelSummary",
    "ListMeta",
    "LookupResult",
    "LookupStatus",
    "NodeRef",
    "NodeStatus",
    "NodeVerdict",
    "Relationship",
    "TruncatedRelationship",
    "URLAttributes",
    "URLObject",
    "VTModel",
    "VTObject",
    "Votes",
    "node_key",
]
