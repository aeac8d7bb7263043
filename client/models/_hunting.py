"""Retrohunt jobs, livehunt rulesets and local YARA checks."""

from __future__ import annotations

from pydantic import Field

from ._base import Descriptor, EpochDatetime, VTModel, VTObject
from ._objects import FileAttributes

RETROHUNT_STATUSES = ("starting", "running", "aborting", "aborted", "finished")
"""The statuses the reference lists for a retrohunt job. Others (vt-cli checks ``queued``) are
read as a job still under way, never as an error."""

RETROHUNT_TERMINAL = frozenset({"finished", "aborted"})
"""Statuses after which a job never changes again."""


class RetrohuntTimeRange(VTModel):
    """``time_range`` of a retrohunt job: the submission dates scanned."""

    start: EpochDatetime | None = None
    end: EpochDatetime | None = None


class RetrohuntJobAttributes(VTModel):
    """Attributes of a ``retrohunt_job``.

    ``status`` is kept as a plain string: VirusTotal may add states, and an unknown one
    must not break a poll. ``notification_email`` comes back as a string or a list.
    """

    rules: str = ""
    corpus: str | None = None
    notification_email: str | list[str] | None = None
    status: str = "starting"
    progress: float | None = None
    num_matches: int | None = None
    num_matches_outside_time_range: int | None = None
    scanned_bytes: int | None = None
    eta_seconds: int | None = None
    creation_date: EpochDatetime | None = None
    start_date: EpochDatetime | None = None
    finish_date: EpochDatetime | None = None
    time_range: RetrohuntTimeRange | None = None

    @property
    def terminal(self) -> bool:
        """True once the job is finished or aborted."""
        return self.status in RETROHUNT_TERMINAL

    @property
    def active(self) -> bool:
        """True while the job holds one of the user's concurrent-job slots."""
        return not self.terminal


RetrohuntJob = VTObject[RetrohuntJobAttributes]
"""A retrohunt job as VirusTotal returns it."""


class HuntingRulesetAttributes(VTModel):
    """Attributes of a livehunt ``hunting_ruleset``."""

    name: str = ""
    rules: str = ""
    enabled: bool | None = None
    limit: int | None = None
    """Most notifications per 24 hours."""
    notification_emails: list[str] = Field(default_factory=list)
    rule_names: list[str] = Field(default_factory=list)
    number_of_rules: int | None = None
    creation_date: EpochDatetime | None = None
    modification_date: EpochDatetime | None = None
    rate_limited: bool | None = None
    rate_limited_ratio: float | None = None
    scheduled_disable_date: EpochDatetime | None = None
    match_object_type: str | None = None
    tags: list[str] = Field(default_factory=list)


HuntingRuleset = VTObject[HuntingRulesetAttributes]
"""A livehunt ruleset as VirusTotal returns it."""


class YaraCheck(VTModel):
    """What the local YARA check found in a set of rules.

    Attributes:
        rule_names: the rules' identifiers, in source order.
        number_of_rules: how many rules the source declares.
        compiled: True when yara-python compiled the rules; False when they import a module
            only VirusTotal has (``vt``) and only the structure could be checked.
        warnings: compiler warnings (slow strings and the like).
    """

    rule_names: list[str] = Field(default_factory=list)
    number_of_rules: int = 0
    compiled: bool = True
    warnings: list[str] = Field(default_factory=list)


class MatchingFiles(VTModel):
    """Files that matched a retrohunt job, as far as they were read.

    Attributes:
        job_id: the job.
        files: the files read, each with the match in ``context_attributes`` when given.
        resume_cursor: where to continue reading; None once every match was read.
        total: ``meta.count`` when the service gives it.
        emulated: the answers came from the pack's emulator (fiction).
    """

    job_id: str
    files: list[VTObject[FileAttributes]] = Field(default_factory=list)
    resume_cursor: str | None = None
    total: int | None = None
    emulated: bool = False


class RulesetFiles(VTModel):
    """Files a livehunt ruleset notified about, as descriptors with their notification context."""

    ruleset_id: str
    files: list[Descriptor] = Field(default_factory=list)
    resume_cursor: str | None = None
    total: int | None = None
