"""Check a VirusTotal Intelligence query before it is sent, so a malformed one costs nothing.

The check is deliberately shallow: balanced quotes, braces and parentheses, no dangling
boolean operator, and modifier names (``name:value``) drawn from VirusTotal's documented
modifiers (a representative list, not the full one: the reference lists hundreds, engine names
included). ``strict_modifiers=False`` lets an unlisted modifier through for the service to judge.
"""

from __future__ import annotations

import re

from prefect_virustotal.client import InvalidParameterError

MAX_QUERY_CHARS = 4096
"""Longest query sent (a client-side bound)."""

# Files: identity, detections, submissions, content and structure; then URLs, domains and IP
# addresses; then engines commonly used as modifiers (engine:label).
_MODIFIER_WORDS = (
    "entity type name tag tags size p positives fs ls la engines content submissions sources "
    "submitter itw subspan md5 sha1 sha256 ssdeep tlsh vhash imphash authentihash "
    "rich_pe_header_hash main_icon_dhash similar-to behash metadata signature packer lang "
    "resource section exports imports creation_date generated comment comment_author "
    "collection have threat_label threat_category attack_tactic attack_technique "
    "crowdsourced_yara_rule crowdsourced_ids sigma_rule capa capability_tag androguard "
    "embedded_domain embedded_ip embedded_url contacted_ip contacted_domain contacted_url "
    "behaviour behaviour_network behaviour_files behaviour_processes behaviour_registry "
    "behaviour_services behaviour_signature behaviour_tags behaviour_tag "
    "behaviour_created_processes behaviour_injected_processes behaviour_command_executions "
    "sandbox_name cape zenbox "
    "url domain ip hostname path parent_domain registrar whois asn country net "
    "response_code title header_value jarm cert resolves_to "
    "microsoft kaspersky symantec sophos eset_nod32 bitdefender avast avg avira clamav "
    "mcafee trendmicro fortinet crowdstrike sentinelone"
)
KNOWN_MODIFIERS = frozenset(_MODIFIER_WORDS.split())
"""Modifier names the pre-check accepts."""

_MODIFIER = re.compile(r"(?<![\w./:-])(-?)([A-Za-z_][A-Za-z0-9_-]*):")
_QUOTED = re.compile(r'"[^"]*"|\{[^}]*\}')
_OPERATORS = ("AND", "OR", "NOT")


def check_query(query: str, *, strict_modifiers: bool = True) -> str:
    """Return ``query`` stripped, or raise if it is malformed (no request is made).

    Raises:
        InvalidParameterError: empty, too long, unbalanced, a dangling operator, or an
            unknown modifier (when ``strict_modifiers``); the message names the problem.
    """
    text = query.strip()
    if not text:
        raise InvalidParameterError("the search query is empty")
    if len(text) > MAX_QUERY_CHARS:
        raise InvalidParameterError(f"the search query is longer than {MAX_QUERY_CHARS} characters")
    if text.count('"') % 2:
        raise InvalidParameterError("the search query has an unbalanced double quote")
    bare = _QUOTED.sub(" ", text)
    if "{" in bare or "}" in bare:
        raise InvalidParameterError("the search query has an unbalanced brace")
    depth = 0
    for char in bare:
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth < 0:
            raise InvalidParameterError("the search query closes a parenthesis it never opened")
    if depth:
        raise InvalidParameterError("the search query leaves a parenthesis open")
    words = bare.replace("(", " ").replace(")", " ").split()
    if words and (words[-1].upper() in _OPERATORS or words[0].upper() in ("AND", "OR")):
        raise InvalidParameterError("the search query starts or ends with a boolean operator")
    if strict_modifiers:
        for _, name in _MODIFIER.findall(bare):
            if name.lower() in ("http", "https", "ftp", "hxxp", "hxxps"):  # a URL, not a modifier
                continue
            if name.lower() not in KNOWN_MODIFIERS:
                raise InvalidParameterError(
                    f"unknown search modifier {name!r} (pass strict_modifiers=False to send it anyway)"
                )
    return text
