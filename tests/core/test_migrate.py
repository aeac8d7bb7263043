"""The migration scanner over legacy scripts written for these tests (``legacy_v2/``).

Each expectation names a unique piece of its line, so "the right line" is checked without
hand-counted numbers; the sets must match exactly, so a missed call and a spurious finding
both fail.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

from prefect_virustotal.core import (
    MAX_SCAN_BYTES,
    V2_ENDPOINTS,
    MigrationInputError,
    mask_key,
    render_markdown,
    scan_paths,
    scan_text,
    v2_endpoint,
)

LEGACY = Path(__file__).parent / "legacy_v2"
# The fake key the legacy scripts carry; it must never come out of the scanner.
FAKE_KEY = "5f1c0a7e9b3d2c4f6a8e0b1d3c5f7a9e2b4d6f8a0c1e3b5d7f9a2c4e6b8d0f1a"

Expected = list[tuple[str, str, str]]  # (unique text of the line, kind, v2)

EXPECTED: dict[str, Expected] = {
    "legacy_requests.py": [
        ("API_KEY = ", "api-key", "key"),
        ("BASE = ", "base-url", "/vtapi/v2/"),
        ('params = {"apikey"', "apikey-parameter", "apikey query/form parameter"),
        ('BASE + "/file/report"', "endpoint", "GET /vtapi/v2/file/report"),
        ('answer["response_code"]', "field", "response_code"),
        ('answer["positives"]', "field", "positives"),
        ('answer["positives"]', "field", "permalink"),
        ('BASE + "/file/scan"', "endpoint", "POST /vtapi/v2/file/scan"),
        ('BASE + "/file/scan"', "apikey-parameter", "apikey query/form parameter"),
        ("vtapi/v2/url/report?apikey", "endpoint", "GET /vtapi/v2/url/report"),
        ("vtapi/v2/url/report?apikey", "apikey-parameter", "apikey query/form parameter"),
        ("status_code == 204", "status", "HTTP 204 (quota spent)"),
        ('["scans"]', "field", "scans"),
    ],
    "legacy_curl.sh": [
        ("VT_API_KEY=", "api-key", "key"),
        ("file/report?apikey", "endpoint", "GET /vtapi/v2/file/report"),
        ("file/report?apikey", "apikey-parameter", "apikey query/form parameter"),
        ("file/report?apikey", "field", "positives"),
        ("vtapi/v2/file/scan", "endpoint", "POST /vtapi/v2/file/scan"),
        ("vtapi/v2/file/scan", "apikey-parameter", "apikey query/form parameter"),
        ("vtapi/v2/url/scan", "endpoint", "POST /vtapi/v2/url/scan"),
        ("vtapi/v2/url/scan", "apikey-parameter", "apikey query/form parameter"),
        ("domain/report", "endpoint", "GET /vtapi/v2/domain/report"),
        ("domain/report", "apikey-parameter", "apikey query/form parameter"),
        ("ip-address/report", "endpoint", "GET /vtapi/v2/ip-address/report"),
        ("ip-address/report", "apikey-parameter", "apikey query/form parameter"),
        ("ip-address/report", "field", "response_code"),
    ],
    "playbook.yml": [
        ("vt_base: https", "base-url", "/vtapi/v2/"),
        ("/file/report?apikey", "endpoint", "GET /vtapi/v2/file/report"),
        ("/file/report?apikey", "apikey-parameter", "apikey query/form parameter"),
        ("msg:", "field", "positives"),
        ("msg:", "field", "permalink"),
        ("when:", "field", "response_code"),
        ("when:", "field", "positives"),
        ("/file/rescan", "endpoint", "POST /vtapi/v2/file/rescan"),
        ('apikey: "', "apikey-parameter", "apikey query/form parameter"),
    ],
    "legacy.ps1": [
        ("$body = @{ apikey", "apikey-parameter", "apikey query/form parameter"),
        ("vtapi/v2/url/report", "endpoint", "GET /vtapi/v2/url/report"),
        ("if ($report", "field", "response_code"),
        ("if ($report", "field", "positives"),
        ("Write-Output", "field", "positives"),
        ("Write-Output", "field", "permalink"),
        ("vtapi/v2/url/scan", "endpoint", "POST /vtapi/v2/url/scan"),
        ("vtapi/v2/url/scan", "apikey-parameter", "apikey query/form parameter"),
    ],
    "integration.json": [
        ('"base_url"', "base-url", "/vtapi/v2/"),
        ('"apikey"', "apikey-parameter", "apikey query/form parameter"),
        ('"apikey"', "api-key", "key"),
        ('"file/report"', "endpoint", "GET /vtapi/v2/file/report"),
        ('"file/report"', "field", "response_code"),
        ('"file/report"', "field", "positives"),
        ('"file/report"', "field", "scans"),
        ('"/url/report"', "endpoint", "GET /vtapi/v2/url/report"),
        ('"/url/report"', "field", "positives"),
        ('"/url/report"', "field", "permalink"),
    ],
}


def line_of(path: Path, needle: str) -> int:
    numbers = [n for n, line in enumerate(path.read_text().splitlines(), start=1) if needle in line]
    assert len(numbers) == 1, f"{needle!r} is not on exactly one line of {path.name}: {numbers}"
    return numbers[0]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_every_v2_use_is_found_at_its_line(name: str) -> None:
    path = LEGACY / name
    report = scan_paths([path])
    found = {(f.line, f.kind, "key" if f.kind == "api-key" else f.v2) for f in report.findings}
    expected = {(line_of(path, needle), kind, v2) for needle, kind, v2 in EXPECTED[name]}
    assert found == expected
    assert report.files == [str(path)]


@pytest.mark.parametrize("name", ["v3_only.py", "v3_only.sh"])
def test_nothing_is_reported_in_a_v3_only_script(name: str) -> None:
    report = scan_paths([LEGACY / name])
    assert report.clean and report.findings == []
    assert "Nothing to migrate." in render_markdown(report)


def test_endpoints_carry_their_v3_call_and_pack_task() -> None:
    report = scan_paths([LEGACY / "legacy_requests.py"])
    by_call = {f.v2: f for f in report.findings if f.kind == "endpoint"}
    assert by_call["GET /vtapi/v2/file/report"].v3 == "GET /api/v3/files/{id}"
    assert by_call["GET /vtapi/v2/file/report"].pack is not None
    assert "tasks.get_file_report" in (by_call["GET /vtapi/v2/file/report"].pack or "")
    assert by_call["POST /vtapi/v2/file/scan"].v3 == "POST /api/v3/files"
    assert by_call["GET /vtapi/v2/url/report"].v3 == "GET /api/v3/urls/{id}"


def test_a_directory_is_walked_and_no_key_is_ever_kept() -> None:
    report = scan_paths([LEGACY])
    assert {Path(f).name for f in report.files} == set(EXPECTED) | {"v3_only.py", "v3_only.sh"}
    assert {Path(f).name for f in report.files_with_findings()} == set(EXPECTED)
    keys = [f for f in report.findings if f.kind == "api-key"]
    assert len(keys) == 3 and {k.v2 for k in keys} == {mask_key(FAKE_KEY)}
    dumped = report.model_dump_json() + render_markdown(report) + "".join(f.text() for f in report.findings)
    for piece in (FAKE_KEY, FAKE_KEY[:16], FAKE_KEY[-16:], FAKE_KEY[20:36]):
        assert piece not in dumped


def test_a_sha256_resource_is_not_taken_for_a_key() -> None:
    text = 'resource = "' + "ab" * 32 + '"\nrequests.get(BASE + "/vtapi/v2/file/report")\n'
    assert [f.kind for f in scan_text("x.py", text)] == ["endpoint"]


def test_x_apikey_header_and_apikey_variables_are_not_v2() -> None:
    text = 'headers = {"x-apikey": apikey}\napikey = os.environ["VT_API_KEY"]\n$ApiKey = $env:VT_API_KEY\n'
    assert scan_text("v3.py", text) == []


def test_the_map_covers_every_v2_path_longest_first() -> None:
    assert v2_endpoint("/vtapi/v2/file/scan/upload_url?apikey=x") is not None
    assert v2_endpoint("file/scan/upload_url").path == "file/scan/upload_url"  # type: ignore[union-attr]
    assert v2_endpoint("file/rescan/delete").path == "file/rescan/delete"  # type: ignore[union-attr]
    assert v2_endpoint("file/unknown") is None
    assert len({e.path for e in V2_ENDPOINTS}) == len(V2_ENDPOINTS) == 18
    without = {e.path for e in V2_ENDPOINTS if e.v3_path is None}
    assert without == {"file/rescan/delete", "file/clusters"}
    for endpoint in V2_ENDPOINTS:
        assert endpoint.v3_call.startswith(("GET /api/v3/", "POST /api/v3/", "no v3"))
        assert endpoint.checked or "UNCONFIRMED" in endpoint.note


# ------------------------------------------------------------------------------ bad input
def test_missing_path_is_bad_input(tmp_path: Path) -> None:
    with pytest.raises(MigrationInputError, match="no such file"):
        scan_paths([LEGACY / "legacy_requests.py", tmp_path / "absent.py"])
    with pytest.raises(MigrationInputError):
        scan_paths([])


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="needs FIFOs")
def test_a_fifo_is_refused_before_it_is_opened(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe.py"
    os.mkfifo(fifo)  # opening it for reading would block: the scanner must not
    with pytest.raises(MigrationInputError, match="not a regular file"):
        scan_paths([LEGACY / "legacy_curl.sh", fifo])
    # In a directory walk a FIFO is skipped, not read.
    shutil.copy(LEGACY / "legacy_curl.sh", tmp_path / "legacy_curl.sh")
    assert [Path(f).name for f in scan_paths([tmp_path]).files] == ["legacy_curl.sh"]


def test_an_oversized_file_is_bad_input(tmp_path: Path) -> None:
    big = tmp_path / "big.json"
    with big.open("wb") as stream:
        stream.truncate(MAX_SCAN_BYTES + 1)
    with pytest.raises(MigrationInputError, match="larger than"):
        scan_paths([big])


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0, reason="root reads any file")
def test_an_unreadable_file_is_bad_input(tmp_path: Path) -> None:
    locked = tmp_path / "locked.py"
    locked.write_text("x = 1\n")
    locked.chmod(0)
    with pytest.raises(MigrationInputError, match="not readable"):
        scan_paths([locked])


def test_a_walk_skips_virtualenvs_and_symlinked_folders(tmp_path: Path) -> None:
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    shutil.copy(LEGACY / "legacy_curl.sh", tmp_path / ".venv" / "lib" / "vendored.sh")
    (tmp_path / "loop").symlink_to(tmp_path, target_is_directory=True)
    shutil.copy(LEGACY / "playbook.yml", tmp_path / "playbook.yml")
    assert [Path(f).name for f in scan_paths([tmp_path]).files] == ["playbook.yml"]


def test_line_numbers_are_an_editors_line_numbers() -> None:
    text = "x = 1\f\ny = '\u2028'\nurl = 'https://www.virustotal.com/vtapi/v2/file/report'\n"
    assert [f.line for f in scan_text("odd.py", text)] == [3]
