"""Retrohunt jobs and livehunt rulesets, evaluated with real YARA over the world's file bytes.

**Retrohunt.** A job compiles its rules when it is created and runs them at once over the
corpus snapshot (the world's files; ``goodware`` keeps the clean ones), remembering where in the
scan order each match lies. What a client sees then depends only on the emulator's clock:
``starting`` for ``durations.queued + durations.starting`` seconds (the reference lists only
``starting``, ``running``, ``aborting``, ``aborted`` and ``finished``), ``running`` for
``durations.running`` (progress, ``scanned_bytes`` and ``num_matches`` grow linearly with the
scan), then ``finished``. An abort freezes the scan where it is: ``aborting`` for
``durations.aborting`` seconds, then ``aborted``, with the matches found so far. A user holds
at most ``MAX_CONCURRENT_JOBS`` unfinished jobs.

**Time range.** A file is in the range when it was seen in it (first submission at or before
``end``, last submission at or after ``start``). The world is small and dated before
``WORLD_NOW``, so an omitted ``start`` scans the whole world (VirusTotal: 90 days back, more for
higher licences); rendered ``time_range.start`` is then the oldest first submission.

**Livehunt.** Rulesets belong to the ``user_id`` of the key that created them. When a new file
enters the world (``World.add_file``: uploads and the test handle alike), every enabled file
ruleset runs over its bytes; each matching rule makes a hunting notification and its IoC Stream
entry (origin ``hunting``) in the emulator's ``NotificationStore``, at most ``limit`` per ruleset
per 24 hours (beyond it the ruleset is ``rate_limited``). Rules importing the VirusTotal-only
``vt`` module are stored but cannot run here, so they never match.

yara-python is imported lazily: without it the hunting routes answer 400 and livehunt is off.
"""

from __future__ import annotations

import fnmatch
import importlib
import itertools
import logging
import math
import re
import threading
from dataclasses import dataclass, field
from types import ModuleType
from typing import Any

from ._clock import EmulatorClock
from ._errors import ApiError
from ._notifications import NotificationStore
from ._world import World

__all__ = [
    "MAX_CONCURRENT_JOBS",
    "MAX_RULES_PER_JOB",
    "HuntingState",
    "RetrohuntDurations",
    "RetrohuntHit",
    "RetrohuntJob",
    "Ruleset",
]

logger = logging.getLogger(__name__)

MAX_CONCURRENT_JOBS = 10
MAX_RULES_PER_JOB = 300
RETROHUNT_ACTIVE = frozenset({"starting", "running", "aborting"})
#: As the reference spells them: ``ip``; ``ip_address`` is refused like any unknown value.
MATCH_OBJECT_TYPES = ("file", "url", "domain", "ip")
#: Default notifications per ruleset per 24 h (UNCONFIRMED: the docs name the field, not a default).
DEFAULT_RULESET_LIMIT = 100
_DAY = 86400
_COUNTRIES = ("US", "DE", "BR", "CN", "RU", "FR", "GB", "ES", "IN", "JP", "NL", "UA")
_VT_MODULE = re.compile(r'^[ \t]*import[ \t]+"vt"', re.MULTILINE)
_SNIPPET_CONTEXT = 16


def _load_yara() -> ModuleType:
    try:
        return importlib.import_module("yara")
    except ImportError:
        raise ApiError(
            "BadRequestError", "This emulator cannot run YARA: install yara-python (the 'yara' extra)"
        ) from None


@dataclass(frozen=True)
class Compiled:
    """Rules compiled by yara-python (``rules`` is None when they import ``vt``)."""

    rules: Any
    names: list[str]


def compile_rules(source: Any, max_rules: int | None = None) -> Compiled:
    """Compile YARA source; 400 ``InvalidArgumentError`` with the compiler's message if it fails."""
    if not isinstance(source, str) or not source.strip():
        raise ApiError("InvalidArgumentError", "rules must be a non-empty string of YARA rules")
    yara = _load_yara()
    if _VT_MODULE.search(source):
        # The vt module exists only at VirusTotal: store such rules, never run them here.
        names = re.findall(r"^[ \t]*(?:(?:private|global)[ \t]+)*rule[ \t]+(\w+)", source, re.MULTILINE)
        return Compiled(None, names)
    try:
        rules = yara.compile(source=source, includes=False)
    except yara.Error as exc:
        raise ApiError("InvalidArgumentError", f"Invalid YARA rules: {exc}") from None
    names = [rule.identifier for rule in rules]
    if max_rules is not None and len(names) > max_rules:
        raise ApiError(
            "InvalidArgumentError", f"Too many rules: {len(names)}; at most {max_rules} per retrohunt job"
        )
    return Compiled(rules, names)


def snippet(content: bytes, match: Any) -> str:
    """A hex snippet around the first string hit, the hit between highlight markers."""
    for string in getattr(match, "strings", []) or []:
        for instance in string.instances:
            begin, length = instance.offset, instance.matched_length
            before = content[max(0, begin - _SNIPPET_CONTEXT) : begin]
            hit = content[begin : begin + min(length, 64)]
            after = content[begin + length : begin + length + _SNIPPET_CONTEXT]
            parts = (before, "begin_highlight", hit, "end_highlight", after)
            lines = [p if isinstance(p, str) else p.hex(" ").upper() for p in parts]
            return "\n".join(line for line in lines if line)
    return ""


@dataclass
class RetrohuntDurations:
    """Seconds a job spends in each phase (on the emulator's clock)."""

    queued: float = 30.0
    starting: float = 30.0
    running: float = 600.0
    aborting: float = 10.0


@dataclass(frozen=True)
class RetrohuntHit:
    sha256: str
    position: int
    """Index in the scan order: visible once that many files are scanned."""
    rule_name: str
    snippet: str


@dataclass
class RetrohuntJob:
    """One retrohunt job: its request, its scan (done at creation) and its timeline."""

    id: str
    owner: str
    rules: str
    corpus: str
    notification_email: str | None
    time_range: dict[str, int]
    created: float
    durations: RetrohuntDurations
    sizes: list[int]
    """Bytes of each scanned file, in scan order."""
    hits: list[RetrohuntHit]
    outside: int
    """Matches on corpus files outside the time range."""
    abort_requested: float | None = None

    @property
    def _starts(self) -> float:
        return self.created + self.durations.queued

    @property
    def _runs(self) -> float:
        return self._starts + self.durations.starting

    @property
    def _ends(self) -> float:
        return self._runs + self.durations.running

    def status(self, now: float) -> str:
        """The status at ``now``."""
        if self.abort_requested is not None:
            return "aborting" if now < self.abort_requested + self.durations.aborting else "aborted"
        if now < self._runs:  # waiting in line is still "starting": no status is invented
            return "starting"
        if now < self._ends:
            return "running"
        return "finished"

    def _fraction(self, now: float) -> float:
        """How much of the corpus is scanned at ``now`` (frozen at the abort)."""
        moment = now if self.abort_requested is None else min(now, self.abort_requested)
        if moment < self._runs:
            return 0.0
        if self.durations.running <= 0 or moment >= self._ends:
            return 1.0
        return (moment - self._runs) / self.durations.running

    def scanned(self, now: float) -> int:
        """Files scanned so far."""
        return math.floor(self._fraction(now) * len(self.sizes))

    def visible_hits(self, now: float) -> list[RetrohuntHit]:
        """Matches among the files scanned so far."""
        done = self.scanned(now)
        return [hit for hit in self.hits if hit.position < done]

    def active(self, now: float) -> bool:
        """Whether the job still holds a slot."""
        return self.status(now) in RETROHUNT_ACTIVE

    def attributes(self, now: float) -> dict[str, Any]:
        """The job's attributes as a client sees them at ``now``."""
        status = self.status(now)
        fraction = self._fraction(now)
        done = self.scanned(now)
        start_date = int(self._starts) if min(now, self.abort_requested or now) >= self._starts else None
        finish_date: int | None = None
        eta: int | None = None
        if status == "finished":
            finish_date, eta = int(self._ends), 0
        elif status == "aborted":
            assert self.abort_requested is not None
            finish_date, eta = int(self.abort_requested + self.durations.aborting), 0
        elif status != "aborting":
            eta = max(0, math.ceil(self._ends - now))
        return {
            "rules": self.rules,
            "corpus": self.corpus,
            "notification_email": self.notification_email,
            "status": status,
            "progress": round(100.0 * fraction, 2),
            "num_matches": len(self.visible_hits(now)),
            "num_matches_outside_time_range": self.outside if status == "finished" else 0,
            "scanned_bytes": sum(self.sizes[:done]),
            "eta_seconds": eta,
            "creation_date": int(self.created),
            "start_date": start_date,
            "finish_date": finish_date,
            "time_range": dict(self.time_range),
        }


@dataclass
class Ruleset:
    """One livehunt ruleset."""

    id: str
    owner: str
    name: str
    rules: str
    compiled: Compiled
    enabled: bool
    limit: int
    notification_emails: list[str]
    match_object_type: str
    tags: list[str]
    creation_date: int
    modification_date: int
    rate_limited: bool = False
    notified: list[int] = field(default_factory=list)
    """Dates of the notifications made, for the 24-hour limit."""

    def attributes(self, now: float) -> dict[str, Any]:
        """The ruleset's attributes as a client sees them."""
        recent = [d for d in self.notified if d > now - _DAY]
        return {
            "name": self.name,
            "rules": self.rules,
            "enabled": self.enabled,
            "limit": self.limit,
            "notification_emails": list(self.notification_emails),
            "rule_names": list(self.compiled.names),
            "number_of_rules": len(self.compiled.names),
            "creation_date": self.creation_date,
            "modification_date": self.modification_date,
            "rate_limited": self.rate_limited,
            "rate_limited_ratio": round(min(1.0, len(recent) / self.limit), 3) if self.limit else 0.0,
            "scheduled_disable_date": None,
            "match_object_type": self.match_object_type,
            "tags": list(self.tags),
        }


class HuntingState:
    """Every retrohunt job and livehunt ruleset of one emulator.

    Args:
        world: Whose files are hunted; ``world.on_file_added`` triggers livehunt.
        clock: Drives every job's lifecycle.
        notifications: Where livehunt matches are written.
    """

    def __init__(self, world: World, clock: EmulatorClock, notifications: NotificationStore) -> None:
        self.world = world
        self.clock = clock
        self.notifications = notifications
        self.durations = RetrohuntDurations()
        """Phase durations for jobs created from now on; tests may replace it."""
        self.jobs: dict[str, RetrohuntJob] = {}
        self.rulesets: dict[str, Ruleset] = {}
        self._lock = threading.RLock()
        self._ruleset_ids = itertools.count(1)
        world.on_file_added(self.on_new_file)

    def now(self) -> float:
        """The emulator's time."""
        return self.clock.time()

    # ------------------------------------------------------------------------ retrohunt
    def active_jobs(self, owner: str) -> int:
        """Unfinished jobs of one user."""
        now = self.now()
        return sum(1 for job in self.jobs.values() if job.owner == owner and job.active(now))

    def create_job(
        self,
        owner: str,
        rules: str,
        *,
        corpus: str = "main",
        start: int | None = None,
        end: int | None = None,
        notification_email: str | None = None,
    ) -> RetrohuntJob:
        """Start a job (validates, compiles, scans the snapshot); raises ``ApiError`` like the API."""
        compiled = compile_rules(rules, MAX_RULES_PER_JOB)
        if corpus not in ("main", "goodware"):
            raise ApiError("InvalidArgumentError", f'corpus must be "main" or "goodware", got "{corpus}"')
        with self._lock:
            if self.active_jobs(owner) >= MAX_CONCURRENT_JOBS:
                # 403 ForbiddenError: the user may not start another job until one ends. Not 429,
                # because clients retry 429s (a retried create would queue behind its own slot
                # limit), and not 400: the request itself is well formed.
                raise ApiError(
                    "ForbiddenError",
                    f"You have reached the maximum of {MAX_CONCURRENT_JOBS} concurrent retrohunt jobs; "
                    "abort one or wait until one finishes",
                )
            now = self.now()
            files = [
                obj
                for obj in self.world.objects("file")
                if obj.content is not None and (corpus == "main" or obj.nature == "clean")
            ]
            resolved_end = int(now) if end is None else end
            if start is None:
                dates = [int(o.attributes.get("first_submission_date", 0)) for o in files]
                resolved_start = min(dates) if dates else int(now)
            else:
                resolved_start = start
            sizes: list[int] = []
            hits: list[RetrohuntHit] = []
            outside = 0
            for obj in files:
                assert obj.content is not None
                first = int(obj.attributes.get("first_submission_date", 0))
                last = int(obj.attributes.get("last_submission_date", first))
                in_range = first <= resolved_end and last >= resolved_start
                matches = [] if compiled.rules is None else compiled.rules.match(data=obj.content)
                if not in_range:
                    outside += 1 if matches else 0
                    continue
                if matches:
                    first_match = matches[0]
                    hits.append(
                        RetrohuntHit(obj.id, len(sizes), first_match.rule, snippet(obj.content, first_match))
                    )
                sizes.append(len(obj.content))
            job_id = f"{owner}-{int(now)}"
            suffix = itertools.count(2)
            while job_id in self.jobs:
                job_id = f"{owner}-{int(now)}-{next(suffix)}"
            job = RetrohuntJob(
                id=job_id,
                owner=owner,
                rules=rules,
                corpus=corpus,
                notification_email=notification_email,
                time_range={"start": resolved_start, "end": resolved_end},
                created=now,
                durations=RetrohuntDurations(**vars(self.durations)),
                sizes=sizes,
                hits=hits,
                outside=outside,
            )
            self.jobs[job_id] = job
            return job

    def job(self, owner: str, job_id: str) -> RetrohuntJob:
        """A job of this user; 404 otherwise (other users' jobs do not exist for it)."""
        job = self.jobs.get(job_id)
        if job is None or job.owner != owner:
            raise ApiError("NotFoundError", f'Retrohunt job "{job_id}" not found')
        return job

    def abort_job(self, owner: str, job_id: str) -> RetrohuntJob:
        """Abort a job; a no-op on a job that is finished, aborting or aborted."""
        with self._lock:
            job = self.job(owner, job_id)
            now = self.now()
            if job.abort_requested is None and job.status(now) in ("starting", "running"):
                job.abort_requested = now
            return job

    def delete_job(self, owner: str, job_id: str) -> None:
        """Delete a job (an unfinished one stops at once)."""
        with self._lock:
            self.job(owner, job_id)
            del self.jobs[job_id]

    def jobs_of(self, owner: str) -> list[RetrohuntJob]:
        """A user's jobs, newest first."""
        mine = [job for job in self.jobs.values() if job.owner == owner]
        return sorted(mine, key=lambda job: (-job.created, job.id))

    # ------------------------------------------------------------------------- livehunt
    def ruleset(self, owner: str, ruleset_id: str) -> Ruleset:
        """A ruleset of this user; 404 otherwise."""
        ruleset = self.rulesets.get(ruleset_id)
        if ruleset is None or ruleset.owner != owner:
            raise ApiError("NotFoundError", f'Hunting ruleset "{ruleset_id}" not found')
        return ruleset

    def create_ruleset(self, owner: str, attributes: dict[str, Any]) -> Ruleset:
        """Create a ruleset from request attributes (validated here)."""
        name = attributes.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ApiError("InvalidArgumentError", "A ruleset needs a name")
        compiled = compile_rules(attributes.get("rules"))
        now = int(self.now())
        with self._lock:
            ruleset = Ruleset(
                id=str(5_000_000_000 + next(self._ruleset_ids)),
                owner=owner,
                name=name.strip(),
                rules=str(attributes["rules"]),
                compiled=compiled,
                # Enabled unless told otherwise (the docs give no default; UNCONFIRMED).
                enabled=True,
                limit=DEFAULT_RULESET_LIMIT,
                notification_emails=[],
                match_object_type="file",
                tags=[],
                creation_date=now,
                modification_date=now,
            )
            self._apply(ruleset, {k: v for k, v in attributes.items() if k not in ("name", "rules")})
            self.rulesets[ruleset.id] = ruleset
            return ruleset

    def update_ruleset(self, owner: str, ruleset_id: str, attributes: dict[str, Any]) -> Ruleset:
        """Change the given attributes of a ruleset."""
        with self._lock:
            ruleset = self.ruleset(owner, ruleset_id)
            changes = dict(attributes)
            if "name" in changes:
                name = changes.pop("name")
                if not isinstance(name, str) or not name.strip():
                    raise ApiError("InvalidArgumentError", "A ruleset name must be a non-empty string")
                ruleset.name = name.strip()
            if "rules" in changes:
                rules = changes.pop("rules")
                ruleset.compiled = compile_rules(rules)
                ruleset.rules = str(rules)
            self._apply(ruleset, changes)
            ruleset.modification_date = int(self.now())
            return ruleset

    @staticmethod
    def _apply(ruleset: Ruleset, changes: dict[str, Any]) -> None:
        """Validate and set the optional attributes (read-only ones are ignored, as on the API)."""
        if "enabled" in changes:
            if not isinstance(changes["enabled"], bool):
                raise ApiError("InvalidArgumentError", "enabled must be a boolean")
            ruleset.enabled = changes["enabled"]
        if "limit" in changes:
            limit = changes["limit"]
            if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
                raise ApiError("InvalidArgumentError", "limit must be a positive integer")
            ruleset.limit = limit
        if "notification_emails" in changes:
            emails = changes["notification_emails"]
            emails = [emails] if isinstance(emails, str) else emails
            if not isinstance(emails, list) or not all(isinstance(e, str) and "@" in e for e in emails):
                raise ApiError("InvalidArgumentError", "notification_emails must be a list of addresses")
            ruleset.notification_emails = list(emails)
        if "match_object_type" in changes:
            kind = changes["match_object_type"]
            if kind not in MATCH_OBJECT_TYPES:
                raise ApiError("InvalidArgumentError", f'Invalid match_object_type "{kind}"')
            ruleset.match_object_type = kind
        if "tags" in changes:
            tags = changes["tags"]
            if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
                raise ApiError("InvalidArgumentError", "tags must be a list of strings")
            ruleset.tags = list(tags)

    def delete_ruleset(self, owner: str, ruleset_id: str) -> None:
        """Delete one ruleset."""
        with self._lock:
            self.ruleset(owner, ruleset_id)
            del self.rulesets[ruleset_id]

    def delete_rulesets(self, owner: str) -> int:
        """Delete every ruleset of a user; returns how many."""
        with self._lock:
            mine = [rid for rid, r in self.rulesets.items() if r.owner == owner]
            for rid in mine:
                del self.rulesets[rid]
            return len(mine)

    def rulesets_of(self, owner: str) -> list[Ruleset]:
        """A user's rulesets, in creation order."""
        return [r for r in self.rulesets.values() if r.owner == owner]

    def on_new_file(self, sha256: str) -> None:
        """Run every enabled file ruleset over a file that just entered the world."""
        candidates = [
            r
            for r in list(self.rulesets.values())
            if r.enabled and r.match_object_type == "file" and r.compiled.rules is not None
        ]
        if not candidates:
            return
        content = self.world.content(sha256)
        now = self.now()
        for ruleset in candidates:
            for match in ruleset.compiled.rules.match(data=content):
                self._notify(ruleset, sha256, content, match, now)

    def _notify(self, ruleset: Ruleset, sha256: str, content: bytes, match: Any, now: float) -> None:
        with self._lock:
            ruleset.notified = [d for d in ruleset.notified if d > now - _DAY]
            if len(ruleset.notified) >= ruleset.limit:
                ruleset.rate_limited = True
                logger.debug("ruleset %s is rate limited; %s not notified", ruleset.id, sha256)
                return
            ruleset.notified.append(int(now))
        digest = int(sha256[:8], 16)
        self.notifications.add_hunting(
            owner=ruleset.owner,
            date=int(now),
            sha256=sha256,
            ruleset_id=ruleset.id,
            ruleset_name=ruleset.name,
            rule_name=str(match.rule),
            rule_tags=[str(t) for t in match.tags],
            snippet=snippet(content, match),
            source_country=_COUNTRIES[digest % len(_COUNTRIES)],
            source_key=f"{digest:08x}",
        )


def ruleset_filter(rulesets: list[Ruleset], expression: str) -> list[Ruleset]:
    """Keep rulesets matching every ``key:value`` term (``name:foo*``, ``enabled:true``, ``tag:x``,
    ``rules:text``, ``match_object_type:file``); a bare word matches inside the name."""
    kept = list(rulesets)
    for term in expression.split():
        key, sep, value = term.partition(":")
        if not sep:
            kept = [r for r in kept if term.lower() in r.name.lower()]
        elif key == "name":
            pattern = value.lower() if any(c in value for c in "*?") else f"*{value.lower()}*"
            kept = [r for r in kept if fnmatch.fnmatchcase(r.name.lower(), pattern)]
        elif key == "enabled":
            if value.lower() not in ("true", "false"):
                raise ApiError("InvalidArgumentError", f'Invalid filter value "{term}"')
            kept = [r for r in kept if r.enabled == (value.lower() == "true")]
        elif key in ("tag", "tags"):
            kept = [r for r in kept if value in r.tags]
        elif key == "rules":
            kept = [r for r in kept if value.lower() in r.rules.lower()]
        elif key == "match_object_type":
            kept = [r for r in kept if r.match_object_type == value]
        else:
            raise ApiError("InvalidArgumentError", f'Unsupported filter "{key}"')
    return kept
