"""SOC commands: ``search``, ``behaviour``, ``download``, ``comments``, ``comment``, ``vote``, ``quota``.

Each takes ``--block``/``--emulator`` and ``--json`` like the other commands and uses the
documented exit codes (2 bad input, before any request; 3 service or quota error). Comments
and votes are public and permanent: ``comment`` and ``vote`` ask for confirmation unless
``--yes`` is given. Anything a person reads is defanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.table import Table

from prefect_virustotal.client import InvalidParameterError, VirusTotalClient, VoteVerdict, parse_indicator
from prefect_virustotal.core import defang, defang_text, hit_rows, usage_chart

from ._common import (
    ExitCode,
    RecordOption,
    console,
    emit,
    fail,
    local_checkpoints,
    resolve_target,
    run_command,
)

if TYPE_CHECKING:
    from prefect_virustotal.blocks import VirusTotalCredentials
    from prefect_virustotal.core import SearchReport

BlockOption = Annotated[
    str | None, typer.Option("--block", help="Name of a saved VirusTotalCredentials block.")
]
EmulatorOption = Annotated[
    bool, typer.Option("--emulator", help="Run against the in-process emulator (fiction, no key).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
YesOption = Annotated[
    bool, typer.Option("--yes", "-y", help="Publish without asking (it is public and permanent).")
]


def _indicator_or_exit(value: str) -> str:
    try:
        return parse_indicator(value).value
    except ValueError as exc:  # InvalidIndicatorError
        fail(ExitCode.BAD_INPUT, str(exc))


def search(
    query: Annotated[str, typer.Argument(help="A VirusTotal Intelligence query, e.g. 'type:peexe p:10+'.")],
    limit: Annotated[int, typer.Option(help="Results to fetch at most.")] = 20,
    order: Annotated[str | None, typer.Option(help="<field>+ or <field>-, e.g. positives-.")] = None,
    collection: Annotated[str | None, typer.Option(help="Add the results to this IoC collection.")] = None,
    strict: Annotated[
        bool, typer.Option("--strict/--no-strict", help="Refuse unknown modifiers before sending.")
    ] = True,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    record: RecordOption = False,
) -> None:
    """Search VirusTotal Intelligence (premium); results ranked worst first.

    With no Prefect API configured (and neither ``--block`` nor ``--record``) it answers at once,
    without starting Prefect (a ``--collection`` is remembered in a local folder, ``$VT_STATE_DIR``);
    otherwise it runs the ``intelligence_search`` flow, which shows in the UI.
    """
    from prefect_virustotal.core import plan_search

    try:
        checked, page_size, capped = plan_search(query, limit, None, strict_modifiers=strict)
    except InvalidParameterError as exc:
        fail(ExitCode.BAD_INPUT, str(exc))
    target = resolve_target(block, emulator)

    async def as_flow(credentials: VirusTotalCredentials) -> SearchReport:
        from prefect_virustotal.flows import intelligence_search

        return await intelligence_search(
            query,
            limit=limit,
            order=order,
            collection=collection,
            credentials=credentials,
            strict_modifiers=strict,
        )

    async def at_once(vt: VirusTotalClient) -> SearchReport:
        # The flow's plan, listing and ranking, on this client (no artifact).
        from prefect_virustotal.core import (
            ClientCollectionSteps,
            read_search_page,
            run_collection_sync,
            search_report,
        )

        page = await read_search_page(vt, checked, limit=capped, page_size=page_size, order=order)
        report = search_report(checked, page)
        if collection and report.hits:
            report.collection = await run_collection_sync(
                collection,
                ClientCollectionSteps(vt),
                local_checkpoints(target),
                indicators=[hit.indicator for hit in report.hits],
                remove_missing=False,
            )
        return report

    report = run_command(
        target, flow=as_flow, direct=at_once, record=record, progress=not as_json, label="searching"
    )

    def render() -> None:
        table = Table("#", "type", "indicator", "verdict", "detections")
        for row in hit_rows(report.hits):
            table.add_row(row["rank"], row["type"], row["indicator"], row["verdict"], row["detections"])
        console.print(table)
        if report.resume:
            console.print(f"more results: continue with cursor {report.resume}", markup=False)

    emit(report, as_json=as_json, emulated=report.emulated or target.emulated, render=render)


def behaviour(
    file_hash: Annotated[str, typer.Argument(metavar="HASH", help="MD5, SHA-1 or SHA-256.")],
    top: Annotated[int, typer.Option(help="Techniques to show, most severe first.")] = 10,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    record: RecordOption = False,
) -> None:
    """Show what a file did in the sandboxes: ATT&CK techniques, verdicts, network indicators."""
    from prefect_virustotal.client import parse_file_hash
    from prefect_virustotal.core import BehaviourProfile, behaviour_profile

    try:
        sha = parse_file_hash(file_hash)
    except ValueError as exc:
        fail(ExitCode.BAD_INPUT, str(exc))
    target = resolve_target(block, emulator)

    # The tasks take every argument by name: their credentials are keyword-only (issue 17, point 5).
    async def as_flow(credentials: VirusTotalCredentials) -> BehaviourProfile:
        from prefect_virustotal.tasks import get_behaviour_profile

        return await get_behaviour_profile(file_hash=sha, top=top, credentials=credentials)

    async def at_once(vt: VirusTotalClient) -> BehaviourProfile:
        return await behaviour_profile(vt, sha, top)

    profile = run_command(target, flow=as_flow, direct=at_once, record=record, progress=not as_json)

    def render() -> None:
        if not profile.ran:
            console.print("No sandbox report for this file.")
            return
        console.print(
            f"Sandboxes: {', '.join(profile.sandboxes)}; verdicts: {', '.join(profile.verdicts) or '-'}"
        )
        table = Table("technique", "name", "tactic", "severity", "sandboxes")
        for row in profile.techniques:
            table.add_row(row.id, row.name, row.tactic, row.severity, str(len(row.sandboxes)))
        console.print(table)
        for kind, values in profile.network.items():
            if values:
                console.print(f"{kind}: {', '.join(defang(v) for v in values)}", markup=False)

    emit(profile, as_json=as_json, emulated=target.emulated, render=render)


def download(
    file_hash: Annotated[str, typer.Argument(metavar="HASH", help="MD5, SHA-1 or SHA-256.")],
    out: Annotated[Path | None, typer.Option("--out", help="File to create (default ./<hash>.zip).")] = None,
    plain: Annotated[
        bool, typer.Option("--plain", help="Keep the bare sample, not a ZIP (password 'infected').")
    ] = False,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    record: RecordOption = False,
) -> None:
    """Download a sample (premium) into a ZIP with the password 'infected', hash-checked, mode 0600."""
    from prefect_virustotal.client import free_destination, parse_file_hash
    from prefect_virustotal.client.models import DownloadedFile
    from prefect_virustotal.core import download_sample

    try:
        ident = parse_file_hash(file_hash)
        dest = free_destination(out or Path(f"{ident}{'.sample' if plain else '.zip'}"))
    except ValueError as exc:
        fail(ExitCode.BAD_INPUT, str(exc))
    target = resolve_target(block, emulator)

    async def as_flow(credentials: VirusTotalCredentials) -> DownloadedFile:
        from prefect_virustotal.tasks import download_file

        return await download_file(file_hash=ident, dest=dest, plain=plain, credentials=credentials)

    async def at_once(vt: VirusTotalClient) -> DownloadedFile:
        return await download_sample(vt, ident, dest, plain=plain)

    result = run_command(
        target, flow=as_flow, direct=at_once, record=record, progress=not as_json, label="downloading"
    )

    def render() -> None:
        kind = "ZIP (password: infected)" if result.zipped else "plain sample (do not open)"
        console.print(
            f"{result.path}: {kind}, {result.size} bytes, SHA-256 {result.sha256} verified", markup=False
        )

    emit(result, as_json=as_json, emulated=target.emulated, render=render)


def comments(
    indicator: Annotated[
        str, typer.Argument(metavar="ID", help="A hash, URL, domain or IP (defanged is fine).")
    ],
    limit: Annotated[int, typer.Option(help="Comments to show, newest first.")] = 20,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    record: RecordOption = False,
) -> None:
    """Show the community's comments and votes on an object."""
    from prefect_virustotal.client.models import CommentObject, VoteObject

    value = _indicator_or_exit(indicator)
    target = resolve_target(block, emulator)

    def listed(found: list[CommentObject], votes: list[VoteObject]) -> dict[str, list[dict[str, object]]]:
        return {
            "comments": [c.model_dump(mode="json") for c in found],
            "votes": [v.model_dump(mode="json") for v in votes],
        }

    async def as_flow(credentials: VirusTotalCredentials) -> dict[str, list[dict[str, object]]]:
        from prefect_virustotal.tasks import list_comments, list_votes

        found = await list_comments(indicator=value, limit=limit, credentials=credentials)
        return listed(found, await list_votes(indicator=value, limit=limit, credentials=credentials))

    async def at_once(vt: VirusTotalClient) -> dict[str, list[dict[str, object]]]:
        found = [c async for c in vt.community.list_comments(value, limit=limit)]
        return listed(found, [v async for v in vt.community.list_votes(value, limit=limit)])

    result = run_command(target, flow=as_flow, direct=at_once, record=record, progress=not as_json)

    def render() -> None:
        tally: dict[str, int] = {}
        for vote in result["votes"]:
            verdict = str(vote["attributes"]["verdict"])  # type: ignore[index]
            tally[verdict] = tally.get(verdict, 0) + 1
        console.print(f"votes: {tally or 'none'}", markup=False)
        if not result["comments"]:
            console.print("No comments.")
        for comment in result["comments"]:
            attrs = comment["attributes"]
            console.print(f"- {defang_text(str(attrs['text']))}", markup=False)  # type: ignore[index]

    emit(result, as_json=as_json, emulated=target.emulated, render=render)


def _confirm(yes: bool, what: str) -> None:
    if not yes and not typer.confirm(f"{what} is public and permanent. Publish it?", default=False):
        fail(ExitCode.BAD_INPUT, "not published (pass --yes to publish without asking)")


def comment(
    indicator: Annotated[
        str, typer.Argument(metavar="ID", help="A hash, URL, domain or IP (defanged is fine).")
    ],
    text: Annotated[str, typer.Argument(help="The comment; #words become tags.")],
    yes: YesOption = False,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    record: RecordOption = False,
) -> None:
    """Publish a comment on an object (public and permanent)."""
    from prefect_virustotal.client.models import CommentObject

    value = _indicator_or_exit(indicator)
    if not text.strip():
        fail(ExitCode.BAD_INPUT, "the comment is empty")
    _confirm(yes, "A comment")
    target = resolve_target(block, emulator)

    async def as_flow(credentials: VirusTotalCredentials) -> CommentObject:
        from prefect_virustotal.tasks import add_comment

        return await add_comment(indicator=value, text=text, credentials=credentials)

    async def at_once(vt: VirusTotalClient) -> CommentObject:
        return await vt.community.add_comment(value, text)

    posted = run_command(target, flow=as_flow, direct=at_once, record=record, progress=not as_json)
    emit(
        posted,
        as_json=as_json,
        emulated=target.emulated,
        render=lambda: console.print(f"comment {posted.id} published"),
    )


def vote(
    indicator: Annotated[
        str, typer.Argument(metavar="ID", help="A hash, URL, domain or IP (defanged is fine).")
    ],
    verdict: Annotated[str, typer.Argument(help="malicious or harmless.")],
    yes: YesOption = False,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    record: RecordOption = False,
) -> None:
    """Vote an object malicious or harmless (public and permanent)."""
    from prefect_virustotal.client.models import VoteObject

    value = _indicator_or_exit(indicator)
    if verdict not in ("malicious", "harmless"):
        fail(ExitCode.BAD_INPUT, "a vote is 'malicious' or 'harmless'")
    chosen: VoteVerdict = "malicious" if verdict == "malicious" else "harmless"
    _confirm(yes, "A vote")
    target = resolve_target(block, emulator)

    async def as_flow(credentials: VirusTotalCredentials) -> VoteObject:
        from prefect_virustotal.tasks import add_vote

        return await add_vote(indicator=value, verdict=chosen, credentials=credentials)

    async def at_once(vt: VirusTotalClient) -> VoteObject:
        return await vt.community.add_vote(value, chosen)

    cast = run_command(target, flow=as_flow, direct=at_once, record=record, progress=not as_json)
    emit(
        cast,
        as_json=as_json,
        emulated=target.emulated,
        render=lambda: console.print(f"vote {cast.id}: {verdict}"),
    )


def quota(
    threshold: Annotated[
        float, typer.Option(help="Fraction of the daily quota that counts as 'running out'.")
    ] = 0.8,
    days: Annotated[int, typer.Option(help="Days to chart (1-30).")] = 30,
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    record: RecordOption = False,
) -> None:
    """Show the key's quota use and a chart of requests per day.

    As a flow (``--record``, or a Prefect API configured) it also writes the artifacts and emits
    the quota event an automation can act on.
    """
    from datetime import datetime, timedelta, timezone

    from prefect_virustotal.core import QuotaReport, quota_usage

    if not 0 < threshold <= 1 or not 1 <= days <= 30:
        fail(ExitCode.BAD_INPUT, "--threshold is a fraction in (0, 1] and --days is 1-30")
    target = resolve_target(block, emulator)

    async def as_flow(credentials: VirusTotalCredentials) -> QuotaReport:
        from prefect_virustotal.flows import quota_report

        return await quota_report(credentials=credentials, threshold=threshold, days=days)

    async def at_once(vt: VirusTotalClient) -> QuotaReport:
        # The flow's two requests (the key's own user), without its artifacts and event.
        end = datetime.now(timezone.utc).date()
        quotas = await vt.users.get_overall_quotas(None)
        usage = await vt.users.get_api_usage(None, start_date=end - timedelta(days=days - 1), end_date=end)
        return quota_usage(quotas, usage, end=end, days=days, threshold=threshold)

    report = run_command(target, flow=as_flow, direct=at_once, record=record, progress=not as_json)

    def render() -> None:
        daily, monthly = report.quotas.daily, report.quotas.monthly
        console.print(
            f"today: {daily.used} of {daily.allowed}; this month: {monthly.used} of {monthly.allowed}"
        )
        console.print(usage_chart(report.days, daily.allowed or None), markup=False)
        if report.over_threshold:
            console.print(f"[bold red]today's use has passed {threshold:.0%} of the daily quota[/]")

    emit(report, as_json=as_json, emulated=target.emulated, render=render)


def register_soc_commands(app: typer.Typer) -> None:
    """Add this module's commands to the ``prefect-virustotal`` app."""
    for command in (search, behaviour, download, comments, comment, vote, quota):
        app.command()(command)
