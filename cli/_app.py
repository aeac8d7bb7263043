"""``prefect-virustotal``: the pack's flows from a terminal."""

from __future__ import annotations

import sys
from collections.abc import Awaitable
from enum import Enum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.progress import Progress
from rich.table import Table

from prefect_virustotal.client import InvalidParameterError, VirusTotalClient
from prefect_virustotal.client.models import VERDICT_SEVERITY, AlertSource
from prefect_virustotal.core import (
    MAX_TABLE_ROWS,
    CollectionSyncReport,
    EnrichmentReport,
    IOCGraph,
    SubmissionResult,
    TriageReport,
    chunk_progress,
    defang,
    defang_text,
    enrich_chunk,
    enrich_in_chunks,
    expand_graph,
    gather_indicators,
    level_fetcher,
    mermaid_diagram,
    node_rows,
    read_text_lines,
    report_json,
    stix_bundle_json,
)

from ._common import (
    ExitCode,
    RecordOption,
    configure_logging,
    console,
    emit,
    errors,
    fail,
    local_checkpoints,
    read_input,
    resolve_target,
    run,
    run_command,
    shown,
    text_cell,
    warn,
)
from ._common import scrub as scrub_credentials
from ._migrate import migrate_app

if TYPE_CHECKING:
    # Flows (and so Prefect) are imported inside the commands that run them, never here:
    # a direct command must not pay for Prefect (see ``run_command``).
    from prefect_virustotal.blocks import VirusTotalCredentials
    from prefect_virustotal.flows import PollReport, RetrohuntReport

app = typer.Typer(
    name="prefect-virustotal",
    help="VirusTotal API v3 workflows as Prefect flows. Runs show in Prefect's UI when a server "
    "is configured; with none, lookup, scan, expand, triage, search, behaviour, comments, comment, "
    "vote, download and quota answer directly, without Prefect (--record runs them through Prefect). "
    "Exit codes: 0 ok, "
    "1 a verdict at or above --fail-on, 2 bad input (nothing "
    "sent), 3 the run failed (authentication, quota, connection), 4 partial (some rows failed), "
    "5 internal error.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
    # Docstrings are wrapped to the terminal and their ``literals`` shown as code, not verbatim.
    rich_markup_mode="markdown",
)
emulator_app = typer.Typer(help="The offline emulator of the v3 API.", no_args_is_help=True)
app.add_typer(emulator_app, name="emulator")
collection_app = typer.Typer(help="IoC collections.", no_args_is_help=True)
app.add_typer(collection_app, name="collection")
app.add_typer(migrate_app, name="migrate")


@app.callback()
def _main(
    verbose: Annotated[
        int,
        typer.Option(
            "--verbose",
            "-v",
            count=True,
            help="Log INFO lines (Prefect's; the pack's own on a direct command). -vv: DEBUG.",
        ),
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
SendInternalOption = Annotated[
    bool,
    typer.Option(
        "--send-internal",
        help="Also send private, loopback, link-local, multicast and reserved addresses and "
        "internal names (.local, .internal, .lan, .corp, .home.arpa); skipped by default.",
    ),
]
OwnDomainOption = Annotated[
    list[str] | None,
    typer.Option(
        "--own-domain", help="Your organisation's domain: skipped like internal names (repeatable)."
    ),
]
FailOnOption = Annotated[
    str | None,
    typer.Option("--fail-on", help="Exit 1 when a verdict is this bad or worse: malicious or suspicious."),
]


class Corpus(str, Enum):
    """Retrohunt corpora (checked before any flow starts)."""

    MAIN = "main"
    GOODWARE = "goodware"


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
    iocs: Annotated[
        list[str] | None, typer.Argument(help="Hashes, URLs, domains, IPs (defanged is fine).")
    ] = None,
    feed: Annotated[
        Path | None,
        typer.Option(
            "--file",
            help="A file of indicators (one per line, or free text; at most 256 MiB, read line by "
            "line), passed to the flow by path. The table shows the worst 1,000 rows; --json all.",
        ),
    ] = None,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    fail_on: FailOnOption = None,
    record: RecordOption = False,
    send_internal: SendInternalOption = False,
    own_domain: OwnDomainOption = None,
) -> None:
    """Look indicators up and print a verdict with its reason for each.

    With no Prefect API configured (and neither ``--block`` nor ``--record``) it answers at once,
    without starting Prefect; otherwise it runs the ``enrich_iocs`` flow, which shows in the UI.
    """
    threshold = _check_fail_on(fail_on)
    if not iocs and feed is None:
        fail(ExitCode.BAD_INPUT, "give indicators, or --file FEED")
    iocs = scrub_credentials(iocs or [])
    if feed is not None:
        # Checked here line by line (special files, size, encoding, credentials warned of); the
        # flow reads it again by path, so the feed never becomes a flow-run parameter.
        try:
            for line in read_text_lines(feed, "indicator file"):
                scrub_credentials([line])
        except InvalidParameterError as exc:
            fail(ExitCode.BAD_INPUT, str(exc))
    target = resolve_target(block, emulator)
    path = str(feed) if feed is not None else None

    # A feed shows its progress (chunks done) on the terminal's stderr; never with --json.
    progress = Progress(console=errors, transient=True, disable=as_json or feed is None)
    bar = progress.add_task("looking up", total=None)

    def advance(done: int, total: int) -> None:
        progress.update(bar, completed=done, total=total)

    async def at_once(vt: VirusTotalClient) -> EnrichmentReport:
        # The same steps as the flow, without Prefect (the feed read here, by path too).
        wanted, _ = gather_indicators(iocs, path=path)

        async def enrich(chunk: list[str]) -> EnrichmentReport:
            return await enrich_chunk(vt, chunk, send_internal=send_internal, own_domains=own_domain or [])

        return await enrich_in_chunks(enrich, wanted, on_chunk=advance)

    async def as_flow(credentials: VirusTotalCredentials) -> EnrichmentReport:
        from prefect_virustotal.flows import enrich_iocs

        chunk_progress.set(advance)
        return await enrich_iocs(
            path=path,
            indicators=iocs,
            credentials=credentials,
            send_internal=send_internal,
            own_domains=own_domain,
        )

    with progress:
        # A feed has its bar; a few indicators get the spinner if they take a while.
        report = run_command(
            target,
            flow=as_flow,
            direct=at_once,
            record=record,
            progress=not as_json and feed is None,
            label="looking up",
        )

    def render() -> None:
        # The worst rows of a feed; every row is in --json.
        rows = report.rows(MAX_TABLE_ROWS)
        console.print(_verdict_table(rows, ["indicator", "verdict", "reason", "detections", "type"]))
        if len(rows) < len(report.items):
            console.print(
                f"… {len(report.items) - len(rows):,} more rows left out (the worst {len(rows):,} of "
                f"{len(report.items):,} are shown); --json prints every row.",
                markup=False,
            )

    if as_json:
        # Row by row: a feed's 100,000 rows are never one document (or a dict each) in memory.
        sys.stdout.write(f'{{"emulated": {"true" if report.emulated else "false"}, "result": ')
        sys.stdout.writelines(report_json(report))
        sys.stdout.write("}\n")
    else:
        emit(report, as_json=False, emulated=report.emulated, render=render)
    statuses = {item.status.value for item in report.items}
    if statuses == {"invalid"}:
        raise typer.Exit(int(ExitCode.BAD_INPUT))
    if statuses and statuses <= {"error", "quota_limited", "invalid"}:
        raise typer.Exit(int(ExitCode.SERVICE))
    _exit_for([item.verdict for item in report.items], threshold)
    if statuses & {"error", "quota_limited", "invalid"}:
        raise typer.Exit(int(ExitCode.PARTIAL))


def _verdict_table(rows: list[dict[str, str]], columns: list[str]) -> Table:
    table = Table(*columns)
    for row in rows:
        table.add_row(*(text_cell(row.get(c, "")) for c in columns))
    return table


@app.command()
def scan(
    target: Annotated[str, typer.Argument(help="A file path, or a URL with its scheme (or use --url).")],
    private: Annotated[bool, typer.Option("--private", help="Private scanning (needs the licence).")] = False,
    public: Annotated[
        bool,
        typer.Option(
            "--public",
            help="Upload a file VirusTotal has never seen to the public service (visible to its "
            "community). Without --public or --private, an unknown file is only looked up.",
        ),
    ] = False,
    as_url: Annotated[bool, typer.Option("--url", help="TARGET is a URL even without a scheme.")] = False,
    no_wait: Annotated[
        bool, typer.Option("--no-wait", help="Submit and return; a later run attaches to the analysis.")
    ] = False,
    timeout: Annotated[float, typer.Option(min=0, help="Seconds to wait for the verdict.")] = 900.0,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    fail_on: FailOnOption = None,
    record: RecordOption = False,
) -> None:
    """Submit a file or a URL, wait for the analysis, print the verdict.

    A file VirusTotal does not know is uploaded only with --private or --public; a name
    without a scheme is a file, and one that does not exist is an error (nothing is sent).
    With no Prefect API configured (and neither ``--block`` nor ``--record``) it runs the
    submission directly, its checkpoint in a local folder (``$VT_STATE_DIR``); otherwise it
    runs the ``submit_and_wait`` flow, which shows in the UI.
    """
    from prefect_virustotal.client import MAX_UPLOAD_SIZE, PublicUploadRefusedError
    from prefect_virustotal.core import regular_file

    threshold = _check_fail_on(fail_on)
    if private and public:
        fail(ExitCode.BAD_INPUT, "give --private or --public, not both")
    if timeout < 0:
        fail(ExitCode.BAD_INPUT, "--timeout must not be negative")
    is_url = as_url or "://" in target
    file_path: str | None = None
    if is_url:
        target = scrub_credentials([target])[0]
    else:
        try:
            real = regular_file(target, "file to scan", MAX_UPLOAD_SIZE)
        except InvalidParameterError as exc:
            fail(
                ExitCode.BAD_INPUT, f"{exc} (to scan a URL, give its scheme, e.g. https://..., or use --url)"
            )
        if real != Path(target).expanduser().absolute():
            warn(f"{target} is a link to {real}; scanning {real}")
        file_path = str(real)
    target_ = resolve_target(block, emulator)
    # A file is uploaded publicly only when asked for by name.
    confidential = not is_url and not public

    async def at_once(vt: VirusTotalClient) -> SubmissionResult:
        # The flow's own engine, without Prefect: the same plan, checks and checkpoint.
        from prefect_virustotal.core import (
            ClientSteps,
            WaitSettings,
            plan_submission,
            run_submission,
            submission_result,
        )

        plan = plan_submission(
            file_path=file_path,
            url=target if is_url else None,
            private=private,
            confidential=confidential,
            timeout=timeout,
        )
        steps = ClientSteps(vt, WaitSettings(timeout=timeout))
        return submission_result(
            await run_submission(plan, steps, local_checkpoints(target_), wait=not no_wait)
        )

    async def as_flow(credentials: VirusTotalCredentials) -> SubmissionResult:
        from prefect_virustotal.flows import submit_and_wait

        return await submit_and_wait(
            file_path=file_path,
            url=target if is_url else None,
            private=private,
            confidential=confidential,
            timeout=timeout,
            wait=not no_wait,
            credentials=credentials,
        )

    async def refused_as_answer(work: Awaitable[SubmissionResult]) -> SubmissionResult | dict[str, str]:
        if target_.emulated and target_.emulator is not None and not no_wait:
            target_.emulator.scanning.set_durations(queued=0, running=0)
        try:
            return await work
        except PublicUploadRefusedError as exc:
            return {"file": file_path or "", "sha256": exc.sha256, "status": "not_uploaded"}

    outcome = run_command(
        target_,
        flow=lambda credentials: refused_as_answer(as_flow(credentials)),
        direct=lambda vt: refused_as_answer(at_once(vt)),
        record=record,
        progress=not as_json,
        label="waiting for the analysis",
    )
    if isinstance(outcome, dict):
        refused = outcome
        emit(
            refused,
            as_json=as_json,
            emulated=target_.emulated,
            render=lambda: console.print(
                f"{shown(refused['file'])}: VirusTotal has no recent report of sha256 {refused['sha256']}; "
                "nothing was uploaded. To submit it: --private (private scanning), or --public "
                "(visible to VirusTotal's community)",
                markup=False,
            ),
        )
        return
    result = outcome
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
        if file_path is not None:
            console.print(f"file {shown(file_path)}", markup=False)
        indicator = defang(result.indicator) if result.kind == "url" else result.indicator
        console.print(f"{result.kind} {shown(indicator)}", markup=False)
        console.print(f"verdict: {shown(result.verdict)} ({shown(result.reason)})", markup=False)
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
    request_budget: Annotated[
        int, typer.Option("--request-budget", min=1, help="Most requests to spend.")
    ] = 100,
    fan_out: Annotated[int, typer.Option("--fan-out", min=1, help="Most items per relationship.")] = 20,
    stix: Annotated[Path | None, typer.Option("--stix", help="Write a STIX 2.1 bundle here.")] = None,
    mermaid: MermaidOption = False,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    record: RecordOption = False,
    send_internal: SendInternalOption = False,
    own_domain: OwnDomainOption = None,
) -> None:
    """Expand indicators through their relationships, within a request budget.

    With no Prefect API configured (and neither ``--block`` nor ``--record``) it answers at once,
    without starting Prefect; otherwise it runs the ``expand_iocs`` flow, which shows in the UI.
    Both build the graph with the same core loop (``core.expand_graph``).
    """
    if depth < 0 or request_budget < 0 or fan_out < 0:
        fail(ExitCode.BAD_INPUT, "--depth, --request-budget and --fan-out must not be negative")
    iocs = scrub_credentials(iocs)
    target = resolve_target(block, emulator)

    async def at_once(vt: VirusTotalClient) -> IOCGraph:
        # The flow's loop and defaults, each level fetched on one client, no level cache.
        # As the flow: a public key skips the Enterprise-only names. Read from the key's settings,
        # not the block (building a block imports Prefect).
        public = target.key_tier == "public"
        graph = await expand_graph(
            iocs,
            level_fetcher(vt, skip_enterprise=public),
            max_depth=depth,
            request_budget=request_budget,
            fan_out=fan_out,
            internal=None if send_internal else list(own_domain or []),
        )
        if stix:
            stix.write_text(stix_bundle_json(graph), encoding="utf-8")
        return graph

    async def as_flow(credentials: VirusTotalCredentials) -> IOCGraph:
        from prefect_virustotal.flows import expand_iocs

        return await expand_iocs(
            iocs,
            credentials=credentials,
            max_depth=depth,
            request_budget=request_budget,
            fan_out=fan_out,
            stix_path=str(stix) if stix else None,
            send_internal=send_internal,
            own_domains=own_domain,
        )

    graph = run_command(
        target, flow=as_flow, direct=at_once, record=record, progress=not as_json, label="expanding"
    )

    def render() -> None:
        columns = ["indicator", "verdict", "detections", "found via", "type", "depth"]
        console.print(_verdict_table(node_rows(graph)[:50], columns))
        console.print(f"{len(graph.nodes)} nodes, {len(graph.edges)} edges, {graph.requests} requests")
        if graph.unexpanded:
            console.print(
                f"{len(graph.unexpanded)} nodes not expanded (e.g. {shown(graph.unexpanded[0].reason)})",
                markup=False,
            )
        if mermaid:
            console.print(mermaid_diagram(graph), markup=False)

    emit(graph, as_json=as_json, emulated=graph.emulated or target.emulated, render=render)
    if any(gap.reason in ("error", "quota") for gap in graph.unexpanded):
        raise typer.Exit(int(ExitCode.PARTIAL))


@app.command("retrohunt")
def retrohunt_command(
    rules_file: Annotated[Path, typer.Argument(help="A file of YARA rules.")],
    corpus: Annotated[Corpus, typer.Option(help="main or goodware.")] = Corpus.MAIN,
    timeout: Annotated[float, typer.Option(min=1, help="Seconds before the job is aborted.")] = 6 * 3600,
    poll_interval: Annotated[float, typer.Option(min=1, help="Seconds between progress checks.")] = 60.0,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
) -> None:
    """Run YARA rules over VirusTotal's past files (checked locally first) and list the matches."""
    if timeout <= 0 or poll_interval <= 0:
        fail(ExitCode.BAD_INPUT, "--timeout and --poll-interval must be more than 0 seconds")
    rules = read_input(rules_file, "rules file")
    target = resolve_target(block, emulator)

    async def work() -> RetrohuntReport:
        from prefect_virustotal.flows import retrohunt

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
            timeout=timeout,
            poll_interval=poll_interval,
        )

    report = run(target, work)

    def render() -> None:
        console.print(
            f"job {report.job_id}: {report.status}; {len(report.matches)} matching files", markup=False
        )
        for match in report.matches[:50]:
            console.print(f"  {match.id}  {shown(match.attributes.meaningful_name or '')}", markup=False)

    emit(report, as_json=as_json, emulated=report.emulated or target.emulated, render=render)
    if report.status != "finished":
        # Aborted at its deadline (or otherwise cut short): the matches are a part, not the answer.
        raise typer.Exit(int(ExitCode.PARTIAL))


_STOPPED = {
    "limit": "; stopped at --limit, the rest waits for the next run",
    "request_budget": "; stopped by the run's request budget, the rest waits for the next run",
}
"""How a poll's ``PollReport.stopped`` reads on the terminal."""

alerts_app = typer.Typer(help="Alerts: IoC Stream and livehunt notifications.", no_args_is_help=True)
app.add_typer(alerts_app, name="alerts")


@alerts_app.command("poll")
def alerts_poll(
    source: Annotated[
        AlertSource, typer.Option(help="ioc_stream, hunting_notifications or vt_alerts.")
    ] = "ioc_stream",
    acknowledge: Annotated[
        bool, typer.Option("--acknowledge", help="Delete each notification after its hand-off.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="Most alerts to hand on in this run.")] = 500,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
) -> None:
    """Hand on new alerts since the checkpoint (one Prefect event each), exactly once."""
    target = resolve_target(block, emulator)

    async def work() -> PollReport:
        from prefect_virustotal.flows import poll_alerts

        return await poll_alerts(
            credentials=target.credentials,
            source=source,
            acknowledge=acknowledge,
            limit=limit,
        )

    report = run(target, work)

    def render() -> None:
        console.print(
            f"{report.handed_on} alerts handed on ({report.by_origin}), {report.acknowledged} acknowledged, "
            f"{report.requests} requests" + _STOPPED.get(report.stopped or "", ""),
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
    expand_budget: Annotated[
        int, typer.Option("--expand-budget", min=0, help="Requests the expansion may spend.")
    ] = 40,
    mermaid: MermaidOption = False,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    fail_on: FailOnOption = None,
    record: RecordOption = False,
) -> None:
    """Run the incident-response runbook on a ticket (and its attached files).

    With no Prefect API configured (and neither ``--block`` nor ``--record``) it runs the
    runbook directly, without starting Prefect (submission checkpoints in a local folder,
    ``$VT_STATE_DIR``); otherwise it runs the ``triage`` flow, which shows in the UI. Both run
    the same core runbook (``core.run_triage``) and give the same report.
    """
    from prefect_virustotal.client import MAX_UPLOAD_SIZE
    from prefect_virustotal.core import regular_file

    threshold = _check_fail_on(fail_on)
    if expand_budget < 0:
        fail(ExitCode.BAD_INPUT, "--expand-budget must not be negative")
    # Checked here (special files, size, encoding; credentials warned of); the flow reads the
    # ticket again by path, so a large ticket never becomes a flow-run parameter.
    scrub_credentials([read_input(ticket, "ticket")])
    attached = []
    for file in files or []:
        try:
            attached.append(regular_file(file, "attached file", MAX_UPLOAD_SIZE))
        except InvalidParameterError as exc:
            fail(ExitCode.BAD_INPUT, str(exc))
    target = resolve_target(block, emulator)
    name = case or ticket.stem

    def instant_analyses() -> None:
        if target.emulated and target.emulator is not None:
            target.emulator.scanning.set_durations(queued=0, running=0)

    async def at_once(vt: VirusTotalClient) -> TriageReport:
        # The flow's runbook (``core.run_triage``) with its steps on this one client; submissions
        # and the case collection's name remembered in a local folder, as ``scan`` does.
        from prefect_virustotal.core import ClientTriageSteps, run_triage

        instant_analyses()
        steps = ClientTriageSteps(vt, local_checkpoints(target), skip_enterprise=target.key_tier == "public")
        done = await run_triage(
            name,
            steps,
            ticket_path=str(ticket),
            files=[str(f) for f in attached],
            allow_public_upload=allow_public_upload,
            expand_budget=expand_budget,
        )
        if report:
            report.write_text(done.markdown, encoding="utf-8")
        return done

    async def as_flow(credentials: VirusTotalCredentials) -> TriageReport:
        from prefect_virustotal.flows import triage

        instant_analyses()
        return await triage(
            name,
            ticket_path=str(ticket),
            files=[str(f) for f in attached],
            credentials=credentials,
            allow_public_upload=allow_public_upload,
            expand_budget=expand_budget,
            report_path=str(report) if report else None,
        )

    result = run_command(
        target, flow=as_flow, direct=at_once, record=record, progress=not as_json, label="triaging"
    )

    def render() -> None:
        # Line by line, so that the report keeps its lines and only data escapes are escaped.
        console.print("\n".join(shown(line) for line in result.markdown.splitlines()), markup=False)
        if mermaid and result.graph is not None:
            console.print(mermaid_diagram(result.graph), markup=False)
        if report:
            console.print(f"Report written to {shown(report)}", markup=False)

    emit(result, as_json=as_json, emulated=result.emulated or target.emulated, render=render)
    _exit_for([result.summary_verdict], threshold)
    if any(skip.reason in ("error", "quota", "unreadable") for skip in result.skipped):
        raise typer.Exit(int(ExitCode.PARTIAL))


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
    prune: Annotated[
        bool,
        typer.Option("--prune", help="Allow removing more than half of the collection, or all of it."),
    ] = False,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
) -> None:
    """Make collection NAME hold exactly the indicators in FILE (created when missing).

    FILE is UTF-8 or UTF-16 text; one that cannot be read, or holds no indicator, changes
    nothing (exit 2). Removing more than half of the collection needs --prune.
    """
    scrub_credentials([read_input(file, "indicator file")])  # checked, and credentials warned of
    target = resolve_target(block, emulator)

    async def work() -> CollectionSyncReport:
        from prefect_virustotal.flows import sync_collection

        return await sync_collection(
            name,
            path=file,
            credentials=target.credentials,
            remove_missing=not keep_others,
            allow_mass_removal=prune,
        )

    report = run(target, work)

    def render() -> None:
        state = "created" if report.created else "updated"
        console.print(f"Collection {shown(report.name)} {state}: {report.link}", markup=False)
        console.print(
            f"added {len(report.added)}, removed {len(report.removed)}, unchanged {report.unchanged}, "
            f"not used {len(report.invalid)}",
            markup=False,
        )
        for item in report.invalid:
            # By value (a person must find the line), with any URL in it defanged.
            console.print(f"  not used (not an indicator): {shown(defang_text(item))}", markup=False)

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
