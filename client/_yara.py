"""YARA checked locally before it costs anything: compile with yara-python, count the rules.

A retrohunt job holds one of ten slots for hours and a livehunt ruleset runs on every new
file, so a typo must fail here, with the rule name and line, before any request is sent.
``yara-python`` is an optional dependency (the ``yara`` extra); without it the check raises
:class:`YaraUnavailableError` telling how to install it.
"""

from __future__ import annotations

import importlib
import logging
import re
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from ._errors import InvalidParameterError, VirusTotalError
from .models._hunting import YaraCheck

logger = logging.getLogger(__name__)

MAX_RULES_PER_JOB = 300
"""Documented limit of YARA rules in one retrohunt job."""

MAX_RULES_SOURCE_BYTES = 1024 * 1024
"""A sanity cap on the rules text (not documented by VirusTotal; 1 MiB is far above real use)."""

# Modules only VirusTotal's YARA has: rules importing them cannot compile locally.
_VT_ONLY_MODULES = frozenset({"vt"})
_RULE_DECLARATION = re.compile(
    r"^[ \t]*(?:(?:private|global)[ \t]+)*rule[ \t]+([A-Za-z_][A-Za-z0-9_]*)", re.MULTILINE
)
_IMPORT = re.compile(r'^[ \t]*import[ \t]+"([^"]+)"', re.MULTILINE)
_LINE = re.compile(r"line (\d+)")
_LINE_PREFIX = re.compile(r"^line \d+: ")
_BLOCK_COMMENT = re.compile(r"/\*.*?\*/", re.DOTALL)
_LINE_COMMENT = re.compile(r"//[^\n]*")

_INSTALL_HINT = (
    "yara-python is not installed, so the YARA rules cannot be checked locally. "
    "Install the extra: pip install 'prefect-virustotal[yara]' "
    "(or pass validate=False to send the rules unchecked)"
)


class YaraUnavailableError(VirusTotalError, ImportError):
    """yara-python cannot be imported; the message says how to install the ``yara`` extra."""

    def __init__(self) -> None:
        super().__init__(_INSTALL_HINT)


class YaraSyntaxError(InvalidParameterError):
    """The rules do not compile; no request was made.

    Attributes:
        line: the line of the error (1-based), when the compiler says it.
        rule_name: the rule declared at or before that line, when there is one.
        detail: the compiler's message.
    """

    def __init__(self, detail: str, line: int | None, rule_name: str | None) -> None:
        where = []
        if rule_name:
            where.append(f"in rule {rule_name!r}")
        if line is not None:
            where.append(f"at line {line}")
        super().__init__(f"YARA syntax error {' '.join(where) or 'in the rules'}: {detail}")
        self.detail = detail
        self.line = line
        self.rule_name = rule_name


@dataclass(frozen=True)
class _Declaration:
    name: str
    line: int


def _without_comments(source: str) -> str:
    """The source with comments blanked out, keeping line numbers."""

    def blank(match: re.Match[str]) -> str:
        return re.sub(r"[^\n]", " ", match.group(0))

    return _LINE_COMMENT.sub(blank, _BLOCK_COMMENT.sub(blank, source))


def _declarations(source: str) -> list[_Declaration]:
    """Rule declarations in source order, with the line each starts on."""
    text = _without_comments(source)
    return [
        _Declaration(m.group(1), text.count("\n", 0, m.start()) + 1) for m in _RULE_DECLARATION.finditer(text)
    ]


def _rule_at(declarations: list[_Declaration], line: int | None) -> str | None:
    if line is None:
        return None
    found = None
    for declaration in declarations:
        if declaration.line > line:
            break
        found = declaration.name
    return found


def load_yara() -> ModuleType:
    """Import yara-python.

    Raises:
        YaraUnavailableError: it is not installed (the message says how to install it).
    """
    try:
        return importlib.import_module("yara")
    except ImportError as exc:
        raise YaraUnavailableError() from exc


def check_yara_rules(rules: str, *, max_rules: int | None = MAX_RULES_PER_JOB) -> YaraCheck:
    """Compile YARA rules locally and enforce the rule-count limit.

    Includes are refused (a rule must not read files from the machine that checks it).
    Rules importing a module only VirusTotal has (``import "vt"``, common in livehunt)
    cannot compile locally: they get a structural check only (``compiled=False``).

    Args:
        rules: the YARA source.
        max_rules: most rules allowed (300 for a retrohunt job); None for no limit.

    Returns:
        The rule names, their number, and any compiler warnings.

    Raises:
        InvalidParameterError: empty rules, a NUL character, no rule declared, or more than
            ``max_rules``.
        YaraSyntaxError: the rules do not compile (with the rule name and line).
        YaraUnavailableError: yara-python is not installed.
    """
    if not isinstance(rules, str) or not rules.strip():
        raise InvalidParameterError("no YARA rules given")
    if len(rules.encode()) > MAX_RULES_SOURCE_BYTES:
        raise InvalidParameterError(f"the YARA source is larger than {MAX_RULES_SOURCE_BYTES} bytes")
    if "\x00" in rules:
        # The compiler takes a C string: it would fail with a bare ValueError.
        raise InvalidParameterError("the YARA source contains a NUL character")
    declarations = _declarations(rules)
    yara = load_yara()
    imports = set(_IMPORT.findall(_without_comments(rules)))
    compiled = not (imports & _VT_ONLY_MODULES)
    warnings: list[str] = []
    names = [d.name for d in declarations]
    if compiled:
        try:
            compiled_rules: Any = yara.compile(source=rules, includes=False, error_on_warning=False)
        except yara.SyntaxError as exc:
            detail = str(exc)
            match = _LINE.search(detail)
            line = int(match.group(1)) if match else None
            detail = _LINE_PREFIX.sub("", detail, count=1)
            raise YaraSyntaxError(detail, line, _rule_at(declarations, line)) from None
        except yara.Error as exc:
            raise YaraSyntaxError(str(exc), None, None) from None
        warnings = [str(w) for w in getattr(compiled_rules, "warnings", None) or []]
        names = [rule.identifier for rule in compiled_rules] or names
    else:
        logger.debug("rules import %s: structural check only", sorted(imports & _VT_ONLY_MODULES))
    if not names:
        raise InvalidParameterError("the YARA source declares no rule")
    if max_rules is not None and len(names) > max_rules:
        raise InvalidParameterError(f"{len(names)} YARA rules given; at most {max_rules} are allowed per job")
    return YaraCheck(rule_names=names, number_of_rules=len(names), compiled=compiled, warnings=warnings)
