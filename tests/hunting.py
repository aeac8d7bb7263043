"""Helpers for the hunting tests: YARA rules written to match exactly the world files expected."""

from __future__ import annotations

from prefect_virustotal.emulator import World


def campaign_marker(world: World, index: int = 0) -> str:
    """The marker string (``FAMILY-NN``) the payloads and droppers of one campaign embed."""
    clusters = sorted(
        {(o.cluster, o.family) for o in world.objects("file") if o.family and o.cluster is not None}
    )
    cluster, family = clusters[index]
    assert family is not None and cluster is not None
    return f"{family.upper()}-{cluster:02d}"


def files_containing(world: World, needle: str) -> set[str]:
    """SHA-256 of every world file whose bytes contain ``needle``."""
    raw = needle.encode()
    return {o.id for o in world.objects("file") if o.content is not None and raw in o.content}


def marker_rule(marker: str, name: str = "campaign_marker", tags: str = "") -> str:
    """A one-string YARA rule that matches files containing ``marker``."""
    tag_part = f" : {tags}" if tags else ""
    return f'rule {name}{tag_part}\n{{\n  strings:\n    $m = "{marker}"\n  condition:\n    $m\n}}\n'


BAD_RULES = """rule fine
{
  condition:
    true
}

rule broken
{
  strings:
    $a = "x"
  condition:
    $b
}
"""
"""Two rules; the second uses an undefined string (yara reports line 13, its closing brace)."""
