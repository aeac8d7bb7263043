"""Several runs of the command line, one after another, in ONE fresh interpreter.

Run as a script, ``python tests/cli_batch.py SPEC RESULT``, never imported by a test process:
SPEC is a JSON list of runs (``{"args": [...], "env": {...}}``). Each run, in turn, is what
``python -m prefect_virustotal.cli ARGS`` does (the package imported, ``app()`` called with
``sys.argv`` set), with the run's ``env`` added to the process environment for its duration
and its stdout and stderr captured at the file-descriptor level, so that whatever writes
there (Python, Rich, a child process) is caught as a shell would catch it. RESULT gets, per
run: its exit code, its stdout and stderr, every module the process holds once the run is
over, and the ``*.db`` files under ``PREFECT_HOME`` then (Prefect's ephemeral server creates
its database there).

What this proves for a test: the first run is a fresh process's first command, exactly as
from a shell. A module stays in ``sys.modules`` once imported, so "no ``prefect`` module
after run N" proves that none of runs 1..N imported Prefect; a later run cannot hide an
import by an earlier one. A process start (~2 s of CPU: Typer, Rich, httpx, the pack) is
paid once for the batch instead of once per command.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import traceback
from pathlib import Path


def _run(args: list[str], env: dict[str, str]) -> dict[str, object]:
    saved_env = {name: os.environ.get(name) for name in env}
    os.environ.update(env)
    sys.stdout.flush()
    sys.stderr.flush()
    saved_fds = os.dup(1), os.dup(2)
    with tempfile.TemporaryFile() as out, tempfile.TemporaryFile() as err:
        os.dup2(out.fileno(), 1)
        os.dup2(err.fileno(), 2)
        code: int
        try:
            from prefect_virustotal.cli import app

            sys.argv = ["prefect-virustotal", *args]
            app()
            code = 0
        except SystemExit as exited:  # how Typer always ends a command
            status = exited.code
            code = status if isinstance(status, int) else (0 if status is None else 1)
        except BaseException:  # what the interpreter would print, and its exit status
            traceback.print_exc()
            code = 1
        finally:
            sys.stdout.flush()
            sys.stderr.flush()
            os.dup2(saved_fds[0], 1)
            os.dup2(saved_fds[1], 2)
            for fd in saved_fds:
                os.close(fd)
            for name, value in saved_env.items():
                if value is None:
                    os.environ.pop(name, None)
                else:
                    os.environ[name] = value
        out.seek(0)
        err.seek(0)
        stdout, stderr = out.read().decode(), err.read().decode()
    home = Path(os.environ["PREFECT_HOME"])
    return {
        "args": args,
        "returncode": code,
        "stdout": stdout,
        "stderr": stderr,
        "modules": sorted(sys.modules),
        "databases": sorted(str(p.relative_to(home)) for p in home.rglob("*.db")),
    }


def main(spec: str, result: str) -> None:
    runs = json.loads(Path(spec).read_text())
    results = [_run(run["args"], run.get("env", {})) for run in runs]
    Path(result).write_text(json.dumps(results))


if __name__ == "__main__":
    main(*sys.argv[1:])
