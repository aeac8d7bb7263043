"""Feeds of indicators read line by line (issue 15, finding 7): a cap of their own, above the
16 MiB of tickets, the same encodings and refusals as every text input, never held whole."""

from __future__ import annotations

import os
import tracemalloc
from pathlib import Path

import pytest

from prefect_virustotal.client import InvalidParameterError
from prefect_virustotal.core import (
    MAX_FEED_BYTES,
    MAX_TEXT_INPUT_BYTES,
    gather_indicators,
    read_text_file,
    read_text_lines,
)

# Over 64 KiB (the piece read at a time), with characters of 2, 3 and 4 bytes in UTF-8 and
# surrogate pairs in UTF-16, so that pieces end in the middle of a character.
LINES = [f"{i:06d} é€𝄞 line with text" for i in range(6000)] + ["", "last line, no newline"]
TEXT = "\r\n".join(LINES[:3000]) + "\r\n" + "\n".join(LINES[3000:])


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_lines_are_read_in_every_encoding_a_whole_read_takes(tmp_path: Path, encoding: str) -> None:
    path = tmp_path / "feed.txt"
    path.write_bytes(TEXT.encode(encoding))
    assert path.stat().st_size > 2 * 64 * 1024
    assert list(read_text_lines(path, "feed")) == read_text_file(path, "feed").splitlines() == LINES


@pytest.mark.parametrize(
    ("tail", "message"),
    [(b"\x00\x00\x00", "looks binary"), (b"\xff\xfe\xfd", "not UTF-8 or UTF-16 text")],
)
def test_a_feed_that_turns_binary_far_in_is_refused(tmp_path: Path, tail: bytes, message: str) -> None:
    path = tmp_path / "feed.txt"
    path.write_bytes(b"example.com\n" * 20_000 + tail)
    with pytest.raises(InvalidParameterError, match=message):
        list(read_text_lines(path, "feed"))


def test_special_files_are_refused_before_reading(tmp_path: Path) -> None:
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path in (fifo, Path("/dev/zero"), tmp_path):
        with pytest.raises(InvalidParameterError, match="not a regular file"):
            list(read_text_lines(path, "indicator file"))


def test_a_feed_over_16_mib_is_read_and_one_over_its_cap_is_refused_in_one_line(tmp_path: Path) -> None:
    line = "seen 8.8.8.8 at evil[.]example" + " " * 16_000 + "\n"  # few lines: parsing costs
    big = tmp_path / "feed.txt"
    with big.open("w") as stream:
        for _ in range(MAX_TEXT_INPUT_BYTES // len(line) + 1000):
            stream.write(line)
    assert big.stat().st_size > MAX_TEXT_INPUT_BYTES
    with pytest.raises(InvalidParameterError, match="limit"):
        read_text_file(big, "ticket")  # tickets and attachments keep 16 MiB
    tracemalloc.start()
    wanted, masked = gather_indicators(path=str(big))
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert wanted == ["8.8.8.8", "evil.example"] and masked == []
    # Line by line: not the 17 MB file, nor its text, only a piece and a line at a time.
    assert peak < 2 * 1024 * 1024

    huge = tmp_path / "huge.txt"
    with huge.open("wb") as stream:
        stream.truncate(MAX_FEED_BYTES + 1)  # sparse: nothing written, refused by its size
    with pytest.raises(InvalidParameterError) as refused:
        gather_indicators(path=str(huge))
    assert str(refused.value) == (
        f"indicator file {str(huge)!r} is {MAX_FEED_BYTES + 1} bytes; the limit is {MAX_FEED_BYTES} bytes"
    )


def test_a_feed_that_grows_past_its_cap_while_read_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "feed.txt"
    path.write_text("example.com\n" * 20_000)
    lines = read_text_lines(path, "feed", max_bytes=300_000)
    first = next(lines)
    with path.open("a") as stream:
        stream.write("example.org\n" * 20_000)  # grows past the cap after the size check
    with pytest.raises(InvalidParameterError, match="larger than the limit of 300000 bytes"):
        list(lines)
    assert first == "example.com"


def test_a_feed_keeps_credentials_out_and_its_indicators_once(tmp_path: Path) -> None:
    path = tmp_path / "feed.txt"
    path.write_text(
        "https://admin:hunter2@intranet.example/login\n8.8.8.8\n# 8.8.8.8 again\nexample.com, 8.8.8.8\n"
    )
    wanted, masked = gather_indicators(["example.com"], path=str(path))
    assert wanted == ["example.com", "https://intranet.example/login", "8.8.8.8"]
    assert masked == ["https://admin:***@intranet.example/login"]
