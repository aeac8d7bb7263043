"""Big feeds through the command line (issue 15, finding 7): a feed over the 16 MiB of tickets is
read, one over its own cap is one line and exit 2, the terminal shows the worst rows of a long
feed and ``--json`` every row."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from prefect_virustotal.cli import ExitCode, app
from prefect_virustotal.core import MAX_FEED_BYTES, MAX_TABLE_ROWS, MAX_TEXT_INPUT_BYTES
from prefect_virustotal.emulator import Emulator

pytestmark = pytest.mark.usefixtures("prefect_harness")

runner = CliRunner()


def test_a_feed_over_16_mib_is_looked_up_and_one_over_its_cap_is_refused(tmp_path: Path) -> None:
    world = Emulator(seed=0).world
    domains = [world.pick("domain", nature="clean", index=i) for i in range(3)]
    feed = tmp_path / "feed.txt"
    padding = " " * 16_000 + "\n"  # long lines: few of them to parse
    with feed.open("w") as stream:
        stream.write("\n".join(domains) + "\n")
        for _ in range(MAX_TEXT_INPUT_BYTES // len(padding) + 10):
            stream.write(padding)
    assert feed.stat().st_size > MAX_TEXT_INPUT_BYTES
    result = runner.invoke(app, ["lookup", "--file", str(feed), "--emulator", "--json"])
    assert result.exit_code == ExitCode.OK, result.output
    rows = json.loads(result.stdout)["result"]["items"]
    assert [row["lookup"]["indicator"] for row in rows] == domains

    huge = tmp_path / "huge.txt"
    with huge.open("wb") as stream:
        stream.truncate(MAX_FEED_BYTES + 1)  # sparse: nothing written
    refused = runner.invoke(app, ["lookup", "--file", str(huge), "--emulator"])
    assert refused.exit_code == ExitCode.BAD_INPUT, refused.output
    assert refused.output.strip() == (
        f"error: indicator file {str(huge)!r} is {MAX_FEED_BYTES + 1} bytes; the limit is "
        f"{MAX_FEED_BYTES} bytes"
    )


def test_the_terminal_shows_the_worst_rows_of_a_long_feed_and_json_every_row(tmp_path: Path) -> None:
    world = Emulator(seed=0).world
    bad = world.pick("file", nature="malicious")
    feed = tmp_path / "feed.txt"
    # Internal addresses cost no request: a feed longer than the table for the price of one lookup.
    internal = [f"10.0.{i // 256}.{i % 256}" for i in range(MAX_TABLE_ROWS + 4)]
    feed.write_text("\n".join([*internal, bad]) + "\n")
    shown = runner.invoke(app, ["lookup", "--file", str(feed), "--emulator"], terminal_width=200)
    assert shown.exit_code == ExitCode.OK, shown.output
    assert "… 5 more rows left out (the worst 1,000 of 1,005 are shown); --json prints every row." in (
        shown.stdout
    ), shown.output
    assert shown.stdout.index(bad[:12]) < shown.stdout.index("10[.]0[.]0[.]0")
    every = runner.invoke(app, ["lookup", "--file", str(feed), "--emulator", "--json"])
    payload = json.loads(every.stdout)
    assert len(payload["result"]["items"]) == MAX_TABLE_ROWS + 5 and payload["emulated"] is True
