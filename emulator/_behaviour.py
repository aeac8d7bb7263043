"""Deterministic sandbox behaviour for the world's files and for uploaded ones.

A file's behaviour is rebuilt on demand from ``(world seed, sha256)`` and what the world knows
about the file, so it costs no memory and agrees with the relationships: the DNS lookups are the
file's ``contacted_domains`` (resolved to the IPs of their ``resolutions``), the IP traffic its
``contacted_ips`` and the HTTP conversations its ``contacted_urls``. Which sandboxes ran a file
follows its type (executables and scripts run; archives and text do not), and its nature sets
the ATT&CK techniques, their severities and the verdicts.

Shapes follow VirusTotal's reference: ``file_behaviour`` objects with id ``<sha256>_<sandbox
name>`` (the exact id format is UNCONFIRMED; it matches public examples), ``behaviour_summary``
as ``{"data": {...attributes}}`` and ``behaviour_mitre_trees`` as ``{"data": {<sandbox>:
{"tactics": [...]}}}``.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Any

from ._rng import seeded
from ._world import World, WorldObject

__all__ = [
    "REPORT_KINDS",
    "BehaviourSource",
    "Technique",
    "behaviours",
    "mitre_trees",
    "report_bytes",
    "summary",
]

#: Extra downloads of a behaviour report, and the attribute saying whether each exists.
REPORT_KINDS = {"html": "has_html_report", "evtx": "has_evtx", "pcap": "has_pcap", "memdump": "has_memdump"}


@dataclass(frozen=True)
class Technique:
    """One ATT&CK technique the emulator's sandboxes can observe."""

    id: str
    name: str
    tactic_id: str
    tactic: str
    signature: str


_CATALOGUE = (
    Technique("T1059.001", "PowerShell", "TA0002", "Execution", "Runs PowerShell with an encoded command"),
    Technique("T1059.003", "Windows Command Shell", "TA0002", "Execution", "Starts cmd.exe to run a batch"),
    Technique("T1204.002", "Malicious File", "TA0002", "Execution", "Document spawns a process"),
    Technique(
        "T1547.001",
        "Registry Run Keys / Startup Folder",
        "TA0003",
        "Persistence",
        "Writes itself to a Run key",
    ),
    Technique("T1055", "Process Injection", "TA0005", "Defense Evasion", "Writes into another process"),
    Technique(
        "T1497", "Virtualization/Sandbox Evasion", "TA0005", "Defense Evasion", "Checks for a virtual machine"
    ),
    Technique(
        "T1027", "Obfuscated Files or Information", "TA0005", "Defense Evasion", "Contains packed code"
    ),
    Technique("T1003", "OS Credential Dumping", "TA0006", "Credential Access", "Reads LSASS memory"),
    Technique("T1057", "Process Discovery", "TA0007", "Discovery", "Enumerates running processes"),
    Technique("T1486", "Data Encrypted for Impact", "TA0040", "Impact", "Encrypts many user files"),
)
_NETWORK = (
    Technique("T1071.001", "Web Protocols", "TA0011", "Command and Control", "Talks HTTP to a remote host"),
    Technique("T1105", "Ingress Tool Transfer", "TA0011", "Command and Control", "Downloads an executable"),
)
_BENIGN = (
    Technique("T1082", "System Information Discovery", "TA0007", "Discovery", "Reads the OS version"),
    Technique("T1012", "Query Registry", "TA0007", "Discovery", "Reads registry values"),
)
_SEVERITIES = ("INFO", "LOW", "MEDIUM", "HIGH")

_SANDBOXES = {
    "peexe": ("Zenbox", "VirusTotal Jujubox", "CAPE Sandbox"),
    "pedll": ("Zenbox", "CAPE Sandbox"),
    "elf": ("Zenbox Linux", "VirusTotal Box of Apples"),
    "doc": ("Zenbox", "VirusTotal Observer"),
    "pdf": ("VirusTotal Observer",),
    "javascript": ("Zenbox", "CAPE Sandbox"),
    "powershell": ("Zenbox", "CAPE Sandbox"),
}
_VERDICTS = {
    "malicious": (["MALWARE", "TROJAN"], 90),
    "suspicious": (["UNKNOWN_VERDICT"], 40),
    "clean": (["CLEAN"], 80),
    "undetected": (["CLEAN"], 50),
}
_DATE = 1767225600 - 3 * 86400


@dataclass(frozen=True)
class BehaviourSource:
    """What a file's behaviour is made from: its id, type, nature and network contacts."""

    sha256: str
    type_tag: str
    nature: str
    name: str
    domains: tuple[tuple[str, tuple[str, ...]], ...] = ()
    ips: tuple[str, ...] = ()
    urls: tuple[str, ...] = ()

    @classmethod
    def of(cls, world: World, obj: WorldObject) -> BehaviourSource:
        """The source of a world file: its contacts come from its relationships."""
        domains = []
        for _, domain in world.related("file", obj.id, "contacted_domains"):
            resolved = []
            for _, rid in world.related("domain", domain, "resolutions"):
                res = world.resolution(rid)
                if res is not None:
                    resolved.append(res.ip)
            domains.append((domain, tuple(resolved[:3])))
        ips = tuple(ip for _, ip in world.related("file", obj.id, "contacted_ips"))
        urls = []
        for _, uid in world.related("file", obj.id, "contacted_urls"):
            url = world.get("url", uid)
            if url is not None:
                urls.append(str(url.attributes["url"]))
        return cls(
            obj.id,
            str(obj.attributes.get("type_tag", "")),
            obj.nature,
            str(obj.attributes.get("meaningful_name") or obj.id[:12]),
            tuple(domains),
            ips,
            tuple(urls),
        )


def sandboxes(source: BehaviourSource) -> tuple[str, ...]:
    """The sandboxes that ran this file (none for archives, text and unknown types)."""
    names = _SANDBOXES.get(source.type_tag, ())
    if len(names) <= 1:
        return names
    rng = seeded(f"sandboxes:{source.sha256}")
    return tuple(sorted(rng.sample(names, rng.randint(1, len(names)))))


def _techniques(seed: int, source: BehaviourSource, sandbox: str) -> list[tuple[Technique, str]]:
    """``(technique, severity)`` pairs one sandbox observed (deterministic)."""
    rng = seeded(f"{seed}:behaviour:{source.sha256}:{sandbox}")
    network = bool(source.domains or source.ips or source.urls)
    if source.nature == "malicious":
        picked = rng.sample(_CATALOGUE, rng.randint(3, 5))
        if network:
            picked += list(_NETWORK)
        severities = [rng.choice(_SEVERITIES[1:]) for _ in picked]
        severities[0] = "HIGH"
    elif source.nature == "suspicious":
        picked = rng.sample(_CATALOGUE, rng.randint(1, 2)) + ([_NETWORK[0]] if network else [])
        severities = [rng.choice(_SEVERITIES[:3]) for _ in picked]
    else:
        picked = rng.sample(_BENIGN, rng.randint(1, 2))
        severities = ["INFO" for _ in picked]
    return list(zip(picked, severities, strict=True))


def _network(source: BehaviourSource) -> dict[str, Any]:
    return {
        "dns_lookups": [{"hostname": d, "resolved_ips": list(ips)} for d, ips in source.domains],
        "ip_traffic": [
            {"destination_ip": ip, "destination_port": 443, "transport_layer_protocol": "TCP"}
            for ip in source.ips
        ],
        "http_conversations": [
            {"url": url, "request_method": "GET", "response_status_code": 200} for url in source.urls
        ],
    }


def _report(seed: int, source: BehaviourSource, sandbox: str) -> dict[str, Any]:
    """The attributes of one sandbox's report."""
    rng = seeded(f"{seed}:report:{source.sha256}:{sandbox}")
    image = f"C:\\Users\\user\\AppData\\Local\\Temp\\{source.name}"
    pid = rng.randint(1000, 9000)
    bad = source.nature in ("malicious", "suspicious")
    children = [{"process_id": str(pid + 4), "name": "C:\\Windows\\System32\\cmd.exe", "children": []}]
    verdicts, confidence = _VERDICTS.get(source.nature, (["CLEAN"], 50))
    techniques = _techniques(seed, source, sandbox)
    attrs: dict[str, Any] = {
        "sandbox_name": sandbox,
        "analysis_date": _DATE + rng.randint(0, 86400),
        "behash": hashlib.md5(f"{source.sha256}:{sandbox}".encode()).hexdigest(),  # noqa: S324 - an id
        "processes_tree": [{"process_id": str(pid), "name": image, "children": children if bad else []}],
        "processes_created": [image] + (["C:\\Windows\\System32\\cmd.exe"] if bad else []),
        "command_executions": [f'"{image}"'] + (["cmd.exe /c ping -n 5 127.0.0.1"] if bad else []),
        "files_written": [f"C:\\Users\\user\\AppData\\Roaming\\{source.sha256[:8]}.dat"] if bad else [],
        "files_deleted": [image] if source.nature == "malicious" else [],
        "registry_keys_set": (
            [
                {
                    "key": "HKCU\\Software\\Microsoft\\Windows\\CurrentVersion\\Run\\updater",
                    "value": image,
                }
            ]
            if bad
            else []
        ),
        "mutexes_created": [f"Global\\{source.sha256[:16]}"] if bad else [],
        **_network(source),
        "mitre_attack_techniques": [
            {"id": t.id, "signature_description": t.signature, "severity": f"IMPACT_SEVERITY_{sev}"}
            for t, sev in techniques
        ],
        "verdicts": verdicts,
        "verdict_confidence": confidence,
        "tags": ["DETECT_DEBUG_ENVIRONMENT"] if source.nature == "malicious" else [],
        "has_html_report": True,
        "has_evtx": sandbox.startswith("Zenbox"),
        "has_pcap": bool(source.domains or source.ips or source.urls),
        "has_memdump": sandbox == "CAPE Sandbox",
    }
    return attrs


def behaviours(seed: int, source: BehaviourSource) -> list[tuple[str, dict[str, Any]]]:
    """``(file_behaviour id, attributes)`` for each sandbox that ran the file."""
    return [(f"{source.sha256}_{name}", _report(seed, source, name)) for name in sandboxes(source)]


_PER_SANDBOX_ONLY = ("sandbox_name", "analysis_date", "behash", "has_html_report", "has_evtx", "has_pcap")


def summary(seed: int, source: BehaviourSource) -> dict[str, Any]:
    """All sandbox reports merged (lists joined without duplicates; per-sandbox fields dropped)."""
    merged: dict[str, Any] = {}
    for _, attrs in behaviours(seed, source):
        for key, value in attrs.items():
            if key in _PER_SANDBOX_ONLY or key in ("has_memdump", "verdict_confidence"):
                continue
            if isinstance(value, list):
                bucket = merged.setdefault(key, [])
                for item in value:
                    if item not in bucket:
                        bucket.append(item)
    return merged


def mitre_trees(seed: int, source: BehaviourSource) -> dict[str, Any]:
    """``{sandbox: {"tactics": [{id, name, link, techniques: [{..., signatures}]}]}}``."""
    trees: dict[str, Any] = {}
    for sandbox in sandboxes(source):
        tactics: dict[str, dict[str, Any]] = {}
        for technique, severity in _techniques(seed, source, sandbox):
            tactic = tactics.setdefault(
                technique.tactic_id,
                {
                    "id": technique.tactic_id,
                    "name": technique.tactic,
                    "description": "",
                    "link": f"https://attack.mitre.org/tactics/{technique.tactic_id}/",
                    "techniques": [],
                },
            )
            tactic["techniques"].append(
                {
                    "id": technique.id,
                    "name": technique.name,
                    "description": "",
                    "link": f"https://attack.mitre.org/techniques/{technique.id.replace('.', '/')}/",
                    "signatures": [{"severity": severity, "description": technique.signature}],
                }
            )
        trees[sandbox] = {"tactics": list(tactics.values())}
    return trees


def report_bytes(behaviour_id: str, kind: str) -> bytes:
    """The (fictional) bytes of one report download; deterministic per id and kind."""
    if kind == "html":
        return f"<html><body><h1>Emulated sandbox report</h1><p>{behaviour_id}</p></body></html>".encode()
    if kind == "pcap":
        # A pcap global header (little-endian, version 2.4, Ethernet) and no packets.
        return bytes.fromhex("d4c3b2a1020004000000000000000000ffff000001000000")
    filler = hashlib.sha256(f"{behaviour_id}:{kind}".encode()).digest()
    head = b"ElfFile\x00" if kind == "evtx" else b"MDMP"
    return head + filler * 8
