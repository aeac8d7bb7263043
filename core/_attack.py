"""A file's sandbox behaviour reduced to what a triage report needs.

The top ATT&CK techniques (id, name, tactic, severity, the sandboxes that saw them), the
sandbox verdicts, and the network indicators the sandboxes observed (DNS lookups, IP traffic,
HTTP requests), which an expansion can take as new seeds.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from prefect_virustotal.client import NotFoundError, VirusTotalClient
from prefect_virustotal.client.models import SEVERITY_ORDER, BehaviourSummary, MitreTrees, normalise_severity


class TechniqueRow(BaseModel):
    """One ATT&CK technique as a report shows it."""

    id: str
    name: str = ""
    tactic: str = ""
    severity: str = "UNKNOWN"
    sandboxes: list[str] = Field(default_factory=list)


class BehaviourProfile(BaseModel):
    """What the sandboxes made of one file."""

    sha256: str
    techniques: list[TechniqueRow] = Field(default_factory=list)
    verdicts: list[str] = Field(default_factory=list)
    sandboxes: list[str] = Field(default_factory=list)
    network: dict[str, list[str]] = Field(default_factory=dict)
    """``domains``, ``ip_addresses`` and ``urls`` contacted in the sandboxes."""

    @property
    def ran(self) -> bool:
        """Whether any sandbox ran the file."""
        return bool(self.sandboxes or self.techniques or self.verdicts)


def top_techniques(
    trees: MitreTrees, summary: BehaviourSummary | None = None, limit: int = 5
) -> list[TechniqueRow]:
    """Techniques by severity, then by how many sandboxes saw them, then by id; at most ``limit``."""
    rows: dict[str, TechniqueRow] = {}
    for sandbox, tree in sorted(trees.sandboxes.items()):
        for tactic in tree.tactics:
            for technique in tactic.techniques:
                row = rows.setdefault(technique.id, TechniqueRow(id=technique.id, name=technique.name))
                tactics = [t for t in row.tactic.split(", ") if t]
                if tactic.name and tactic.name not in tactics:
                    row.tactic = ", ".join([*tactics, tactic.name])
                if SEVERITY_ORDER.index(technique.level) > SEVERITY_ORDER.index(row.severity):
                    row.severity = technique.level
                if sandbox not in row.sandboxes:
                    row.sandboxes.append(sandbox)
    for seen in summary.mitre_attack_techniques if summary else ():
        row = rows.setdefault(seen.id, TechniqueRow(id=seen.id, name=seen.signature_description))
        if SEVERITY_ORDER.index(seen.level) > SEVERITY_ORDER.index(row.severity):
            row.severity = seen.level
    ranked = sorted(rows.values(), key=lambda r: (-SEVERITY_ORDER.index(r.severity), -len(r.sandboxes), r.id))
    return ranked[:limit]


async def behaviour_profile(vt: VirusTotalClient, file_hash: str, limit: int = 5) -> BehaviourProfile:
    """Read a file's behaviour summary and ATT&CK trees (two requests) and reduce them.

    A file VirusTotal does not know has an empty profile rather than an error: behaviour is
    extra context in a report, never a reason to fail it.
    """
    try:
        summary = await vt.behaviours.get_summary(file_hash)
        trees = await vt.behaviours.get_mitre_trees(file_hash)
    except NotFoundError:
        return BehaviourProfile(sha256=file_hash.lower())
    return BehaviourProfile(
        sha256=file_hash.lower(),
        techniques=top_techniques(trees, summary, limit),
        verdicts=list(summary.verdicts),
        sandboxes=sorted(trees.sandboxes),
        network=summary.network_indicators,
    )


def severity_label(value: str) -> str:
    """A severity as a report shows it (``HIGH``), whatever spelling the service used."""
    return normalise_severity(value)


def behaviour_markdown(profiles: dict[str, BehaviourProfile]) -> list[str]:
    """Report lines: per file, its sandbox verdicts, top techniques and (defanged) contacts."""
    from ._display import defang

    lines = ["## Sandbox behaviour (ATT&CK)", ""]
    ran = {sha: p for sha, p in profiles.items() if p.ran}
    if not ran:
        return [*lines, "No sandbox report for the malicious or suspicious files.", ""]
    for sha, profile in ran.items():
        verdicts = ", ".join(profile.verdicts) or "-"
        lines += [f"**`{sha}`**: sandbox verdicts {verdicts} ({', '.join(profile.sandboxes)})", ""]
        lines += ["| technique | name | tactic | severity |", "|---|---|---|---|"]
        lines += [f"| {t.id} | {t.name} | {t.tactic} | {t.severity} |" for t in profile.techniques]
        contacts = [defang(v) for values in profile.network.values() for v in values]
        if contacts:
            lines += ["", "Contacted in the sandbox: " + ", ".join(f"`{c}`" for c in contacts)]
        lines.append("")
    return lines


def behaviour_seeds(profiles: dict[str, BehaviourProfile]) -> list[str]:
    """The network indicators seen in the sandboxes, deduplicated, domains then IPs then URLs."""
    seeds: dict[str, None] = {}
    for kind in ("domains", "ip_addresses", "urls"):
        for profile in profiles.values():
            seeds.update(dict.fromkeys(profile.network.get(kind, [])))
    return list(seeds)
