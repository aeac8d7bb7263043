"""Sandbox behaviour of files: summary, MITRE ATT&CK trees, per-sandbox reports and downloads.

Public: ``GET /files/{id}/behaviour_summary``, ``/files/{id}/behaviour_mitre_trees``,
``/files/{id}/behaviours``, ``GET /file_behaviours/{id}`` and its ``html``, ``evtx``, ``pcap``
and ``memdump``. Private scanning: ``/private/files/{sha256}/behaviour_summary``,
``/private/files/{sha256}/behaviours`` and ``/private/file_behaviours/{id}`` (+ downloads).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Literal

from ._errors import InvalidParameterError, UnexpectedResponseError
from ._identifiers import parse_file_hash
from ._lookups import _Area
from ._pagination import Paginator
from .models._base import VTObject
from .models._behaviours import BehaviourSummary, FileBehaviourAttributes, FileBehaviourObject, MitreTrees
from .models._downloads import DownloadedFile

ReportKind = Literal["html", "evtx", "pcap", "memdump"]
REPORT_KINDS: tuple[ReportKind, ...] = ("html", "evtx", "pcap", "memdump")

# ``<sha256>_<sandbox name>``; sandbox names hold letters, digits, spaces, dots and dashes.
_BEHAVIOUR_ID = re.compile(r"[0-9a-fA-F]{64}_[A-Za-z0-9 ._()-]{1,64}")


def parse_behaviour_id(value: str) -> str:
    """Check a ``file_behaviour`` id (``<sha256>_<sandbox>``) before it goes into a path."""
    candidate = value.strip()
    if not _BEHAVIOUR_ID.fullmatch(candidate):
        raise InvalidParameterError(f"invalid file behaviour id {value!r}: expected <sha256>_<sandbox name>")
    return candidate


def _parse_behaviour(raw: Any) -> FileBehaviourObject:
    if not isinstance(raw, dict) or "id" not in raw:
        raise UnexpectedResponseError("InvalidResponse", "a behaviour without an id", 200)
    payload = raw if "attributes" in raw else {**raw, "attributes": {}}
    return VTObject[FileBehaviourAttributes].model_validate(payload)


class Behaviours(_Area):
    """What files did in VirusTotal's sandboxes."""

    @staticmethod
    def _file_path(file_hash: str, private: bool) -> str:
        ident = parse_file_hash(file_hash)
        if private:
            if len(ident) != 64:
                raise InvalidParameterError("private files are named by their SHA-256")
            return f"/private/files/{ident}"
        return f"/files/{ident}"

    async def get_summary(self, file_hash: str, *, private: bool = False) -> BehaviourSummary:
        """Every sandbox's report merged (``GET /files/{id}/behaviour_summary``).

        A file no sandbox ran has an empty summary.

        Raises:
            InvalidIndicatorError: the hash is malformed (no request sent).
            NotFoundError: VirusTotal does not know the file.
        """
        path = self._file_path(file_hash, private) + "/behaviour_summary"
        body = await self._client.request_json("GET", path)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise UnexpectedResponseError("InvalidResponse", f"{path}: no data object in the answer", 200)
        return BehaviourSummary.model_validate(data)

    async def get_mitre_trees(self, file_hash: str) -> MitreTrees:
        """The ATT&CK tactics and techniques each sandbox saw (``GET /files/{id}/behaviour_mitre_trees``)."""
        path = self._file_path(file_hash, False) + "/behaviour_mitre_trees"
        body = await self._client.request_json("GET", path)
        data = body.get("data") if isinstance(body, dict) else None
        if not isinstance(data, dict):
            raise UnexpectedResponseError("InvalidResponse", f"{path}: no data object in the answer", 200)
        return MitreTrees.model_validate({"sandboxes": data})

    def list(
        self, file_hash: str, *, private: bool = False, limit: int | None = None
    ) -> Paginator[FileBehaviourObject]:
        """One ``file_behaviour`` report per sandbox (``GET /files/{id}/behaviours``), lazily."""
        path = self._file_path(file_hash, private) + "/behaviours"
        return self._client.paginate(path, _parse_behaviour, page_size=10, limit=limit)

    async def get(self, behaviour_id: str, *, private: bool = False) -> FileBehaviourObject:
        """One sandbox's report (``GET /file_behaviours/{id}``)."""
        ident = parse_behaviour_id(behaviour_id)
        prefix = "/private" if private else ""
        return await self._client.get_object(f"{prefix}/file_behaviours/{ident}", FileBehaviourAttributes)

    async def download_report(
        self, behaviour_id: str, kind: ReportKind, dest: str | Path, *, private: bool = False
    ) -> DownloadedFile:
        """Stream a report's ``html``, ``evtx``, ``pcap`` or ``memdump`` to ``dest`` (mode 0600).

        Raises:
            InvalidParameterError: unknown kind, malformed id, or ``dest`` exists (no request).
            NotFoundError: the report has no such download.
        """
        from ._downloads import free_destination, stream_to_file

        if kind not in REPORT_KINDS:
            raise InvalidParameterError(f"kind must be one of {', '.join(REPORT_KINDS)}")
        ident = parse_behaviour_id(behaviour_id)
        target = free_destination(dest)
        prefix = "/private" if private else ""
        return await stream_to_file(self._client, f"{prefix}/file_behaviours/{ident}/{kind}", target)
