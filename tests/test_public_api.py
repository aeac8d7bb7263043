"""The public surface, pinned: what each package exports, and how tasks and flows are called.

A change of the public surface must be deliberate: add or remove the name below in the same
commit (and a changelog line). Internals that only tests need are imported from their module,
never exported.
"""

from __future__ import annotations

import importlib
import inspect
from pathlib import Path
from typing import Any

import pytest
import yaml
from prefect import Flow, Task

ROOT = Path(__file__).resolve().parent.parent

PUBLIC: dict[str, list[str]] = {
    "client": [
        "API_USAGE_MAX_DAYS",
        "COLLECTION_BATCH_SIZE",
        "COLLECTION_RELATIONSHIPS",
        "DEFAULT_BASE_URL",
        "DIRECT_UPLOAD_LIMIT",
        "ENTERPRISE_RELATIONSHIPS",
        "ERROR_CODES",
        "INTERNAL_DOMAIN_SUFFIXES",
        "MATCH_OBJECT_TYPES",
        "MAX_COMMENT_CHARS",
        "MAX_RULES_PER_JOB",
        "MAX_UPLOAD_SIZE",
        "MAX_WRITE_ATTEMPTS",
        "REPORT_KINDS",
        "SYSTEM_CLOCK",
        "APIConnectionError",
        "APIError",
        "APITimeoutError",
        "AlreadyExistsError",
        "AnalysisTimeoutError",
        "Assessment",
        "AuthenticationError",
        "AuthenticationRequiredError",
        "BadRequestError",
        "Clock",
        "ConflictError",
        "ContentChangedError",
        "DeadlineExceededError",
        "DeletionInProgressError",
        "DownloadIntegrityError",
        "FailedDependencyError",
        "ForbiddenError",
        "Indicator",
        "IndicatorKind",
        "InvalidArgumentError",
        "InvalidIndicatorError",
        "InvalidParameterError",
        "LocalRateLimiter",
        "NotAvailableYet",
        "NotFoundError",
        "Page",
        "Paginator",
        "PermissionDeniedError",
        "PublicUploadRefusedError",
        "QuotaExceededError",
        "RateLimitError",
        "RateLimiter",
        "RequestBudgetExceededError",
        "RetryPolicy",
        "ServerError",
        "SystemClock",
        "TooManyRequestsError",
        "TransientError",
        "UnexpectedResponseError",
        "UnselectiveContentQueryError",
        "UnsupportedContentQueryError",
        "UploadSource",
        "UserNotActiveError",
        "Verdict",
        "VerdictPolicy",
        "VirusTotalClient",
        "VirusTotalError",
        "VoteVerdict",
        "WriteAttempt",
        "WriteOutcome",
        "WrongCredentialsError",
        "YaraSyntaxError",
        "YaraUnavailableError",
        "assess",
        "assess_object",
        "check_url_for_submission",
        "check_yara_rules",
        "extract_indicators",
        "free_destination",
        "hunting_filter",
        "ioc_stream_filter",
        "is_internal",
        "mask_url_credentials",
        "mount_transport",
        "mounted_transport",
        "normalize_url",
        "parse_analysis_id",
        "parse_behaviour_id",
        "parse_domain",
        "parse_file_hash",
        "parse_indicator",
        "parse_ip",
        "parse_url_identifier",
        "poll_until",
        "private_file",
        "private_options",
        "quota_refusal",
        "redact_all",
        "redact_url_credentials",
        "refang",
        "sha256_of_file",
        "shared_limiter",
        "strip_url_credentials",
        "url_has_credentials",
        "url_id",
        "write_outcome",
    ],
    "client.models": [
        "ALERT_EVENT_NAMESPACE",
        "ASSET_TYPES",
        "EVENT_SEVERITIES",
        "RETROHUNT_STATUSES",
        "RETROHUNT_TERMINAL",
        "SEVERITY_ORDER",
        "VERDICT_SEVERITY",
        "AcknowledgeResult",
        "Alert",
        "AlertPage",
        "AlertSource",
        "AlertingAsset",
        "AlertingAssetAttributes",
        "AlertingNotification",
        "AlertingNotificationAttributes",
        "AnalysisAttributes",
        "AnalysisObject",
        "AnalysisStats",
        "ApiUsage",
        "BehaviourReport",
        "BehaviourSummary",
        "BehaviourTechnique",
        "CollectionAttributes",
        "CollectionItems",
        "CollectionItemsUpdate",
        "CollectionObject",
        "CommentAttributes",
        "CommentObject",
        "DNSLookup",
        "Descriptor",
        "DomainAttributes",
        "DomainObject",
        "DownloadedFile",
        "DroppedFile",
        "EngineResult",
        "EpochDatetime",
        "ErrorBody",
        "ErrorEnvelope",
        "FileAttributes",
        "FileBehaviourAttributes",
        "FileBehaviourObject",
        "FileObject",
        "GenericAttributes",
        "HTTPConversation",
        "HuntingInfo",
        "HuntingNotificationAttributes",
        "HuntingNotificationFile",
        "HuntingNotificationFileContext",
        "HuntingNotificationObject",
        "HuntingRuleset",
        "HuntingRulesetAttributes",
        "IPAddressAttributes",
        "IPAddressObject",
        "IPTraffic",
        "IoCStreamContext",
        "IoCStreamItem",
        "IoCStreamNotificationAttributes",
        "IoCStreamNotificationObject",
        "ListMeta",
        "MatchingFiles",
        "MitreSignature",
        "MitreTactic",
        "MitreTechnique",
        "MitreTrees",
        "NotificationSource",
        "OverallQuotas",
        "PrivateAnalysisAttributes",
        "PrivateAnalysisObject",
        "PrivateFileAttributes",
        "PrivateFileObject",
        "PrivateScanOptions",
        "PrivateURLAttributes",
        "PrivateURLObject",
        "PrivateURLScanOptions",
        "ProcessNode",
        "QuotaCount",
        "QuotaPeriod",
        "RegistryValue",
        "Relationship",
        "ResolutionAttributes",
        "ResolutionObject",
        "RetrohuntJob",
        "RetrohuntJobAttributes",
        "RetrohuntTimeRange",
        "RulesetFiles",
        "SandboxMitreTree",
        "ThreatSeverity",
        "ThreatVerdict",
        "URLAttributes",
        "URLObject",
        "VTModel",
        "VTObject",
        "VoteAttributes",
        "VoteObject",
        "Votes",
        "YaraCheck",
        "normalise_severity",
    ],
    "core": [
        "ALERT_SOURCES",
        "CHECKPOINT_PREFIX",
        "DEFAULT_CHUNK_SIZE",
        "DEFAULT_RELATIONSHIPS",
        "DESCRIPTOR_PAGE",
        "EMBEDDED_PAGE",
        "EMULATED_BANNER",
        "GUI_ROOT",
        "INTERNAL_NOT_SENT",
        "KNOWN_MODIFIERS",
        "MAX_CHECKPOINT_BYTES",
        "MAX_FEED_BYTES",
        "MAX_INFLIGHT_IDS",
        "MAX_PAGE_SIZE",
        "MAX_QUERY_CHARS",
        "MAX_SCAN_BYTES",
        "MAX_SEEN_IDS",
        "MAX_TABLE_ROWS",
        "MAX_TEXT_INPUT_BYTES",
        "SCANNED_SUFFIXES",
        "SHORT_HASH_LENGTH",
        "SKIPPED_DIRECTORIES",
        "STATE_DIR_VARIABLE",
        "V2_ENDPOINTS",
        "V2_FIELDS",
        "V2_QUOTA_STATUS",
        "VERDICT_ORDER",
        "ZIP_PASSWORD",
        "AlertBatch",
        "AlertCheckpoint",
        "AlertListing",
        "BehaviourProfile",
        "CaseInputs",
        "CheckpointStore",
        "CheckpointTooLargeError",
        "ClientCollectionSteps",
        "ClientSteps",
        "ClientTriageSteps",
        "CollectionKey",
        "CollectionPlan",
        "CollectionSteps",
        "CollectionSyncReport",
        "CompletedAnalysis",
        "DirectoryCheckpointStore",
        "Discovery",
        "EnrichedIndicator",
        "EnrichmentReport",
        "GraphBuilder",
        "GraphEdge",
        "GraphGap",
        "GraphNode",
        "IOCGraph",
        "LevelFetcher",
        "LevelResult",
        "LevelSummary",
        "LookupResult",
        "LookupStatus",
        "MemoryCheckpointStore",
        "MigrationFinding",
        "MigrationInputError",
        "MigrationReport",
        "NodeRef",
        "NodeStatus",
        "NodeVerdict",
        "QuotaReport",
        "RescanPolicy",
        "SearchHit",
        "SearchPage",
        "SearchReport",
        "SkipReason",
        "SkippedWork",
        "SubmissionItem",
        "SubmissionOutcome",
        "SubmissionPlan",
        "SubmissionReport",
        "SubmissionResult",
        "SubmissionRun",
        "SubmissionStatus",
        "SubmissionSteps",
        "TechniqueRow",
        "TriageItem",
        "TriageReport",
        "TriageSteps",
        "TruncatedRelationship",
        "UsageDay",
        "V2Endpoint",
        "V2Field",
        "WaitSettings",
        "acknowledge_notifications",
        "alert_checkpoint_name",
        "analysis_item",
        "artifact_key",
        "artifact_rows",
        "bar",
        "behaviour_failed",
        "behaviour_files",
        "behaviour_markdown",
        "behaviour_profile",
        "behaviour_seeds",
        "canonical_url",
        "case_evidence",
        "case_slug",
        "check_alert_source",
        "check_expansion_limits",
        "check_mass_removal",
        "check_query",
        "checkpoint_fits",
        "checkpoint_name",
        "checkpoint_size",
        "chunk_progress",
        "chunked",
        "collect_files",
        "collection_attribute_changes",
        "collection_checkpoint",
        "collection_sync_markdown",
        "collection_values",
        "decode_text",
        "defang",
        "defang_text",
        "default_state_dir",
        "desired_indicators",
        "display_indicator",
        "download_sample",
        "enrich_chunk",
        "enrich_in_chunks",
        "enrich_results",
        "ensure_checkpoint_fits",
        "escape_control",
        "expand_graph",
        "expansion_failed",
        "expansion_gaps",
        "expansion_seeds",
        "fetch_level",
        "find_report",
        "gather_case",
        "gather_indicators",
        "graph_subject",
        "hit_rows",
        "indicator_keys",
        "is_partial_level",
        "item_keys",
        "level_fetcher",
        "level_request_bound",
        "lookup_many",
        "mark_emulated",
        "markdown_cell",
        "markdown_link",
        "mask_key",
        "mermaid_diagram",
        "mermaid_markdown",
        "node_display",
        "node_key",
        "node_rows",
        "notification_digest",
        "over_threshold",
        "plan_collection_sync",
        "plan_search",
        "plan_submission",
        "public_upload_refused",
        "quota_usage",
        "rank_hits",
        "read_alert_batch",
        "read_alert_page",
        "read_search_page",
        "read_text_file",
        "read_text_lines",
        "record_submission",
        "regular_file",
        "relationship_summary",
        "render_markdown",
        "report_json",
        "resumable_analysis",
        "run_collection_sync",
        "run_submission",
        "run_submissions",
        "run_triage",
        "run_wide_failure",
        "scan_paths",
        "scan_text",
        "search_plan",
        "search_report",
        "seed_refs",
        "severity_label",
        "short_hash",
        "shorten_hashes",
        "stix_bundle",
        "stix_bundle_json",
        "submission_assessment",
        "submission_candidates",
        "submission_checkpoint",
        "submission_failed",
        "submission_result",
        "submission_rows",
        "submit_plan",
        "summary_verdict",
        "target_identity",
        "target_of",
        "top_techniques",
        "triage_items",
        "triage_markdown",
        "unused_lines",
        "url_page_id",
        "usage_chart",
        "usage_days",
        "usage_rows",
        "v2_endpoint",
        "v2_field",
        "verdict_counts",
        "verdict_rank",
        "vt_link",
        "wait_for_report",
        "zip_sample",
    ],
    "blocks": [
        "DailyReserveError",
        "PrefectRateLimiter",
        "SharedRateLimitError",
        "VirusTotalCredentials",
        "ensure_daily_budget",
        "rate_limit_name_for",
        "rate_limit_settings",
        "resolve_credentials",
    ],
    "tasks": [
        "DEFAULT_RELATIONSHIPS",
        "EXPAND_CACHE",
        "EXPAND_CACHE_EXPIRATION",
        "LOOKUP_CACHE",
        "LOOKUP_CACHE_EXPIRATION",
        "Discovery",
        "LevelResult",
        "SearchPage",
        "abort_retrohunt_job",
        "acknowledge_alerts",
        "add_collection_comment",
        "add_collection_items",
        "add_comment",
        "add_vote",
        "analyse_domain",
        "analyse_file",
        "analyse_ip_address",
        "analyse_private_file",
        "analyse_url",
        "check_daily_budget",
        "create_collection",
        "create_hunting_ruleset",
        "create_retrohunt_job",
        "create_vt_alert_asset",
        "delete_collection",
        "delete_hunting_notification",
        "delete_hunting_notifications",
        "delete_hunting_ruleset",
        "delete_ioc_stream_notification",
        "delete_ioc_stream_notifications",
        "delete_private_file",
        "delete_retrohunt_job",
        "delete_vt_alert_asset",
        "download_file",
        "enrich_indicator_chunk",
        "expand_level",
        "fetch_alert_batch",
        "fetch_alert_page",
        "find_collection",
        "find_report",
        "get_analysis",
        "get_analysis_item",
        "get_api_usage",
        "get_behaviour_profile",
        "get_behaviour_summary",
        "get_collection",
        "get_domain_report",
        "get_file_report",
        "get_hunting_notification",
        "get_hunting_ruleset",
        "get_ioc_stream_notification",
        "get_ip_report",
        "get_mitre_trees",
        "get_overall_quotas",
        "get_private_file_report",
        "get_private_url_report",
        "get_related_objects",
        "get_resolution",
        "get_retrohunt_job",
        "get_url_report",
        "level_request_bound",
        "list_collection_comments",
        "list_collection_items",
        "list_comments",
        "list_hunting_notification_files",
        "list_hunting_notifications",
        "list_hunting_ruleset_files",
        "list_hunting_rulesets",
        "list_ioc_stream",
        "list_private_files",
        "list_retrohunt_jobs",
        "list_retrohunt_matching_files",
        "list_user_collections",
        "list_votes",
        "list_vt_alert_assets",
        "list_vt_alert_notifications",
        "lookup_indicators",
        "remove_collection_items",
        "scan_file",
        "scan_private_file",
        "scan_private_url",
        "scan_url",
        "search_basic",
        "search_intelligence",
        "submit_for_analysis",
        "update_collection",
        "update_hunting_ruleset",
        "validate_yara_rules",
        "wait_for_analysis",
        "wait_for_report",
    ],
    "flows": [
        "FINISHED_EVENT",
        "MAX_SEEN_IDS",
        "MIGRATION_ARTIFACT_KEY",
        "NOTIFIED_VARIABLE",
        "QUOTA_CHART_KEY",
        "QUOTA_EVENT",
        "QUOTA_TABLE_KEY",
        "SEARCH_ARTIFACT_KEY",
        "AlertCheckpoint",
        "CollectionHook",
        "EnrichedIndicator",
        "EnrichmentReport",
        "PollReport",
        "QuotaReport",
        "RetrohuntReport",
        "SearchReport",
        "VariableCheckpointStore",
        "collect_retrohunt_results",
        "enrich_iocs",
        "expand_iocs",
        "intelligence_search",
        "migration_report",
        "poll_alerts",
        "quota_report",
        "retrohunt",
        "submit_and_wait",
        "submit_and_wait_many",
        "sync_collection",
        "triage",
        "watch_retrohunt_jobs",
    ],
    "emulator": [
        "DEFAULT_BASE_URL",
        "DEMO_KEYS",
        "ERROR_STATUS",
        "NATURES",
        "PREMIUM_DEMO_KEY",
        "PUBLIC_DEMO_KEY",
        "RELATIONSHIPS",
        "Analysis",
        "ApiError",
        "ApiKey",
        "ConnectionDropped",
        "Emulator",
        "EmulatorClock",
        "FakeClock",
        "Fault",
        "FaultPlan",
        "KeyTier",
        "QuotaBook",
        "Relationship",
        "RequestRecord",
        "Resolution",
        "RetrohuntDurations",
        "ScaledClock",
        "SystemClock",
        "World",
        "WorldObject",
        "create_app",
        "error_response",
        "paginate",
    ],
    "cli": [
        "ExitCode",
        "app",
        "emulator_credentials",
        "setup_main",
    ],
}


def _tasks_and_flows() -> list[tuple[str, Task[Any, Any] | Flow[Any, Any]]]:
    found: list[tuple[str, Task[Any, Any] | Flow[Any, Any]]] = []
    for package in ("tasks", "flows"):
        module = importlib.import_module(f"prefect_virustotal.{package}")
        for name in module.__all__:
            value = getattr(module, name)
            if isinstance(value, (Task, Flow)):
                found.append((f"{package}.{name}", value))
    return found


TASKS_AND_FLOWS = _tasks_and_flows()
# The only ones that never talk to VirusTotal (local checks), hence take no credentials.
NO_CREDENTIALS = {"tasks.validate_yara_rules", "flows.migration_report"}


@pytest.mark.parametrize("name", list(PUBLIC))
def test_all_is_pinned(name: str) -> None:
    exported = importlib.import_module(f"prefect_virustotal.{name}").__all__
    added = sorted(set(exported) - set(PUBLIC[name]))
    removed = sorted(set(PUBLIC[name]) - set(exported))
    assert not added and not removed, f"{name}.__all__ changed: added {added}, removed {removed}"
    assert list(exported) == PUBLIC[name]


def test_every_task_and_flow_is_pinned() -> None:
    assert len(TASKS_AND_FLOWS) > 80, "tasks and flows were not found"


@pytest.mark.parametrize(("name", "obj"), TASKS_AND_FLOWS, ids=[n for n, _ in TASKS_AND_FLOWS])
def test_credentials_is_the_last_keyword_only_parameter(
    name: str, obj: Task[Any, Any] | Flow[Any, Any]
) -> None:
    parameters = list(inspect.signature(obj.fn).parameters.values())
    if name in NO_CREDENTIALS:
        assert "credentials" not in [p.name for p in parameters]
        return
    assert parameters[-1].name == "credentials", f"{name}: credentials is not the last parameter"
    assert parameters[-1].kind is inspect.Parameter.KEYWORD_ONLY, f"{name}: credentials is not keyword-only"


@pytest.mark.parametrize(("name", "obj"), TASKS_AND_FLOWS, ids=[n for n, _ in TASKS_AND_FLOWS])
def test_names_in_prefect_say_virustotal(name: str, obj: Task[Any, Any] | Flow[Any, Any]) -> None:
    # Tasks are read in the UI beside other integrations' tasks: "VirusTotal: get file report".
    # Flows are also typed in commands (`prefect deployment run virustotal-triage/triage`):
    # one word, no space.
    words = obj.fn.__name__.split("_")
    if isinstance(obj, Task):
        assert obj.name.startswith("VirusTotal: "), name
        assert obj.name.removeprefix("VirusTotal: ").lower().split(" ") == words, name
    else:
        assert obj.name == "virustotal-" + "-".join(words), name


def test_deployment_entrypoints_load_our_flows() -> None:
    spec = yaml.safe_load((ROOT / "deployments" / "prefect.yaml").read_text())
    for deployment in spec["deployments"]:
        path, function = deployment["entrypoint"].split(":")
        package = "prefect_virustotal." + ".".join(Path(path).with_suffix("").parts)
        flow = getattr(importlib.import_module(package), function)
        assert isinstance(flow, Flow), deployment["entrypoint"]
        assert (ROOT / path).is_file(), deployment["entrypoint"]
        exported = importlib.import_module("prefect_virustotal.flows")
        assert getattr(exported, function) is flow, f"{function} is deployed but not exported"


# One name per concept: the names these replaced must not come back (see the changelog).
RETIRED_PARAMETERS = {
    "deadline_seconds": "timeout",
    "wait_timeout": "timeout",
    "max_requests": "request_budget",
    "max_alerts": "limit",
    "max_results": "limit",
    "max_matches": "limit",
    "poll_factor": "factor",
    "user": "user_id",
    "private_scanning": "private",
}
RETIRED_OPTIONS = {"--budget", "--deadline", "--max-alerts"}
# The verbs of the client's areas: one per action, the same in every area.
CLIENT_VERBS = {
    "get", "list", "create", "update", "delete", "add", "remove", "scan", "upload", "analyse",
    "wait", "download", "find", "enable", "disable", "rename", "abort", "all", "own",
    "intelligence", "basic",
}  # fmt: skip


@pytest.mark.parametrize(("name", "obj"), TASKS_AND_FLOWS, ids=[n for n, _ in TASKS_AND_FLOWS])
def test_one_name_per_concept(name: str, obj: Task[Any, Any] | Flow[Any, Any]) -> None:
    for parameter in inspect.signature(obj.fn).parameters:
        assert parameter not in RETIRED_PARAMETERS, (
            f"{name}({parameter}=): use {RETIRED_PARAMETERS[parameter]}"
        )


def test_cli_options_use_the_same_names() -> None:
    import click
    import typer.main

    from prefect_virustotal.cli import app

    def options(command: click.Command) -> set[str]:
        found = {o for p in command.params for o in getattr(p, "opts", [])}
        for sub in getattr(command, "commands", {}).values():
            found |= options(sub)
        return found

    assert not options(typer.main.get_command(app)) & RETIRED_OPTIONS


def _client_areas() -> list[tuple[str, type]]:
    from prefect_virustotal.client import VirusTotalClient
    from prefect_virustotal.client._lookups import _Area

    vt = VirusTotalClient(api_key="x" * 64)
    return [(name, type(value)) for name, value in vars(vt).items() if isinstance(value, _Area)]


@pytest.mark.parametrize(("area", "cls"), _client_areas(), ids=[n for n, _ in _client_areas()])
def test_client_areas_share_their_verbs(area: str, cls: type) -> None:
    for method in [m for m in vars(cls) if not m.startswith("_") and callable(getattr(cls, m))]:
        assert method.split("_")[0] in CLIENT_VERBS, f"vt.{area}.{method}: not one of the client's verbs"
        if method.startswith("delete"):
            returns = inspect.signature(getattr(cls, method), eval_str=True).return_annotation
            assert returns is None, f"vt.{area}.{method} returns {returns}: every delete returns None"


@pytest.mark.parametrize(("name", "obj"), [t for t in TASKS_AND_FLOWS if t[0].startswith("tasks.delete")])
def test_every_delete_task_returns_none(name: str, obj: Task[Any, Any]) -> None:
    assert inspect.signature(obj.fn, eval_str=True).return_annotation is None, name
