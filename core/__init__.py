"""The pack's own logic over the client, without Prefect.

Expansion engine and graph, alert checkpoint and listing state machines, submission planning,
collection diffing, verdict ranking, triage assembly, report rendering, VirusTotal page links and
defanged display live here (see DESIGN.md). This package imports `prefect_virustotal.client` and
well-kept libraries, never Prefect.
"""

from ._attack import (
    BehaviourProfile,
    TechniqueRow,
    behaviour_markdown,
    behaviour_profile,
    behaviour_seeds,
    severity_label,
    top_techniques,
)
from ._quarantine import ZIP_PASSWORD, download_sample, zip_sample
from ._query import KNOWN_MODIFIERS, MAX_QUERY_CHARS, check_query
from ._search import SearchHit, defang, defang_text, hit_rows, rank_hits, search_plan
from ._usage import UsageDay, bar, over_threshold, usage_chart, usage_days, usage_rows

__all__ = [
    "KNOWN_MODIFIERS",
    "MAX_QUERY_CHARS",
    "ZIP_PASSWORD",
    "BehaviourProfile",
    "SearchHit",
    "TechniqueRow",
    "UsageDay",
    "bar",
    "behaviour_markdown",
    "behaviour_profile",
    "behaviour_seeds",
    "check_query",
    "defang",
    "defang_text",
    "download_sample",
    "hit_rows",
    "over_threshold",
    "rank_hits",
    "search_plan",
    "severity_label",
    "top_techniques",
    "usage_chart",
    "usage_days",
    "usage_rows",
    "zip_sample",
]
