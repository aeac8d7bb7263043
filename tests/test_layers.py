"""The layer contracts of DESIGN.md, held by import-linter (``make layers``), and each proven to bite.

Every contract in ``[tool.importlinter]`` is run against a copy of the pack with imports
planted that break it: the copy passes untouched and fails with the plants, each named under
the contract, so a contract that stopped matching anything (a renamed package, a typo) would
fail here instead of keeping quiet in ``make check``.
"""

from __future__ import annotations

import ast
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import tomllib

ROOT = Path(__file__).resolve().parent.parent
LAYERS = ["client", "core", "blocks", "tasks", "flows", "emulator", "cli"]
LINT_IMPORTS = Path(sys.executable).with_name("lint-imports")

# contract id -> (layer folder that gets the planted module, the planted import)
PLANTS: dict[str, list[tuple[str, str]]] = {
    "client-core-no-prefect": [
        ("client", "import prefect"),
        ("core", "import prefect.variables"),
        ("core", "from prefect_virustotal import blocks"),  # a layer that imports prefect
    ],
    "client-below-core": [("client", "from prefect_virustotal import core")],
    "tasks-flows-no-httpx": [("tasks", "import httpx"), ("flows", "from httpx import AsyncClient")],
    "emulator-standalone": [
        ("emulator", "from prefect_virustotal.client import models"),
        ("emulator", "import prefect"),
    ],
    "tasks-below-flows": [("tasks", "from prefect_virustotal import flows")],
    "blocks-below-tasks": [
        ("blocks", "from prefect_virustotal import tasks"),
        ("blocks", "from prefect_virustotal import core"),
    ],
    "flows-below-cli": [("flows", "from prefect_virustotal.cli import app")],
    "private-modules": [
        ("flows", "from prefect_virustotal.tasks._lookups import lookup_indicators"),
        ("cli", "from prefect_virustotal.emulator._hunting import RetrohuntDurations"),
        ("core", "from prefect_virustotal.client._core import VirusTotalClient"),
    ],
}


CONTRACT_NAMES = {
    c["id"]: c["name"]
    for c in tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["importlinter"]["contracts"]
}


def contract_ids() -> list[str]:
    return list(CONTRACT_NAMES)


def test_every_contract_has_a_plant() -> None:
    assert sorted(contract_ids()) == sorted(PLANTS)


def pack_copy(tmp_path: Path) -> Path:
    """The pack's layers laid out as ``prefect_virustotal/<layer>`` under a temporary folder."""
    for layer in LAYERS:
        shutil.copytree(
            ROOT / layer,
            tmp_path / "prefect_virustotal" / layer,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    return tmp_path


def lint(copy: Path) -> subprocess.CompletedProcess[str]:
    """``lint-imports``, every contract, over the copy (found first on ``PYTHONPATH``)."""
    # Wide: Rich wraps the report at 80 columns when it is not a terminal.
    env = {**os.environ, "PYTHONPATH": str(copy), "COLUMNS": "200"}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "pyproject.toml"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def broken_sections(report: str, names: dict[str, str]) -> dict[str, str]:
    """Each broken contract's part of a ``lint-imports`` report, by contract id.

    The report ends with a "Broken contracts" part: each contract's name, underlined, then the
    imports that break it.
    """
    _, _, broken = report.partition("Broken contracts")
    lines = broken.splitlines()
    starts = [
        (i, line)
        for i, line in enumerate(lines[:-1])
        if line in names.values() and lines[i + 1] == "-" * len(line)
    ]
    ids = {name: contract for contract, name in names.items()}
    return {
        ids[name]: "\n".join(lines[i:next_i])
        for (i, name), next_i in zip(starts, [i for i, _ in starts[1:]] + [len(lines)], strict=True)
    }


def plant_name(contract: str, index: int) -> str:
    return f"_planted_{contract.replace('-', '_')}_{index}"


@pytest.fixture(scope="module")
def reports(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, dict[str, str]]:
    """Two ``lint-imports`` runs over a copy of the pack, each of every contract.

    The copy untouched (its report), then with every plant at once (each broken contract's
    part of its report). One run per contract and plant (23) cost 2-4 s each; a planted module
    is imported by nothing, so an import chain that names it starts at its own planted import:
    a plant named under a contract breaks that contract by itself, with or without the others.
    """
    copy = pack_copy(tmp_path_factory.mktemp("layers"))
    kept = lint(copy)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    for contract, plants in PLANTS.items():
        for index, (layer, statement) in enumerate(plants):
            planted = copy / "prefect_virustotal" / layer / f"{plant_name(contract, index)}.py"
            planted.write_text(f'"""A planted violation."""\n\n{statement}\n')
    broken = lint(copy)
    assert broken.returncode == 1, broken.stdout + broken.stderr
    assert f"Contracts: 0 kept, {len(CONTRACT_NAMES)} broken." in broken.stdout, broken.stdout
    return kept.stdout, broken_sections(broken.stdout, CONTRACT_NAMES)


@pytest.mark.parametrize("contract", sorted(PLANTS))
def test_contract_is_kept_and_fails_on_a_planted_violation(
    reports: tuple[str, dict[str, str]], contract: str
) -> None:
    kept, broken = reports
    assert f"{CONTRACT_NAMES[contract]} KEPT" in kept, kept
    assert contract in broken, sorted(broken)
    for index, (layer, statement) in enumerate(PLANTS[contract]):
        assert f".{plant_name(contract, index)}" in broken[contract], (
            f"{contract} kept despite {layer}: {statement}\n{broken[contract]}"
        )


# Scripts outside the packages (import-linter sees packages only) use public names too.
@pytest.mark.parametrize("folder", ["demo", "deployments"])
def test_scripts_import_no_private_module(folder: str) -> None:
    for path in (ROOT / folder).rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = (
                [node.module or ""]
                if isinstance(node, ast.ImportFrom)
                else [a.name for a in node.names]
                if isinstance(node, ast.Import)
                else []
            )
            for name in names:
                if name.startswith("prefect_virustotal"):
                    private = [part for part in name.split(".") if part.startswith("_")]
                    assert not private, f"{path.relative_to(ROOT)} imports private {name}"


@pytest.mark.parametrize(
    ("filename", "banned"), [("tasks/_x.py", True), ("flows/_x.py", True), ("client/_x.py", False)]
)
def test_ruff_bans_httpx_in_tasks_and_flows(filename: str, banned: bool) -> None:
    ruff = Path(sys.executable).with_name("ruff")
    result = subprocess.run(
        [str(ruff), "check", "--no-cache", "--select", "TID251", "--stdin-filename", filename, "-"],
        cwd=ROOT,
        input='"""A module."""\n\nimport httpx\n\nhttpx.get\n',
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode == 1 and "TID251" in result.stdout) is banned, result.stdout
