"""Prefect tasks, one module per v3 area. Tasks ship with ``retries=0``: the client retries."""

from ._livehunt import (
    create_hunting_ruleset,
    delete_hunting_ruleset,
    get_hunting_ruleset,
    get_hunting_ruleset_files,
    list_hunting_rulesets,
    update_hunting_ruleset,
)
from ._lookups import (
    LOOKUP_CACHE,
    LOOKUP_CACHE_EXPIRATION,
    get_analysis,
    get_domain_report,
    get_file_report,
    get_ip_report,
    get_related_objects,
    get_url_report,
    lookup_indicators,
)
from ._retrohunt import (
    abort_retrohunt_job,
    create_retrohunt_job,
    delete_retrohunt_job,
    get_retrohunt_job,
    get_retrohunt_matching_files,
    list_retrohunt_jobs,
    validate_yara_rules,
)

__all__ = [
    "LOOKUP_CACHE",
    "LOOKUP_CACHE_EXPIRATION",
    "abort_retrohunt_job",
    "create_hunting_ruleset",
    "create_retrohunt_job",
    "delete_hunting_ruleset",
    "delete_retrohunt_job",
    "get_analysis",
    "get_domain_report",
    "get_file_report",
    "get_hunting_ruleset",
    "get_hunting_ruleset_files",
    "get_ip_report",
    "get_related_objects",
    "get_retrohunt_job",
    "get_retrohunt_matching_files",
    "get_url_report",
    "list_hunting_rulesets",
    "list_retrohunt_jobs",
    "lookup_indicators",
    "update_hunting_ruleset",
    "validate_yara_rules",
]
