"""Scanning state: upload tickets, the analysis lifecycle, private files and URLs, uploads.

Submissions become analyses that move ``queued -> in-progress -> completed`` on the emulator's
clock (``queued_seconds`` then ``running_seconds``, both configurable). A public upload becomes
a file of the world at once, so lookups, relationships and hunting see it; its verdict follows
its content: the EICAR test string or a campaign marker of the world (``<FAMILY>-<nn>``) makes
it malicious. Private files and URLs live here, apart from the world, and carry a threat
verdict, a severity and sandbox verdicts instead of engine results.

Uploads are read as a stream: :class:`MultipartReader` parses the multipart body chunk by chunk
and :class:`FileSink` hashes the file part incrementally, keeping only its first bytes, so a
650 MB upload never sits in memory.
"""

from __future__ import annotations

import base64
import hashlib
import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ._world import Analysis, Ref, World

__all__ = [
    "DIRECT_UPLOAD_LIMIT",
    "EICAR",
    "MAX_UPLOAD_SIZE",
    "FileSink",
    "MultipartError",
    "MultipartReader",
    "PrivateAnalysis",
    "PrivateItem",
    "ScanningState",
    "UploadTicket",
]

MIB = 1024 * 1024
#: ``POST /files`` takes up to 32 MB (read as MiB here, the tolerant side).
DIRECT_UPLOAD_LIMIT = 32 * MIB
#: An upload URL takes up to 650 MB.
MAX_UPLOAD_SIZE = 650 * MIB
#: Bytes of an upload kept as the world file's content (for hunting); the rest is only hashed.
KEEP_BYTES = 64 * 1024
EICAR = rb"X5O!P%@AP[4\PZX54(P^)7CC)7}$EICAR-STANDARD-ANTIVIRUS-TEST-FILE!$H+H*"
_DAY = 86400


class MultipartError(Exception):
    """The body is not the multipart form we expect."""


class TooLarge(Exception):  # noqa: N818 - mirrors HTTP's "Payload Too Large"
    """The file part went past the size allowed for this upload."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"file larger than {limit} bytes")
        self.limit = limit


class FileSink:
    """Receives a file part: hashes it, counts it, keeps its head, looks for markers."""

    def __init__(self, limit: int, markers: re.Pattern[bytes]) -> None:
        self.limit = limit
        self.size = 0
        self.head = bytearray()
        self._sha256 = hashlib.sha256()
        self._sha1 = hashlib.sha1()  # noqa: S324 - VT reports SHA-1s
        self._md5 = hashlib.md5()  # noqa: S324 - VT reports MD5s
        self._markers = markers
        self._tail = b""
        self.found: set[bytes] = set()

    def write(self, data: bytes) -> None:
        """Take the next bytes of the file."""
        self.size += len(data)
        if self.size > self.limit:
            raise TooLarge(self.limit)
        for digest in (self._sha256, self._sha1, self._md5):
            digest.update(data)
        if len(self.head) < KEEP_BYTES:
            self.head += data[: KEEP_BYTES - len(self.head)]
        window = self._tail + data
        self.found.update(m.group(0) for m in self._markers.finditer(window))
        self._tail = window[-len(EICAR) :]

    @property
    def digests(self) -> tuple[str, str, str]:
        """``(sha256, sha1, md5)`` of everything written."""
        return self._sha256.hexdigest(), self._sha1.hexdigest(), self._md5.hexdigest()


class MultipartReader:
    """A streaming ``multipart/form-data`` parser: feed chunks, file parts go to a sink.

    Small fields are kept (64 KB each at most); the part named ``file`` is written to the sink
    made by ``file_sink`` as it arrives, holding back only a delimiter's length of bytes.
    """

    _FIELD_LIMIT = 64 * 1024

    def __init__(self, content_type: str, file_sink: Callable[[], FileSink]) -> None:
        match = re.search(r'boundary="?([^";]+)"?', content_type)
        if not content_type.lower().startswith("multipart/form-data") or match is None:
            raise MultipartError("expected multipart/form-data with a boundary")
        self._delimiter = b"\r\n--" + match.group(1).encode("latin-1")
        self._buffer = b"\r\n"  # so the first boundary matches the delimiter too
        self._state = "preamble"
        self._make_sink = file_sink
        self._sink: FileSink | None = None
        self._name: str | None = None
        self._value = bytearray()
        self.fields: dict[str, str] = {}
        self.file: FileSink | None = None
        self.filename: str | None = None

    def feed(self, data: bytes) -> None:
        """Parse the next chunk of the body."""
        self._buffer += data
        while self._step():
            pass

    def close(self) -> None:
        """The body ended: it must have ended with the closing boundary."""
        if self._state != "done":
            raise MultipartError("the multipart body ended early")

    def _step(self) -> bool:
        buffer = self._buffer
        if self._state == "preamble":
            at = buffer.find(self._delimiter)
            if at < 0:
                self._buffer = buffer[-len(self._delimiter) :]
                return False
            self._buffer = buffer[at + len(self._delimiter) :]
            self._state = "after_boundary"
            return True
        if self._state == "after_boundary":
            if len(buffer) < 2:
                return False
            if buffer.startswith(b"--"):
                self._state, self._buffer = "done", b""
                return False
            self._state = "headers"
            return True
        if self._state == "headers":
            end = buffer.find(b"\r\n\r\n")
            if end < 0:
                if len(buffer) > 16 * 1024:
                    raise MultipartError("part headers too long")
                return False
            self._start_part(buffer[:end].decode("latin-1"))
            self._buffer = buffer[end + 4 :]
            self._state = "body"
            return True
        if self._state == "body":
            at = buffer.find(self._delimiter)
            if at < 0:
                keep = len(self._delimiter)
                if len(buffer) > keep:
                    self._write(buffer[:-keep])
                    self._buffer = buffer[-keep:]
                return False
            self._write(buffer[:at])
            self._end_part()
            self._buffer = buffer[at + len(self._delimiter) :]
            self._state = "after_boundary"
            return True
        return False

    def _start_part(self, headers: str) -> None:
        disposition = next(
            (line for line in headers.split("\r\n") if line.lower().startswith("content-disposition")), ""
        )
        name = re.search(r'\bname="([^"]*)"', disposition)
        filename = re.search(r'\bfilename="([^"]*)"', disposition)
        self._name = name.group(1) if name else None
        self._value = bytearray()
        if self._name == "file":
            self._sink = self._make_sink()
            self.file = self._sink
            self.filename = filename.group(1) if filename else None
        else:
            self._sink = None

    def _write(self, data: bytes) -> None:
        if not data:
            return
        if self._sink is not None:
            self._sink.write(data)
            return
        self._value += data
        if len(self._value) > self._FIELD_LIMIT:
            raise MultipartError(f"field {self._name!r} too long")

    def _end_part(self) -> None:
        if self._sink is None and self._name is not None:
            self.fields[self._name] = self._value.decode("utf-8", "replace")
        self._sink = None


@dataclass
class UploadTicket:
    """A one-time upload URL: for a public or private upload, valid until ``expires``."""

    token: str
    private: bool
    expires: float
    key: str
    used: bool = False


@dataclass
class PrivateAnalysis:
    """A private analysis: its item, lifecycle and the options it ran with."""

    id: str
    item: Ref
    date: int
    queued_until: float
    completed_at: float
    options: dict[str, str]

    def status(self, now: float) -> str:
        """queued, in-progress or completed at ``now``."""
        if now >= self.completed_at:
            return "completed"
        return "in-progress" if now >= self.queued_until else "queued"


@dataclass
class PrivateItem:
    """A privately scanned file or URL (``private_file`` / ``private_url``)."""

    kind: str
    id: str
    attributes: dict[str, Any]
    nature: str
    family: str | None
    created: int
    expiration: int
    last_analysis: str
    options: dict[str, str] = field(default_factory=dict)
    stored: bool = True


@dataclass
class _Pending:
    completed_at: float
    ref: Ref


class ScanningState:
    """Everything scanning adds to an emulator (the handle is ``Emulator.scanning``).

    Attributes:
        queued_seconds: how long a new analysis stays ``queued``.
        running_seconds: how long it then stays ``in-progress``.
        upload_url_ttl: seconds an upload URL stays valid (UNCONFIRMED; an hour here).
        stale_upload_urls: how many of the next upload URLs are handed out already expired
            (a test handle: "the URL expired between getting it and using it").
        uploads: file uploads received and accepted (public and private, direct or by URL).
        submissions: every accepted submission, ``(kind, private, analysis id)``, in order.
    """

    def __init__(self, queued_seconds: float = 5.0, running_seconds: float = 25.0) -> None:
        self.queued_seconds = queued_seconds
        self.running_seconds = running_seconds
        self.upload_url_ttl = 3600.0
        self.stale_upload_urls = 0
        self.uploads = 0
        self.submissions: list[tuple[str, bool, str]] = []
        self.tickets: dict[str, UploadTicket] = {}
        self.private_files: dict[str, PrivateItem] = {}
        self.private_urls: dict[str, PrivateItem] = {}
        self.private_analyses: dict[str, PrivateAnalysis] = {}
        self._pending: dict[str, _Pending] = {}
        self._serial = 0
        self._markers: re.Pattern[bytes] | None = None
        self._families: dict[bytes, str] = {}

    def set_durations(self, queued: float, running: float) -> None:
        """Set how long new analyses stay queued and in progress (seconds, emulator clock)."""
        if queued < 0 or running < 0:
            raise ValueError("durations must not be negative")
        self.queued_seconds, self.running_seconds = queued, running

    # ------------------------------------------------------------------------ tickets
    def ticket(self, private: bool, now: float, key: str) -> UploadTicket:
        """A new one-time upload ticket."""
        ttl = self.upload_url_ttl
        if self.stale_upload_urls > 0:
            self.stale_upload_urls -= 1
            ttl = 0.0
        ticket = UploadTicket(secrets.token_urlsafe(24), private, now + ttl, key)
        self.tickets[ticket.token] = ticket
        return ticket

    # ------------------------------------------------------------------------ content
    def markers(self, world: World) -> re.Pattern[bytes]:
        """EICAR and the world's campaign markers, as one pattern."""
        if self._markers is None:
            self._families = {f"{f.upper()}-".encode(): f for f in world.families}
            alternatives = [re.escape(EICAR), *(re.escape(m) + rb"\d\d" for m in self._families)]
            self._markers = re.compile(b"|".join(alternatives))
        return self._markers

    def judge(self, found: set[bytes]) -> tuple[str, str | None]:
        """``(nature, family)`` from the markers found in a file."""
        for marker in sorted(found):
            family = self._families.get(marker[:-2])
            if family is not None:
                return "malicious", family
        if EICAR in found:
            return "malicious", None
        return "undetected", None

    # ---------------------------------------------------------------------- analyses
    def _times(self, now: float) -> tuple[int, float, float]:
        return int(now), now + self.queued_seconds, now + self.queued_seconds + self.running_seconds

    def _unique(self, base: str, taken: Callable[[str], bool], sep: str) -> str:
        candidate = base
        while taken(candidate):
            self._serial += 1
            candidate = f"{base}{sep}{self._serial}"
        return candidate

    def public_analysis(self, world: World, ref: Ref, now: float) -> Analysis:
        """Register a new public analysis of a world file or URL and return it."""
        obj = world.get(*ref)
        assert obj is not None
        date, queued_until, completed_at = self._times(now)
        attrs = world.attributes(obj)
        if ref[0] == "url":
            analysis_id = self._unique(f"u-{obj.id}-{date}", lambda i: world.get_analysis(i) is not None, "-")
        else:
            raw = f"{attrs['md5']}:{date}"
            analysis_id = base64.b64encode(
                self._unique(
                    raw,
                    lambda r: world.get_analysis(base64.b64encode(r.encode()).decode()) is not None,
                    ":",
                ).encode()
            ).decode()
        analysis = Analysis(
            id=analysis_id,
            item=(obj.type, obj.id),
            date=date,
            status="queued",
            stats=dict(attrs["last_analysis_stats"]),
            results=attrs["last_analysis_results"],
            queued_until=queued_until,
            completed_at=completed_at,
        )
        world.add_analysis(analysis)
        self._pending[analysis_id] = _Pending(completed_at, (obj.type, obj.id))
        submitted = obj.attributes
        submitted["last_submission_date"] = date
        submitted["times_submitted"] = int(submitted.get("times_submitted", 0)) + 1
        self.submissions.append((ref[0], False, analysis_id))
        return analysis

    def settle(self, world: World, now: float) -> None:
        """Apply completed public analyses to their objects (``last_analysis_date``)."""
        for analysis_id, pending in list(self._pending.items()):
            if now >= pending.completed_at:
                obj = world.get(*pending.ref)
                if obj is not None:
                    obj.attributes["last_analysis_date"] = int(pending.completed_at)
                    obj.attributes["last_modification_date"] = int(pending.completed_at)
                del self._pending[analysis_id]

    def private_analysis(self, item: PrivateItem, now: float, options: dict[str, str]) -> PrivateAnalysis:
        """Register a new private analysis of a private item and return it."""
        date, queued_until, completed_at = self._times(now)
        self._serial += 1
        raw = f"{item.id}:{date}:{self._serial}"
        analysis = PrivateAnalysis(
            id=base64.b64encode(raw.encode()).decode(),
            item=(item.kind, item.id),
            date=date,
            queued_until=queued_until,
            completed_at=completed_at,
            options=dict(options),
        )
        self.private_analyses[analysis.id] = analysis
        item.last_analysis = analysis.id
        item.options = dict(options)
        self.submissions.append((item.kind, True, analysis.id))
        return analysis

    def expire(self, now: float) -> None:
        """Forget private items whose retention period is over."""
        for store in (self.private_files, self.private_urls):
            for key in [k for k, item in store.items() if now >= item.expiration]:
                del store[key]
