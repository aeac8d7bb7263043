"""Hostile input for YARA pre-checks and file names.

- ``check_yara_rules`` on random text (free text and rule-shaped text): a ``YaraCheck`` or one
  of the pack's typed errors, never anything else; invalid rules cost no request.
- File names with control characters are shown escaped in logs and artifacts.

Directories: neither ``submit_and_wait`` nor ``triage`` nor the CLI accepts a directory (each
takes file paths), so there is no directory walk that could follow a symlink out of it; a
symlinked *file* given explicitly is read like any other file the caller named.
"""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from prefect.client.orchestration import get_client

from prefect_virustotal.blocks import VirusTotalCredentials
from prefect_virustotal.client import (
    InvalidParameterError,
    VirusTotalClient,
    VirusTotalError,
    YaraUnavailableError,
    check_yara_rules,
)
from prefect_virustotal.client.models import YaraCheck
from prefect_virustotal.emulator import Emulator
from prefect_virustotal.flows import submit_and_wait
from tests.conftest import PREMIUM_KEY

# The session's Prefect harness runs background threads that use the global ``random`` module;
# Hypothesis sees the global state move while it draws and warns, which is not about our code.
pytestmark = pytest.mark.filterwarnings("ignore::hypothesis.errors.HypothesisDeprecationWarning")

WORLD = Emulator(seed=0).world
"""One world shared by the emulators of every example (building one is the slow part)."""
FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

yara_words = st.sampled_from(
    [
        "rule",
        "private",
        "global",
        "strings",
        "condition",
        "meta",
        "import",
        '"vt"',
        '"pe"',
        "include",
        '"/etc/passwd"',
        "true",
        "false",
        "and",
        "or",
        "not",
        "all of them",
        "any of them",
        "$a",
        "$b",
        "=",
        '"x"',
        "{ 4D 5A }",
        "/ab+c/",
        "{",
        "}",
        ":",
        "\n",
        " ",
        "/*",
        "*/",
        "//",
        "filesize < 10",
        "#a > 2",
        "r1",
        "r2",
        "\x00",
        "é",
    ]
)
rule_shaped = st.lists(yara_words, max_size=40).map(" ".join)
yara_text = rule_shaped | st.text(max_size=300)

try:
    check_yara_rules("rule probe { condition: true }")
    HAVE_YARA = True
except YaraUnavailableError:
    HAVE_YARA = False


@FAST
@given(yara_text)
def test_yara_check_raises_only_typed_errors(rules: str) -> None:
    try:
        result = check_yara_rules(rules)
    except InvalidParameterError as exc:  # YaraSyntaxError included
        assert str(exc).strip()
    except YaraUnavailableError:
        pass
    else:
        assert isinstance(result, YaraCheck)
        assert result.number_of_rules == len(result.rule_names) >= 1


@pytest.mark.skipif(not HAVE_YARA, reason="yara-python is not installed")
@FAST
@given(yara_text)
def test_invalid_rules_cost_no_request(rules: str) -> None:
    emulator = Emulator(keys=[PREMIUM_KEY], world=WORLD)

    async def attempt() -> None:
        async with VirusTotalClient(
            PREMIUM_KEY, base_url=emulator.base_url, transport=emulator.transport()
        ) as vt:
            try:
                check_yara_rules(rules)
            except VirusTotalError:
                with pytest.raises(VirusTotalError):
                    await vt.retrohunt.create(rules)
                with pytest.raises(VirusTotalError):
                    await vt.livehunt.create("hostile", rules)
                assert emulator.count() == 0

    asyncio.run(attempt())


NASTY_NAME = "invoice\n\x1b[31mINFO fake log line\x07\r.bin"


@pytest.mark.usefixtures("prefect_harness")
async def test_control_characters_in_file_names_are_escaped(
    credentials: VirusTotalCredentials, mounted: Emulator, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    mounted.scanning.set_durations(queued=0, running=0)
    caplog.set_level(logging.DEBUG)
    sample = tmp_path / NASTY_NAME
    sample.write_bytes(b"a sample with a hostile name 3f1c")
    result = await submit_and_wait(file_path=str(sample), credentials=credentials, initial_interval=0.01)
    assert result.kind == "file"
    for record in caplog.records:
        text = record.getMessage()
        assert "\x1b" not in text and "\x07" not in text and "\r" not in text, (
            f"raw control character: {text!r}"
        )
    async with get_client() as client:
        artifacts = await client.read_artifacts()
    for artifact in artifacts:
        data = str(artifact.data or "") + str(artifact.description or "")
        assert "\x1b" not in data and "\x07" not in data, f"raw control character in artifact {artifact.key}"
    # An unreadable file with such a name: the error shows the name escaped.
    with pytest.raises(InvalidParameterError) as info:
        await submit_and_wait(file_path=str(tmp_path / ("gone" + NASTY_NAME)), credentials=credentials)
    assert "\x1b" not in str(info.value) and "\\x1b" in str(info.value)
