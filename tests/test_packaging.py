"""The package surface: namespaces, exports, entry point, wheel contents."""

from __future__ import annotations

import importlib
import importlib.metadata
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ["client", "client.models", "core", "blocks", "tasks", "flows", "emulator", "cli"]


@pytest.mark.parametrize("name", PACKAGES)
def test_all_is_sorted_and_resolves(name: str) -> None:
    module = importlib.import_module(f"prefect_virustotal.{name}")
    exported = list(module.__all__)
    constants = [n for n in exported if n.isupper()]
    others = [n for n in exported if not n.isupper()]
    assert constants == sorted(constants) and others == sorted(others), f"{name}.__all__ is not sorted"
    assert exported == constants + others
    for symbol in exported:
        assert hasattr(module, symbol), f"{name}.{symbol} is exported but missing"


def test_layers_resolve_from_their_folders() -> None:
    for name in PACKAGES:
        module = importlib.import_module(f"prefect_virustotal.{name}")
        folder = ROOT / name.replace(".", "/")
        assert module.__file__ is not None
        assert Path(module.__file__).resolve().parent == folder.resolve()


@pytest.mark.parametrize("name", ["client", "core"])
def test_never_imports_prefect(name: str) -> None:
    code = (
        f"import sys, prefect_virustotal.{name};"
        "sys.exit(1 if any(m == 'prefect' or m.startswith('prefect.') for m in sys.modules) else 0)"
    )
    assert subprocess.run([sys.executable, "-c", code], check=False).returncode == 0


def test_emulator_shares_nothing_with_the_client() -> None:
    for path in (ROOT / "emulator").rglob("*.py"):
        text = path.read_text()
        assert "prefect_virustotal.client" not in text and "from ..client" not in text, path


def test_collection_entry_point() -> None:
    points = importlib.metadata.entry_points(group="prefect.collections")
    ours = [p for p in points if p.value == "prefect_virustotal.blocks"]
    assert ours, "prefect.collections entry point missing"
    assert hasattr(ours[0].load(), "VirusTotalCredentials")


# uv, which ``make install`` puts in the venv and installs the pack with: a build and an
# install without pip's own start-up (~1-2 s of CPU each), the same wheel and the same files.
UV = Path(sys.executable).with_name("uv")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The pack built as a wheel (setuptools, the venv's own: no build isolation), once for this module."""
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(
        [
            str(UV),
            "build",
            "--wheel",
            "--no-build-isolation",
            "--python",
            sys.executable,
            "-q",
            "-o",
            str(out),
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    (built,) = out.glob("prefect_virustotal-*.whl")
    return built


@pytest.mark.slow
def test_wheel_contains_the_namespace(wheel: Path) -> None:
    names = zipfile.ZipFile(wheel).namelist()
    for name in PACKAGES:
        assert f"prefect_virustotal/{name.replace('.', '/')}/__init__.py" in names
        assert f"prefect_virustotal/{name.replace('.', '/')}/py.typed" in names
    assert not any(n.startswith(("tests/", "client/", "tasks/")) for n in names)


@pytest.mark.slow
def test_wheel_install_resolves_the_namespace(wheel: Path, tmp_path: Path) -> None:
    target = tmp_path / "site"
    subprocess.run(
        [
            str(UV),
            "pip",
            "install",
            "--no-deps",
            "--no-index",
            "-q",
            "--python",
            sys.executable,
            "--target",
            str(target),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    # Hide the editable install so that only the wheel can answer.
    code = (
        "import sys; sys.path = [p for p in sys.path if '__editable__' not in p];"
        f"sys.path.insert(0, {str(target)!r});"
        "import prefect_virustotal.client as c, prefect_virustotal.emulator as e;"
        f"assert c.__file__.startswith({str(target)!r}), c.__file__;"
        f"assert e.__file__.startswith({str(target)!r}), e.__file__"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("name", ["client", "client.models", "core", "blocks", "tasks", "flows"])
def test_every_exported_error_is_a_virustotal_error(name: str) -> None:
    from prefect_virustotal.client import VirusTotalError

    module = importlib.import_module(f"prefect_virustotal.{name}")
    for symbol in module.__all__:
        value = getattr(module, symbol)
        if isinstance(value, type) and issubclass(value, BaseException):
            assert issubclass(value, VirusTotalError), f"{name}.{symbol} is not a VirusTotalError"
