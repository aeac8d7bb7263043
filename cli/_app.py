"""``prefect-virustotal``: the pack's flows from a terminal."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from prefect_virustotal.flows import CollectionSyncReport, EnrichmentReport, enrich_iocs, sync_collection

from ._common import ExitCode, console, emit, fail, resolve_target, run

app = typer.Typer(
    name="prefect-virustotal",
    help="VirusTotal API v3 workflows as Prefect flows. Runs show in Prefect's UI when a server "
    "is configured. Exit codes: 0 ok, 1 malicious (with --fail-on malicious), 2 bad input, "
    "3 quota or service error.",
    no_args_is_help=True,
    add_completion=False,
)
emulator_app = typer.Typer(help="The offline emulator of the v3 API.", no_args_is_help=True)
app.add_typer(emulator_app, name="emulator")
collection_app = typer.Typer(help="IoC collections.", no_args_is_help=True)
app.add_typer(collection_app, name="collection")

BlockOption = Annotated[
    str | None, typer.Option("--block", help="Name of a saved VirusTotalCredentials block.")
]
EmulatorOption = Annotated[
    bool, typer.Option("--emulator", help="Run against the in-process emulator (fiction, no key).")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")]
FailOnOption = Annotated[
    str | None,
    typer.Option("--fail-on", help="Exit 1 when a verdict is this bad or worse: malicious or suspicious."),
]

_SEVERITY = {"malicious": 3, "suspicious": 2}


def _check_fail_on(fail_on: str | None) -> int | None:
    if fail_on is None:
        return None
    if fail_on not in _SEVERITY:
        fail(ExitCode.BAD_INPUT, "--fail-on takes 'malicious' or 'suspicious'")
    return _SEVERITY[fail_on]


def _exit_for(verdicts: list[str], threshold: int | None) -> None:
    if threshold is not None and any(_SEVERITY.get(v, 0) >= threshold for v in verdicts):
        raise typer.Exit(int(ExitCode.MALICIOUS))


@app.command()
def lookup(
    iocs: Annotated[list[str], typer.Argument(help="Hashes, URLs, domains, IPs (defanged is fine).")],
    block: BlockOption = None,
    emulator: EmulatorOption = False,
    as_json: JsonOption = False,
    fail_on: FailOnOption = None,
) -> None:
    """Look indicators up and print a verdict with its reason for each."""
    threshold = _check_fail_on(fail_on)
    target = resolve_target(block, emulator)

    async def work() -> EnrichmentReport:
        return await enrich_iocs(indicators=iocs, credentials=target.credentials)

    report = run(target, work)

    def render() -> None:
        table = Table("indicator", "type", "verdict", "detections", "reason")
        for row in report.rows():
            table.add_row(row["indicator"], row["type"], row["verdict"], row["detections"], row["reason"])
        console.print(table)

    emit(report.model_dump(mode="json"), as_json=as_json, emulated=report.emulated, render=render)
    statuses = {item.lookup.status.value for item in report.items}
    if statuses == {"invalid"}:
        raise typer.Exit(int(ExitCode.BAD_INPUT))
    if statuses and statuses <= {"error", "quota_limited", "invalid"}:
        raise typer.Exit(int(ExitCode.SERVICE))
    _exit_for([item.verdict for item in report.items], threshold)


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
            console.print(f"  skipped (invalid): {item}", markup=False)

    emit(report, as_json=as_json, emulated=report.emulated or target.emulated, render=render)


@emulator_app.command("serve")
def emulator_serve(
    host: Annotated[
        str, typer.Option(help="Address to bind (loopback only unless --allow-remote).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port (0 picks a free one).")] = 8080,
    api_key: Annotated[
        list[str] | None, typer.Option("--api-key", help="KEY[:public|premium], repeatable.")
    ] = None,
    seed: Annotated[int, typer.Option(help="Seed of the emulated world.")] = 0,
) -> None:
    """Serve the emulator on loopback (same as ``python -m prefect_virustotal.emulator``)."""
    from prefect_virustotal.emulator.__main__ import main as emulator_main

    argv = ["--host", host, "--port", str(port), "--seed", str(seed)]
    for key in api_key or []:
        argv += ["--api-key", key]
    raise typer.Exit(emulator_main(argv))
