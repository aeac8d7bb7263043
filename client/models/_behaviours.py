"""Sandbox behaviour: ``file_behaviour`` reports, their summary and the MITRE ATT&CK trees.

Field names follow VirusTotal's "Files Behaviour" reference (``processes_tree``,
``dns_lookups``, ``ip_traffic``, ``http_conversations``, ``mitre_attack_techniques``,
``verdicts``, ``has_pcap`` ...). The shape of ``behaviour_mitre_trees`` (``{sandbox:
{"tactics": [{"techniques": [{"signatures": [{"severity", "description"}]}]}]}}``) and the
``IMPACT_SEVERITY_*`` spelling in the summary's techniques are UNCONFIRMED in the reference
pages we could read: both severity spellings are accepted.
"""

from __future__ import annotations

from typing import Any

from pydantic import Field

from ._base import EpochDatetime, VTModel, VTObject

SEVERITY_ORDER = ("UNKNOWN", "INFO", "LOW", "MEDIUM", "HIGH")
"""ATT&CK signature severities, least to most severe."""


def normalise_severity(value: str | None) -> str:
    """``IMPACT_SEVERITY_HIGH`` or ``high`` -> ``HIGH``; anything unknown -> ``UNKNOWN``."""
    text = (value or "").upper().removeprefix("IMPACT_SEVERITY_")
    return text if text in SEVERITY_ORDER else "UNKNOWN"


class ProcessNode(VTModel):
    """One process in ``processes_tree``, with its children."""

    process_id: str | None = None
    name: str | None = None
    time_offset: int | None = None
    children: list[ProcessNode] = Field(default_factory=list)


class DNSLookup(VTModel):
    """A DNS resolution the sample made."""

    hostname: str
    resolved_ips: list[str] = Field(default_factory=list)


class IPTraffic(VTModel):
    """A connection the sample opened."""

    destination_ip: str
    destination_port: int | None = None
    transport_layer_protocol: str | None = None


class HTTPConversation(VTModel):
    """An HTTP request the sample made."""

    url: str
    request_method: str | None = None
    response_status_code: int | None = None


class RegistryValue(VTModel):
    """A registry key set, with its value."""

    key: str
    value: str | None = None


class DroppedFile(VTModel):
    """A file the sample dropped."""

    path: str | None = None
    sha256: str | None = None
    type: str | None = None


class BehaviourTechnique(VTModel):
    """An ATT&CK technique in a report's ``mitre_attack_techniques``."""

    id: str
    signature_description: str = ""
    severity: str = "UNKNOWN"
    refs: list[dict[str, Any]] = Field(default_factory=list)

    @property
    def level(self) -> str:
        """The severity as ``UNKNOWN``/``INFO``/``LOW``/``MEDIUM``/``HIGH``."""
        return normalise_severity(self.severity)


class BehaviourReport(VTModel):
    """Sections shared by a sandbox report and the summary of all of them."""

    processes_tree: list[ProcessNode] = Field(default_factory=list)
    processes_created: list[str] = Field(default_factory=list)
    processes_injected: list[str] = Field(default_factory=list)
    processes_killed: list[str] = Field(default_factory=list)
    command_executions: list[str] = Field(default_factory=list)
    files_opened: list[str] = Field(default_factory=list)
    files_written: list[str] = Field(default_factory=list)
    files_deleted: list[str] = Field(default_factory=list)
    files_dropped: list[DroppedFile] = Field(default_factory=list)
    registry_keys_opened: list[str] = Field(default_factory=list)
    registry_keys_set: list[RegistryValue] = Field(default_factory=list)
    registry_keys_deleted: list[str] = Field(default_factory=list)
    mutexes_created: list[str] = Field(default_factory=list)
    dns_lookups: list[DNSLookup] = Field(default_factory=list)
    ip_traffic: list[IPTraffic] = Field(default_factory=list)
    http_conversations: list[HTTPConversation] = Field(default_factory=list)
    mitre_attack_techniques: list[BehaviourTechnique] = Field(default_factory=list)
    verdicts: list[str] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)

    @property
    def network_indicators(self) -> dict[str, list[str]]:
        """Hosts, IPs and URLs contacted, deduplicated in first-seen order."""
        domains = list(dict.fromkeys(d.hostname for d in self.dns_lookups if d.hostname))
        ips = list(dict.fromkeys(t.destination_ip for t in self.ip_traffic if t.destination_ip))
        urls = list(dict.fromkeys(h.url for h in self.http_conversations if h.url))
        return {"domains": domains, "ip_addresses": ips, "urls": urls}


class BehaviourSummary(BehaviourReport):
    """``GET /files/{id}/behaviour_summary``: every sandbox's report merged."""


class FileBehaviourAttributes(BehaviourReport):
    """Attributes of one sandbox's ``file_behaviour`` report."""

    sandbox_name: str = ""
    analysis_date: EpochDatetime | None = None
    behash: str | None = None
    verdict_confidence: int | None = None
    has_html_report: bool = False
    has_evtx: bool = False
    has_pcap: bool = False
    has_memdump: bool = False


FileBehaviourObject = VTObject[FileBehaviourAttributes]
"""A ``file_behaviour`` (or ``private_file_behaviour``) object."""


class MitreSignature(VTModel):
    """A behaviour that made a sandbox attribute a technique."""

    severity: str = "UNKNOWN"
    description: str = ""


class MitreTechnique(VTModel):
    """A technique in a sandbox's tree."""

    id: str
    name: str = ""
    description: str = ""
    link: str | None = None
    signatures: list[MitreSignature] = Field(default_factory=list)

    @property
    def level(self) -> str:
        """The highest severity of its signatures."""
        levels = [normalise_severity(s.severity) for s in self.signatures] or ["UNKNOWN"]
        return max(levels, key=SEVERITY_ORDER.index)


class MitreTactic(VTModel):
    """A tactic in a sandbox's tree, with the techniques seen under it."""

    id: str
    name: str = ""
    description: str = ""
    link: str | None = None
    techniques: list[MitreTechnique] = Field(default_factory=list)


class SandboxMitreTree(VTModel):
    """One sandbox's ATT&CK tree."""

    tactics: list[MitreTactic] = Field(default_factory=list)


class MitreTrees(VTModel):
    """``GET /files/{id}/behaviour_mitre_trees``: the ATT&CK tree of each sandbox."""

    sandboxes: dict[str, SandboxMitreTree] = Field(default_factory=dict)
