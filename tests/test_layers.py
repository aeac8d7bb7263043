"""The layer contracts of DESIGN.md, held by import-linter (``make layers``), and each proven to bite.

Every contract in ``[tool.importlinter]`` is run against a copy of the pack with one import
planted that breaks it: the copy passes untouched and fails with the plant, so a contract
that stopped matching anything (a renamed package, a typo) would fail here instead of
keeping quiet in ``make check``.
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


def contract_ids() -> list[str]:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    return [c["id"] for c in config["tool"]["importlinter"]["contracts"]]


def test_every_contract_has_a_plant() -> None:
    assert sorted(contract_ids()) == sorted(PLANTS)


@pytest.fixture
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


def lint(copy: Path, contract: str) -> subprocess.CompletedProcess[str]:
    """``lint-imports`` for one contract over the copy (found first on ``PYTHONPATH``)."""
    env = {**os.environ, "PYTHONPATH": str(copy)}
    return subprocess.run(
        [str(LINT_IMPORTS), "--no-cache", "--no-logo", "--contract", contract, "pyproject.toml"],
        cwd=copy,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


@pytest.mark.parametrize("contract", sorted(PLANTS))
def test_contract_is_kept_and_fails_on_a_planted_violation(pack_copy: Path, contract: str) -> None:
    kept = lint(pack_copy, contract)
    assert kept.returncode == 0, kept.stdout + kept.stderr
    for index, (layer, statement) in enumerate(PLANTS[contract]):
        planted = pack_copy / "prefect_virustotal" / layer / f"_planted{index}.py"
        planted.write_text(f'"""A planted violation."""\n\n{statement}\n')
        broken = lint(pack_copy, contract)
        planted.unlink()
        assert broken.returncode == 1, f"{contract} kept despite {layer}: {statement}\n{broken.stdout}"
        assert "BROKEN" in broken.stdout and f"_planted{index}" in broken.stdout, broken.stdout


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
