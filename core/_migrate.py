"""The migration scanner: find VirusTotal API v2 usage in scripts and playbooks.

It reads Python, shell, PowerShell, YAML and JSON files (and any other text file named on the
command line) line by line and reports, with file and line:

- ``endpoint``: a v2 URL (``/vtapi/v2/file/report``), or a v2 path (``'/file/report'``) in a file
  that names the v2 base URL, with its v3 equivalent and the pack's task or flow;
- ``base-url``: the v2 base URL on its own (``https://www.virustotal.com/vtapi/v2``);
- ``apikey-parameter``: the key sent as an ``apikey`` query parameter (anywhere), or as a form
  or params entry (``'apikey': key``, ``apikey:`` in YAML) in a file that names the v2 base
  URL; v3 wants the ``x-apikey`` header, which proxies and logs do not record;
- ``field``: a read of a v2-only answer field (``response_code``, ``positives``, ``scans``,
  ``permalink``, ``verbose_msg``, ``scan_date``);
- ``status``: a test of HTTP 204, v2's "quota spent" answer (v3 answers 429), in a file that
  names the v2 base URL;
- ``api-key``: a literal API key in the file. The key itself is never kept: the finding holds
  a mask and a short fingerprint, so two findings of the same key can be matched up.

Limits: a v2 base URL built at run time (read from a config file the scan is not given) hides
the file's v2 paths; scan the config file too.

Nothing here sends a request or imports Prefect. Bad input (a missing path, a special file such
as a FIFO or a device, an unreadable or oversized file) raises :class:`MigrationInputError`
before any file is read, so a caller can exit 2 without a partial report.
"""

from __future__ import annotations

import hashlib
import os
import re
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, Field

from prefect_virustotal.client import InvalidParameterError

from ._v2map import V2_ENDPOINTS, V2_FIELDS, V2_PREFIX, V2_QUOTA_STATUS, v2_endpoint, v2_field

MAX_SCAN_BYTES = 5_000_000
"""Largest file the scanner reads; a larger one is bad input (scripts are small)."""

SCANNED_SUFFIXES = frozenset(
    {".py", ".sh", ".bash", ".zsh", ".ps1", ".psm1", ".yml", ".yaml", ".json", ".txt", ".cfg", ".ini"}
)
"""Suffixes read when a directory is scanned (a file named explicitly is read whatever its name)."""

SKIPPED_DIRECTORIES = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", "build", "dist"}
)
"""Folders a directory walk does not enter: version control, virtual environments, caches, build output."""

FindingKind = Literal["endpoint", "base-url", "apikey-parameter", "field", "status", "api-key"]


class MigrationInputError(InvalidParameterError):
    """A path the scanner refuses: missing, special, unreadable or too large (no request made)."""


class MigrationFinding(BaseModel):
    """One place where a script uses API v2."""

    path: str
    line: int
    kind: FindingKind
    v2: str = Field(description="The v2 call, parameter, field or (masked) key found.")
    v3: str = Field(description="What replaces it in v3.")
    pack: str | None = Field(default=None, description="The pack's task or flow that does it.")
    note: str = ""

    def text(self) -> str:
        """``path:line: kind: v2 -> v3 [pack]`` for people."""
        pack = f" [pack: {self.pack}]" if self.pack else ""
        note = f" ({self.note})" if self.note else ""
        return f"{self.path}:{self.line}: {self.kind}: {self.v2} -> {self.v3}{pack}{note}"


class MigrationReport(BaseModel):
    """Every finding in a set of files, in file then line order."""

    files: list[str] = Field(default_factory=list, description="The files read.")
    findings: list[MigrationFinding] = Field(default_factory=list)

    @property
    def clean(self) -> bool:
        """True when nothing needs migrating."""
        return not self.findings

    def files_with_findings(self) -> list[str]:
        """The files that need work, in order."""
        return list(dict.fromkeys(f.path for f in self.findings))


# v2 URLs and paths. A path after the prefix is letters, digits, '-', '_' and '/'.
_V2_URL = re.compile(r"vtapi/v2(/[A-Za-z0-9_\-/]*)?", re.IGNORECASE)
# The key in a query string (?apikey= or &apikey=), wherever it is: a key in a URL is logged.
_APIKEY_QUERY = re.compile(r"[?&]apikey=", re.IGNORECASE)
# In a file that talks to v2, the key as a form or params entry too: 'apikey': ..., apikey: (YAML),
# -d apikey=, @{ apikey = ... }. Not x-apikey (the v3 header) nor a $apikey variable.
_APIKEY_PARAM = re.compile(r"""(?<![\w\-$])["']?apikey["']?\s*(=|:(?!:))""", re.IGNORECASE)
# status_code == 204, $r.StatusCode -eq 204, "status": 204: v2's quota answer.
_QUOTA_STATUS = re.compile(
    rf"status(?:_?code)?\W{{0,8}}(?:==|-eq|:|is|=)\s*{V2_QUOTA_STATUS}\b", re.IGNORECASE
)
# A VirusTotal key is 64 hex characters; a SHA-256 looks the same, so only a value bound to a
# key-like name counts: apikey=..., api_key = "...", x-apikey: ..., VT_API_KEY=...
_KEY_LITERAL = re.compile(
    r"""(?:api[_\-]?key|apikey|vt[_\-]?key|x-apikey)["']?\s*(?:=|:|,)?\s*\$?["']?([0-9a-fA-F]{64})(?![0-9a-fA-F])""",
    re.IGNORECASE,
)
_FIELD_NAMES = "|".join(re.escape(f.name) for f in V2_FIELDS if f.name not in {"total", "scan_id"})
# A field read as a quoted key (Python, JSON, jq strings), a dotted access (PowerShell, jq,
# Jinja) or a YAML/JSON key; bare words in prose are not reads.
_FIELD = re.compile(rf"""(?:["']({_FIELD_NAMES})["']|\.({_FIELD_NAMES})\b|^\s*-?\s*({_FIELD_NAMES})\s*:)""")


# In a file that names the v2 base URL, a v2 path on its own: base + '/file/report',
# "{{ vt_base }}/file/report", "path": "file/report". Longest first, so file/scan/upload_url
# wins over file/scan.
_PATH_NAMES = "|".join(
    re.escape(e.path) for e in sorted(V2_ENDPOINTS, key=lambda e: len(e.path), reverse=True)
)
_V2_PATH = re.compile(rf"""(?:(?<![\w.])/|["'`])({_PATH_NAMES})(?![\w\-])""")


def mask_key(key: str) -> str:
    """A key reduced to a mask and a fingerprint (first 8 hex of its SHA-256); never the key."""
    fingerprint = hashlib.sha256(key.encode()).hexdigest()[:8]
    return f"<{len(key)}-character key, masked; fingerprint sha256:{fingerprint}>"


def _check_file(path: Path, *, named: bool) -> bool:
    """True for a regular file to read; raise for bad input, False to skip in a directory walk."""
    try:
        info = path.stat()  # follows a symlink: what matters is what would be read
    except OSError as exc:
        raise MigrationInputError(f"{path}: {exc.strerror or 'cannot be read'}") from exc
    if stat.S_ISDIR(info.st_mode):
        return False
    if not stat.S_ISREG(info.st_mode):
        if named:
            raise MigrationInputError(f"{path}: not a regular file (FIFO, socket or device); refused")
        return False
    if info.st_size > MAX_SCAN_BYTES:
        raise MigrationInputError(f"{path}: {info.st_size} bytes, larger than {MAX_SCAN_BYTES}")
    if not os.access(path, os.R_OK):
        raise MigrationInputError(f"{path}: not readable")
    return True


def _walk(root: Path) -> list[Path]:
    """Files with a scanned suffix under ``root``; symlinked directories and the folders in
    :data:`SKIPPED_DIRECTORIES` are not entered, special files are skipped unread."""
    found: list[Path] = []
    for folder, subfolders, names in os.walk(root, followlinks=False):
        subfolders[:] = sorted(d for d in subfolders if d not in SKIPPED_DIRECTORIES)
        for name in sorted(names):
            child = Path(folder) / name
            if child.suffix.lower() in SCANNED_SUFFIXES and _check_file(child, named=False):
                found.append(child)
    return found


def collect_files(paths: Sequence[str | os.PathLike[str]]) -> list[Path]:
    """The files to read: named files as given, directories walked for known suffixes.

    Every path is checked before any file is read.

    Raises:
        MigrationInputError: no path, a missing path, a special file, an unreadable or
            oversized file.
    """
    if not paths:
        raise MigrationInputError("no path given")
    files: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise MigrationInputError(f"{path}: no such file or directory")
        if path.is_dir():
            files += _walk(path)
        elif _check_file(path, named=True):
            files.append(path)
    return list(dict.fromkeys(files))


def _read(path: Path) -> str:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_SCAN_BYTES + 1)
    except OSError as exc:
        raise MigrationInputError(f"{path}: {exc.strerror or 'cannot be read'}") from exc
    if len(data) > MAX_SCAN_BYTES:  # grew since it was checked
        raise MigrationInputError(f"{path}: larger than {MAX_SCAN_BYTES} bytes")
    # Scripts are text; a stray byte must not stop the scan (nor be echoed: lines are never printed).
    return data.decode("utf-8", errors="replace")


def _line_findings(name: str, number: int, line: str, *, v2_file: bool) -> Iterator[MigrationFinding]:
    for match in _V2_URL.finditer(line):
        tail = (match.group(1) or "").strip("/")
        endpoint = v2_endpoint(tail) if tail else None
        if endpoint is not None:
            yield MigrationFinding(
                path=name,
                line=number,
                kind="endpoint",
                v2=endpoint.v2_call,
                v3=endpoint.v3_call,
                pack=endpoint.pack,
                note=endpoint.note,
            )
        else:
            yield MigrationFinding(
                path=name,
                line=number,
                kind="base-url",
                v2=f"{V2_PREFIX}{tail}" if tail else V2_PREFIX,
                v3="https://www.virustotal.com/api/v3 (the pack's client: VirusTotalCredentials.get_client)",
                note="every path changes too; see the endpoint findings",
            )
    if v2_file and not _V2_URL.search(line):
        # Built from a base URL elsewhere in the file: base + '/file/report'.
        for match in _V2_PATH.finditer(line):
            endpoint = v2_endpoint(match.group(1))
            if endpoint is not None:
                yield MigrationFinding(
                    path=name,
                    line=number,
                    kind="endpoint",
                    v2=endpoint.v2_call,
                    v3=endpoint.v3_call,
                    pack=endpoint.pack,
                    note=endpoint.note,
                )
    if _APIKEY_QUERY.search(line) or (v2_file and _APIKEY_PARAM.search(line)):
        yield MigrationFinding(
            path=name,
            line=number,
            kind="apikey-parameter",
            v2="apikey query/form parameter",
            v3="x-apikey header",
            pack="blocks.VirusTotalCredentials (the key in a Prefect secret block)",
            note="a key in a URL ends up in proxy and server logs",
        )
    if v2_file and _QUOTA_STATUS.search(line):
        yield MigrationFinding(
            path=name,
            line=number,
            kind="status",
            v2=f"HTTP {V2_QUOTA_STATUS} (quota spent)",
            v3="HTTP 429 QuotaExceededError (the pack's client paces itself and raises it typed)",
            pack="client.QuotaExceededError",
            note="a v3 script that waits on 204 never sees its quota run out",
        )
    for match in _KEY_LITERAL.finditer(line):
        yield MigrationFinding(
            path=name,
            line=number,
            kind="api-key",
            v2=mask_key(match.group(1)),
            v3="a VirusTotalCredentials block (SecretStr) or the VT_API_KEY environment variable",
            pack="blocks.VirusTotalCredentials",
            note="a key committed in a file: rotate it",
        )
    seen: set[str] = set()
    for match in _FIELD.finditer(line):
        name_found = next(g for g in match.groups() if g)
        field = v2_field(name_found)
        if field is None or name_found in seen:
            continue
        seen.add(name_found)
        yield MigrationFinding(
            path=name, line=number, kind="field", v2=field.name, v3=field.v3, note=field.note
        )


def scan_text(name: str, text: str) -> list[MigrationFinding]:
    """The findings in one file's text; ``name`` is how the file is reported."""
    v2_file = _V2_URL.search(text) is not None
    findings: list[MigrationFinding] = []
    # Split on newlines only, so line numbers are the ones an editor shows (splitlines would
    # also split on form feeds and Unicode separators).
    for number, line in enumerate(text.split("\n"), start=1):
        findings.extend(_line_findings(name, number, line, v2_file=v2_file))
    return findings


def scan_paths(paths: Sequence[str | os.PathLike[str]]) -> MigrationReport:
    """Scan files and directories for API v2 usage.

    Args:
        paths: files (read whatever their suffix) and directories (walked for
            :data:`SCANNED_SUFFIXES`).

    Returns:
        The report: the files read and every finding, in file and line order.

    Raises:
        MigrationInputError: bad input, found before any file is read.
    """
    files = collect_files(paths)
    report = MigrationReport(files=[str(f) for f in files])
    for path in files:
        report.findings.extend(scan_text(str(path), _read(path)))
    return report


def render_markdown(report: MigrationReport) -> str:
    """The report as markdown: a summary, then one table row per finding.

    Cells hold only what the scanner derived (calls, fields, masked keys), never a line of the
    scanned file, so no key can reach the artifact.
    """
    lines = [
        "# VirusTotal API v2 migration report",
        "",
        f"{len(report.files)} file(s) read, {len(report.findings)} finding(s) in "
        f"{len(report.files_with_findings())} file(s).",
        "",
    ]
    if report.clean:
        lines.append("Nothing to migrate.")
        return "\n".join(lines) + "\n"
    lines += ["| file | line | kind | v2 | v3 | pack |", "|---|---|---|---|---|---|"]
    for f in report.findings:
        cells = [f.path, str(f.line), f.kind, f.v2, f.v3, f.pack or ""]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"
