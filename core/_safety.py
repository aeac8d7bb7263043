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
from collections.abc import Sequence
from pathlib import Path

from prefect_virustotal.client import (
    APIConnectionError,
    AuthenticationError,
    InvalidParameterError,
    QuotaExceededError,
    RequestBudgetExceededError,
    extract_indicators,
)

MAX_TEXT_INPUT_BYTES = 16 * 1024 * 1024
"""The largest text input (ticket, indicator file, rules) read: 16 MiB."""

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


def decode_text(data: bytes, what: str = "input") -> str:
    """Text from bytes: UTF-8 or UTF-16/32 with a byte-order mark, UTF-16 without one, UTF-8.

    Raises:
        InvalidParameterError: the bytes are not text in one of those encodings, or hold NULs
            (a binary file).
    """
    encoding = next((name for bom, name in _BOMS if data.startswith(bom)), None)
    body = data[len(next(bom for bom, name in _BOMS if name == encoding)) :] if encoding else data
    encoding = encoding or _guess_utf16(data) or "utf-8"
    try:
        text = body.decode(encoding)
    except UnicodeDecodeError as exc:
        raise InvalidParameterError(
            f"{what} is not UTF-8 or UTF-16 text (undecodable byte at offset {exc.start})"
        ) from None
    if "\x00" in text:
        raise InvalidParameterError(f"{what} looks binary (it holds NUL bytes), not text")
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


def read_text_file(
    path: str | os.PathLike[str], what: str = "file", max_bytes: int = MAX_TEXT_INPUT_BYTES
) -> str:
    """Read a regular file (see ``regular_file``) as text (see ``decode_text``).

    Raises:
        InvalidParameterError: missing, unreadable, not a regular file, larger than
            ``max_bytes``, or not text. The message names the file and says why, on one line.
    """
    shown = str(path)
    real = regular_file(path, what, max_bytes)
    try:
        # O_NONBLOCK: should the path have become a FIFO since the check, open does not hang.
        fd = os.open(real, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
        with os.fdopen(fd, "rb") as stream:
            if not stat.S_ISREG(os.fstat(stream.fileno()).st_mode):
                raise InvalidParameterError(f"{what} {shown!r} is not a regular file")
            data = stream.read(max_bytes + 1)
    except PermissionError:
        raise InvalidParameterError(f"{what} {shown!r}: permission denied") from None
    except OSError as exc:
        raise InvalidParameterError(f"{what} {shown!r}: {exc.strerror or exc}") from None
    if len(data) > max_bytes:
        raise InvalidParameterError(f"{what} {shown!r} is larger than the limit of {max_bytes} bytes")
    return decode_text(data, f"{what} {shown!r}")


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
