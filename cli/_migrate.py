"""``prefect-virustotal migrate``: find API v2 usage in scripts and playbooks.

``migrate scan PATH...`` runs the core scanner in process: no Prefect server, no key, no request
to VirusTotal. Exit codes for CI gates: 0 nothing to migrate, 1 findings, 2 bad input (a missing
path, a special file, an unreadable or oversized file), checked before any file is read. Found
keys are printed masked, never in clear.
"""

from __future__ import annotations

from typing import Annotated

import typer

from prefect_virustotal.core import MigrationInputError, MigrationReport, scan_paths

from ._common import ExitCode, console, emit, fail

migrate_app = typer.Typer(help="Move legacy API v2 automation onto the pack.", no_args_is_help=True)


def _render(report: MigrationReport) -> None:
    for finding in report.findings:
        console.print(finding.text(), markup=False, highlight=False)
    files = len(report.files_with_findings())
    if report.clean:
        console.print(f"nothing to migrate in {len(report.files)} file(s)", markup=False)
    else:
        console.print(
            f"{len(report.findings)} finding(s) in {files} of {len(report.files)} file(s); "
            "see README 'Migrating from v2'",
            markup=False,
        )


@migrate_app.command("scan")
def migrate_scan(
    paths: Annotated[list[str], typer.Argument(help="Files and directories to scan.")],
    as_json: Annotated[bool, typer.Option("--json", help="Print machine-readable JSON.")] = False,
) -> None:
    """Report every v2 call, apikey parameter, v2-only field and literal key in PATH... (exit 1 if any)."""
    try:
        report = scan_paths(paths)
    except MigrationInputError as exc:
        fail(ExitCode.BAD_INPUT, str(exc))
    emit(report, as_json=as_json, emulated=False, render=lambda: _render(report))
    if not report.clean:
        raise typer.Exit(1)
