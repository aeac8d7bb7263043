"""``prefect-virustotal``: the pack's flows from a terminal."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table

from prefect_virustotal.client.models import VERDICT_SEVERITY, IOCGraph, SubmissionResult
from prefect_virustotal.core import defang, enrich_results, lookup_many
from prefect_virustotal.flows import (
    CollectionSyncReport,
    EnrichmentReport,
    PollReport,
    RetrohuntReport,
    TriageReport,
    enrich_iocs,
    expand_iocs,
    mermaid_diagram,
    node_rows,
    poll_alerts,
    retrohunt,
    submit_and_wait,
    sync_collection,
    triage,
)

from ._common import (
    ExitCode,
    RecordOption,
    configure_logging,
    console,
    emit,
    fail,
    resolve_target,
    run,
    runs_direct,
)
from ._migrate import migrate_app

app = typer.Typer(
    name="prefect-virustotal",
    help="VirusTotal API v3 workflows as Prefect flows. Runs show in Prefect's UI when a server "
    "is configured. Exit codes: 0 ok, 1 malicious (with --fail-on malicious), 2 bad input, "
    "3 quota or service error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)
emulator_app = typer.Typer(help="The offline emulator of the v3 API.", no_args_is_help=True)
app.add_typer(emulator_app, name="emulator")
collection_app = typer.Typer(help="IoC collections.", no_args_is_help=True)
app.add_typer(collection_app, name="collection")
app.add_typer(migrate_app, name="migrate")


@app.callback()
def _main(
    verbose: Annotated[
        int, typer.Option("--verbose", "-v", count=True, help="Log Prefect's INFO lines (-vv: DEBUG).")
    ] = 0,
) -> None:
    configure_logging(verbose)


BlockOption = Annotated[
    str | None, typer.Option("--block", help="Name of a saved VirusTotalCredentials block.")
]
EmulatorOption = Annotated[
    bool, typer.Option("--emulator", help="Run against the in-process emulator (fiction, no key).")
]
MermaidOption = Annotated[
    bool, typer.Option("--mermaid", help="Also print the relationship graph as Mermaid source.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
FailOnOption = Annotated[
    str | None,
    typer.Option("--fail-on", help="Exit 1 when a verdict is this bad or worse: malicious or suspicious."),
]


class Corpus(str, Enum):
    """Retrohunt corpora (checked before any flow starts)."""

    MAIN = "main"
    GOODWARE = "goodware"


class Source(str, Enum):
    """Alert sources (checked before any flow starts)."""

    IOC_STREAM = "ioc_stream"
    HUNTING_NOTIFICATIONS = "hunting_notifications"
    VT_ALERTS = "vt_alerts"


_FAIL_ON = ("malicious", "suspicious")


def _check_fail_on(fail_on: str | None) -> int | None:
    if fail_on is None:
        return None
    if fail_on not in _FAIL_ON:
        fail(ExitCode.BAD_INPUT, "--fail-on takes 'malicious' or 'suspicious'")
    return VERDICT_SEVERITY[fail_on]


def _exit_for(verdicts: list[str], threshold: int | None) -> None:
    if threshold is not None and any(VERDICT_SEVERITY.get(v, -1) >= threshold for v in verdicts):
        raise typer.Exit(int(ExitCode.MALICIOUS))


@app.command()
def lookup(
    iocs: Annotated[list[str], typer.Argument(help="Hashes, URLs, domains, IPs (defanged is fine).")],
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    fail_on: FailOnOption = None,
    record: RecordOption = False,
) -> None:
    """Look indicators up and print a verdict with its reason for each.

    With no Prefect API configured (and neither ``--block`` nor ``--record``) it answers at once,
    without starting Prefect; otherwise it runs the ``enrich_iocs`` flow, which shows in the UI.
    """
    threshold = _check_fail_on(fail_on)
    target = resolve_target(block, emulator)
    direct = runs_direct(target, block=block, record=record)

    async def work() -> EnrichmentReport:
        if direct:
            async with target.credentials.get_client() as vt:
                return enrich_results(await lookup_many(vt, iocs))
        return await enrich_iocs(indicators=iocs, credentials=target.credentials)

    report = run(target, work)

    def render() -> None:
        console.print(_verdict_table(report.rows(), ["indicator", "verdict", "reason", "detections", "type"]))

    emit(report.model_dump(mode="json"), as_json=as_json, emulated=report.emulated, render=render)
    statuses = {item.lookup.status.value for item in report.items}
    if statuses == {"invalid"}:
        raise typer.Exit(int(ExitCode.BAD_INPUT))
    if statuses and statuses <= {"error", "quota_limited", "invalid"}:
        raise typer.Exit(int(ExitCode.SERVICE))
    _exit_for([item.verdict for item in report.items], threshold)


def _verdict_table(rows: list[dict[str, str]], columns: list[str]) -> Table:
    table = Table(*columns)
    for row in rows:
        table.add_row(*(str(row.get(c, "")) for c in columns))
    return table


@app.command()
def scan(
    target: Annotated[str, typer.Argument(help="A file path, or a URL.")],
    private: Annotated[bool, typer.Option("--private", help="Private scanning (needs the licence).")] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Submit and return; a later run attaches to the analysis.")
    ] = False,
    timeout: Annotated[float, typer.Option(min=0, help="Seconds to wait for the verdict.")] = 900.0,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    fail_on: FailOnOption = None,
) -> None:
    """Submit a file or a URL, wait for the analysis, print the verdict."""
    threshold = _check_fail_on(fail_on)
    target_ = resolve_target(block, emulator)
    is_file = Path(target).exists()

    async def work() -> SubmissionResult:
        if target_.emulated and target_.emulator is not None and not no_wait:
            target_.emulator.scanning.set_durations(queued=0, running=0)
        return await submit_and_wait(
            file_path=target if is_file else None,
            url=None if is_file else target,
            credentials=target_.credentials,
            private=private,
            timeout=timeout,
            wait=not no_wait,
        )

    result = run(target_, work)
    if no_wait and result.report is None:
        emit(
            result,
            as_json=as_json,
            emulated=result.emulated or target_.emulated,
            render=lambda: console.print(
                f"submitted: analysis {result.analysis_id}; "
                "run the same command again to attach to it and wait for the verdict",
                markup=False,
            ),
        )
        return

    def render() -> None:
        shown = defang(result.indicator) if result.kind == "url" else result.indicator
        console.print(f"{result.kind} {shown}", markup=False)
        console.print(f"verdict: [bold]{result.verdict}[/] ({result.reason})")
        console.print(
            f"{result.outcome.value if hasattr(result.outcome, 'value') else result.outcome}; {result.link}",
            markup=False,
        )

    emit(result, as_json=as_json, emulated=result.emulated or target_.emulated, render=render)
    _exit_for([result.verdict], threshold)


@app.command()
def expand(
    iocs: Annotated[list[str], typer.Argument(help="Seed indicators.")],
    depth: Annotated[int, typer.Option("--depth", min=0, max=5, help="Hops to follow.")] = 2,
    budget: Annotated[int, typer.Option("--budget", min=1, help="Most requests to spend.")] = 100,
    fan_out: Annotated[int, typer.Option("--fan-out", min=1, help="Most items per relationship.")] = 20,
    stix: Annotated[Path | None, typer.Option("--stix", help="Write a STIX 2.1 bundle here.")] = None,
    mermaid: MermaidOption = False,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
) -> None:
    """Expand indicators through their relationships, within a request budget."""
    target = resolve_target(block, emulator)

    async def work() -> IOCGraph:
        return await expand_iocs(
            iocs,
            credentials=target.credentials,
            max_depth=depth,
            request_budget=budget,
            fan_out=fan_out,
            stix_path=str(stix) if stix else None,
        )

    graph = run(target, work)

    def render() -> None:
        columns = ["indicator", "verdict", "detections", "found via", "type", "depth"]
        console.print(_verdict_table(node_rows(graph)[:50], columns))
        console.print(f"{len(graph.nodes)} nodes, {len(graph.edges)} edges, {graph.requests} requests")
        if graph.unexpanded:
            console.print(f"{len(graph.unexpanded)} nodes not expanded (e.g. {graph.unexpanded[0].reason})")
        if mermaid:
            console.print(mermaid_diagram(graph), markup=False)

    emit(graph, as_json=as_json, emulated=graph.emulated or target.emulated, render=render)


@app.command("retrohunt")
def retrohunt_command(
    rules_file: Annotated[Path, typer.Argument(help="A file of YARA rules.")],
    corpus: Annotated[Corpus, typer.Option(help="main or goodware.")] = Corpus.MAIN,
    deadline: Annotated[float, typer.Option(min=1, help="Seconds before the job is aborted.")] = 6 * 3600,
    poll_interval: Annotated[float, typer.Option(min=1, help="Seconds between progress checks.")] = 60.0,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
) -> None:
    """Run YARA rules over VirusTotal's past files (checked locally first) and list the matches."""
    try:
        rules = rules_file.read_text()
    except OSError as exc:
        fail(ExitCode.BAD_INPUT, f"cannot read {rules_file}: {exc.strerror}")
    target = resolve_target(block, emulator)

    async def work() -> RetrohuntReport:
        if target.emulated and target.emulator is not None:
            from prefect_virustotal.emulator import RetrohuntDurations

            # A rehearsal: the emulated job runs for seconds, not the real service's hours.
            target.emulator.hunting.durations = RetrohuntDurations(
                queued=0, starting=0, running=2, aborting=1
            )
        return await retrohunt(
            rules,
            credentials=target.credentials,
            corpus=corpus.value,
            deadline_seconds=deadline,
            poll_interval=poll_interval,
        )

    report = run(target, work)

    def render() -> None:
        console.print(
            f"job {report.job_id}: {report.status}; {len(report.matches)} matching files", markup=False
        )
        for match in report.matches[:50]:
            console.print(f"  {match.id}  {match.attributes.meaningful_name or ''}", markup=False)

    emit(report, as_json=as_json, emulated=report.emulated or target.emulated, render=render)


alerts_app = typer.Typer(help="Alerts: IoC Stream and livehunt notifications.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("poll")
def alerts_poll(
    source: Annotated[
        Source, typer.Option(help="ioc_stream, hunting_notifications or vt_alerts.")
    ] = Source.IOC_STREAM,
    acknowledge: Annotated[
        bool, typer.Option("--acknowledge", help="Delete each notification after its hand-off.")
    ] = False,
    max_alerts: Annotated[int, typer.Option(min=1, help="Most alerts to hand on in this run.")] = 500,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
) -> None:
    """Hand on new alerts since the checkpoint (one Prefect event each), exactly once."""
    target = resolve_target(block, emulator)

    async def work() -> PollReport:
        return await poll_alerts(
            credentials=target.credentials,
            source=source.value,
            acknowledge=acknowledge,
            max_alerts=max_alerts,
        )

    report = run(target, work)

    def render() -> None:
        console.print(
            f"{report.handed_on} alerts handed on ({report.by_origin}), {report.acknowledged} acknowledged, "
            f"{report.requests} requests" + (f"; stopped by {report.stopped}" if report.stopped else ""),
            markup=False,
        )

    emit(report, as_json=as_json, emulated=report.emulated or target.emulated, render=render)


@app.command("triage")
def triage_command(
    ticket: Annotated[Path, typer.Argument(help="The ticket's text.")],
    files: Annotated[list[Path] | None, typer.Argument(help="Attached files.")] = None,
    case: Annotated[str | None, typer.Option(help="Case name (default: the ticket's file name).")] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write the markdown report here.")] = None,
    allow_public_upload: Annotated[
        bool,
        typer.Option("--allow-public-upload", help="Upload publicly when private scanning is unavailable."),
    ] = False,
    budget: Annotated[int, typer.Option("--budget", min=0, help="Requests the expansion may spend.")] = 40,
    mermaid: MermaidOption = False,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    fail_on: FailOnOption = None,
) -> None:
    """Run the incident-response runbook on a ticket (and its attached files)."""
    threshold = _check_fail_on(fail_on)
    try:
        text = ticket.read_text()
    except OSError as exc:
        fail(ExitCode.BAD_INPUT, f"cannot read {ticket}: {exc.strerror}")
    target = resolve_target(block, emulator)

    async def work() -> TriageReport:
        if target.emulated and target.emulator is not None:
            target.emulator.scanning.set_durations(queued=0, running=0)
        return await triage(
            case or ticket.stem,
            text=text,
            files=[str(f) for f in files or []],
            credentials=target.credentials,
            allow_public_upload=allow_public_upload,
            expand_budget=budget,
            report_path=str(report) if report else None,
        )

    result = run(target, work)

    def render() -> None:
        console.print(result.markdown, markup=False)
        if mermaid and result.graph is not None:
            console.print(mermaid_diagram(result.graph), markup=False)
        if report:
            console.print(f"Report written to {report}", markup=False)

    emit(result, as_json=as_json, emulated=result.emulated or target.emulated, render=render)
    _exit_for([result.summary_verdict], threshold)


@app.command(
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def setup(ctx: typer.Context) -> None:
    """Set up a Prefect server: block types, the credentials block, the shared quota limit and the
    work pool. Re-running it changes only what is given (see ``prefect-virustotal setup --help``)."""
    from ._setup import main as setup_main

    # The set-up parses its own options, ``--help`` included, so that it lists the real ones.
    raise typer.Exit(setup_main(ctx.args))


@collection_app.command("sync")
def collection_sync(
    name: Annotated[str, typer.Argument(help="The collection's stable name (or its id).")],
    file: Annotated[str, typer.Argument(help="A file of indicators: one per line, or free text.")],
    keep_others: Annotated[
        bool, typer.Option("--keep-others", help="Only add; do not remove items missing from FILE.")
    ] = False,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
) -> None:
    """Make collection NAME hold exactly the indicators in FILE (created when missing)."""
    target = resolve_target(block, emulator)

    async def work() -> CollectionSyncReport:
        return await sync_collection(
            name, path=file, credentials=target.credentials, remove_missing=not keep_others
        )

    report = run(target, work)

    def render() -> None:
        state = "created" if report.created else "updated"
        console.print(f"Collection [bold]{report.name}[/] {state}: {report.link}")
        console.print(
            f"added {len(report.added)}, removed {len(report.removed)}, unchanged {report.unchanged}, "
            f"invalid {len(report.invalid)}"
        )
        for item in report.invalid:
            console.print(f"  skipped (invalid): {defang(item)}", markup=False)

    emit(report, as_json=as_json, emulated=report.emulated or target.emulated, render=render)


@emulator_app.command(
    "serve",
    context_settings={"allow_extra_args": True, "ignore_unknown_options": True, "help_option_names": []},
    add_help_option=False,
)
def emulator_serve(ctx: typer.Context) -> None:
    """Serve the emulator on loopback: the emulator's own options (``--port``, ``--api-key``,
    ``--allow-remote``, ``--max-body-mb``, ...; see ``prefect-virustotal emulator serve --help``)."""
    from prefect_virustotal.emulator.__main__ import main as emulator_main

    raise typer.Exit(emulator_main(ctx.args))


# The SOC commands live in their own module (search, behaviour, download, comments, comment,
# vote, quota); registering them here keeps this module's edit to two lines.
from ._soc import register_soc_commands  # noqa: E402 - needs ``app`` above

register_soc_commands(app)
