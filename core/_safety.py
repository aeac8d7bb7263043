"""Safety checks shared by the command line and the flows.

Reading what a person hands the pack (files of indicators, tickets, rules), showing data
literally, refusing a sync that would empty a collection, and telling a run that failed from a
run with some failed rows.

An input that cannot be read as text is an error that says why, never an empty input: a
collection sync that read "nothing" from a UTF-16 file would otherwise remove every item.
Special files (FIFOs, devices, directories) are refused before a byte is read, and every input
has a size cap.
"""

from __future__ import annotations

import codecs
import hashlib
import os
import stat
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import BinaryIO

from prefect_virustotal.client import (
    APIConnectionError,
    AuthenticationError,
    InvalidParameterError,
    QuotaExceededError,
    RequestBudgetExceededError,
    extract_indicators,
)

MAX_TEXT_INPUT_BYTES = 16 * 1024 * 1024
"""The largest text input read whole (ticket, attachment, rules, collection file): 16 MiB."""

MAX_FEED_BYTES = 256 * 1024 * 1024
"""The largest feed of indicators (``lookup --file``, ``enrich_iocs(path=)``): 256 MiB, read
line by line (100,000 URLs of up to ~2,600 characters each)."""

_HEAD_BYTES = 64 * 1024  # what a feed's encoding is told from

# Longest first: the UTF-32 LE mark begins with the UTF-16 LE one.
_BOMS: tuple[tuple[bytes, str], ...] = (
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)


def _guess_utf16(data: bytes) -> str | None:
    """UTF-16 without a byte-order mark: ASCII-heavy text has a zero in every other byte."""
    if len(data) < 4 or len(data) % 2:
        return None
    even, odd = data[0::2], data[1::2]
    if odd.count(0) > len(odd) * 0.4 and even.count(0) == 0:
        return "utf-16-le"
    if even.count(0) > len(even) * 0.4 and odd.count(0) == 0:
        return "utf-16-be"
    return None


def _encoding(head: bytes) -> tuple[str, int]:
    """The encoding of text that begins with ``head``, and the length of its byte-order mark."""
    for bom, name in _BOMS:
        if head.startswith(bom):
            return name, len(bom)
    return _guess_utf16(head) or "utf-8", 0


def _not_text(what: str, exc: UnicodeDecodeError, offset: int = 0) -> InvalidParameterError:
    return InvalidParameterError(
        f"{what} is not UTF-8 or UTF-16 text (undecodable byte at offset {offset + exc.start})"
    )


def _binary(what: str) -> InvalidParameterError:
    return InvalidParameterError(f"{what} looks binary (it holds NUL bytes), not text")


def decode_text(data: bytes, what: str = "input") -> str:
    """Text from bytes: UTF-8 or UTF-16/32 with a byte-order mark, UTF-16 without one, UTF-8.

    Raises:
        InvalidParameterError: the bytes are not text in one of those encodings, or hold NULs
            (a binary file).
    """
    encoding, bom = _encoding(data)
    try:
        text = data[bom:].decode(encoding)
    except UnicodeDecodeError as exc:
        raise _not_text(what, exc) from None
    if "\x00" in text:
        raise _binary(what)
    return text


def regular_file(path: str | os.PathLike[str], what: str = "file", max_bytes: int | None = None) -> Path:
    """The real path of a regular file, checked without reading it.

    Symlinks are resolved (the real path is returned, to be reported); FIFOs, devices, sockets
    and directories are refused (a FIFO blocks, ``/dev/zero`` never ends).

    Raises:
        InvalidParameterError: missing, not a regular file, or larger than ``max_bytes``; the
            message names the file and says why, on one line.
    """
    shown = str(path)
    try:
        real = Path(path).expanduser().resolve(strict=True)
        info = real.stat()
    except FileNotFoundError:
        raise InvalidParameterError(f"{what} {shown!r}: no such file") from None
    except (OSError, RuntimeError) as exc:
        raise InvalidParameterError(f"{what} {shown!r}: {getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISREG(info.st_mode):
        kind = "a directory" if stat.S_ISDIR(info.st_mode) else "a device, pipe or socket"
        raise InvalidParameterError(f"{what} {shown!r} is {kind}, not a regular file")
    if max_bytes is not None and info.st_size > max_bytes:
        raise InvalidParameterError(
            f"{what} {shown!r} is {info.st_size} bytes; the limit is {max_bytes} bytes"
        )
    return real


def _open_regular(path: str | os.PathLike[str], what: str, max_bytes: int) -> BinaryIO:
    """A regular file (see ``regular_file``), opened for reading in binary."""
    shown = str(path)
    real = regular_file(path, what, max_bytes)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the check, open does not hang.
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        stream = os.fdopen(fd, "rb")
    except PermissionError:
        raise InvalidParameterError(f"{what} {shown!r}: permission denied") from None
    except OSError as exc:
        raise InvalidParameterError(f"{what} {shown!r}: {exc.strerror or exc}") from None
    if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
        stream.close()
        raise InvalidParameterError(f"{what} {shown!r} is not a regular file")
    return stream


def _read(stream: BinaryIO, size: int, what: str) -> bytes:
    try:
        return stream.read(size)
    except OSError as exc:
        raise InvalidParameterError(f"{what}: {exc.strerror or exc}") from None


def _too_large(what: str, max_bytes: int) -> InvalidParameterError:
    return InvalidParameterError(f"{what} is larger than the limit of {max_bytes} bytes")


def read_text_file(
    path: str | os.PathLike[str], what: str = "file", max_bytes: int = MAX_TEXT_INPUT_BYTES
) -> str:
    """Read a regular file (see ``regular_file``) as text (see ``decode_text``).

    Raises:
        InvalidParameterError: missing, unreadable, not a regular file, larger than
            ``max_bytes``, or not text. The message names the file and says why, on one line.
    """
    named = f"{what} {str(path)!r}"
    with _open_regular(path, what, max_bytes) as stream:
        data = _read(stream, max_bytes + 1, named)
    if len(data) > max_bytes:
        raise _too_large(named, max_bytes)
    return decode_text(data, named)


def read_text_lines(
    path: str | os.PathLike[str], what: str = "file", max_bytes: int = MAX_FEED_BYTES
) -> Iterator[str]:
    """The lines of a regular file of text, read and decoded a piece at a time.

    The same checks and encodings as ``read_text_file`` (special files refused before reading,
    UTF-8 or UTF-16/32 with or without a byte-order mark, NULs mean binary), for inputs too
    large to hold twice: a feed of 100,000 indicators is never in memory as a whole, only the
    line being read. Lines come without their line ending.

    Raises:
        InvalidParameterError: missing, unreadable, not a regular file, larger than
            ``max_bytes`` (also when it grows past it while read), or not text. The message
            names the file and says why, on one line; the lines before it were yielded.
    """
    named = f"{what} {str(path)!r}"
    with _open_regular(path, what, max_bytes) as stream:
        head = _read(stream, _HEAD_BYTES, named)
        more = len(head) == _HEAD_BYTES
        # An even length to guess UTF-16 from when the file goes on (a UTF-16 unit is 2 bytes).
        encoding, bom = _encoding(head[: len(head) // 2 * 2] if more else head)
        decoder = codecs.getincrementaldecoder(encoding)()
        piece, offset, total, rest = head[bom:], bom, len(head), ""
        while True:
            try:
                text = decoder.decode(piece, final=not piece)
            except UnicodeDecodeError as exc:
                # exc.start is within this piece (the decoder keeps at most a few bytes back).
                raise _not_text(named, exc, offset) from None
            if "\x00" in text:
                raise _binary(named)
            lines = (rest + text).split("\n")
            rest = lines.pop()
            for line in lines:
                yield line.removesuffix("\r")
            if not piece:
                break
            offset += len(piece)
            piece = _read(stream, _HEAD_BYTES, named)
            total += len(piece)
            if total > max_bytes:
                raise _too_large(named, max_bytes)
    if rest:
        yield rest.removesuffix("\r")


def unused_lines(text: str) -> list[str]:
    """The non-blank lines of an indicator list that yield no indicator (``#`` starts a comment).

    These are reported by value, so that a typo (``999.1.1.1``, a 63-character hash) is seen
    rather than silently dropped.
    """
    unused = []
    for line in text.splitlines():
        stripped = line.strip()
        if stripped and not stripped.startswith("#") and not extract_indicators(stripped):
            unused.append(stripped)
    return unused


def check_mass_removal(held: int, removing: int, allowed: bool) -> None:
    """Refuse a sync that would remove everything, or more than half, of a collection.

    Raises:
        InvalidParameterError: the removal is that large and ``allowed`` is False.
    """
    if allowed or removing == 0:
        return
    if removing >= held or removing * 2 > held:
        raise InvalidParameterError(
            f"the sync would remove {removing} of the {held} items in the collection; nothing was "
            "changed. Check the input, or allow it explicitly (--prune, allow_mass_removal=True)"
        )


_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x00, 0x20), 0x7F)}
_CONTROL.update({0x0A: "\\n", 0x09: "\\t", 0x0D: "\\r"})


def escape_control(text: str) -> str:
    """Show control characters as escapes (``\\x1b``, ``\\n``): terminal escapes in data (a file
    name, a ticket, a VirusTotal answer) are displayed, never executed by the terminal."""
    out = text.translate(_CONTROL)
    if out.isprintable():
        return out
    # C1 controls, bidirectional overrides and other invisible format characters.
    return "".join(ch if ch.isprintable() else f"\\u{ord(ch):04x}" for ch in out)


# The errors that, when every request of a run fails with them, mean the run itself failed:
# the key, the quota or the connection, not the indicators.
_RUN_WIDE_ERRORS: tuple[type[BaseException], ...] = (
    AuthenticationError,
    QuotaExceededError,
    RequestBudgetExceededError,
    APIConnectionError,
)


def run_wide_failure(failures: Sequence[BaseException], attempted: int) -> BaseException | None:
    """The error to fail a run with, when every one of its ``attempted`` requests failed alike.

    Returns the first failure when there was at least one request, each of them failed, all
    with the same class of error, and that error is about the key, the quota or the
    connection; None otherwise (partial failures stay rows of the result).
    """
    if attempted == 0 or len(failures) < attempted:
        return None
    first = failures[0]
    if not isinstance(first, _RUN_WIDE_ERRORS) or any(type(f) is not type(first) for f in failures):
        return None
    return first


_IDENTITY_SALT = b"prefect-virustotal/cache-identity/v1\x00"


def target_identity(base_url: str, api_key: str) -> str:
    """Who a cached answer came from: the API endpoint and a salted hash of the key.

    Cache keys include it, so that an answer fetched with one key (or from the emulator) is
    never served to a run with another key or endpoint. The key itself is never part of it,
    and the salt keeps the digest from matching a plain hash of the key found elsewhere.
    """
    digest = hashlib.sha256(_IDENTITY_SALT + api_key.encode()).hexdigest()[:32]
    return f"{base_url.rstrip('/')}|{digest}"
