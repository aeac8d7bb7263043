"""The emulator on a real socket: the CLI in a subprocess, and the in-thread server."""

from __future__ import annotations

import os
import re
import select
import subprocess
import sys
import time

import httpx
import pytest

from prefect_virustotal.emulator import PUBLIC_DEMO_KEY, Emulator, KeyTier, World
from prefect_virustotal.emulator.__main__ import _key, main


def _read_base_url(proc: subprocess.Popen[str], timeout: float) -> str:
    """The base URL the CLI prints, waiting at most ``timeout`` seconds."""
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    seen = []
    while (remaining := deadline - time.monotonic()) > 0:
        ready, _, _ = select.select([proc.stdout], [], [], remaining)
        if not ready:
            break
        line = proc.stdout.readline()
        if not line:
            break
        seen.append(line)
        match = re.search(r"(http://127\.0\.0\.1:\d+/api/v3)", line)
        if match:
            return match.group(1)
    raise AssertionError(f"no base URL printed within {timeout}s: {seen!r}")


def test_cli_serves_on_a_free_loopback_port(world: World) -> None:
    sha256 = world.pick("file", "malicious")
    command = [sys.executable, "-m", "prefect_virustotal.emulator", "--port", "0", "--seed", "0"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            base_url = _read_base_url(proc, timeout=30)
            assert not base_url.endswith(":0/api/v3")
            with httpx.Client(base_url=base_url, headers={"x-apikey": PUBLIC_DEMO_KEY}, timeout=10) as client:
                response = client.get(f"/files/{sha256}")
                assert response.status_code == 200
                assert response.json()["data"]["id"] == sha256
                assert response.headers["x-vt-emulator"] == "true"
                assert client.get("/files/" + "0" * 64).status_code == 404
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def test_cli_refuses_remote_hosts(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--host", "0.0.0.0", "--port", "0"]) == 2
    assert "--allow-remote" in capsys.readouterr().err


def test_cli_key_syntax() -> None:
    assert _key("abc:premium").tier is KeyTier.PREMIUM
    assert _key("abc:premium").key == "abc"
    assert _key("abc").tier is KeyTier.PUBLIC
    assert _key("a:b:public").key == "a:b"
    assert _key("a:b").key == "a:b"


def test_in_thread_server_and_dropped_connections(world: World) -> None:
    emulator = Emulator(world=world)
    domain = world.pick("domain")
    with (
        emulator.serving() as base_url,
        httpx.Client(base_url=base_url, headers={"x-apikey": PUBLIC_DEMO_KEY}, timeout=10) as client,
    ):
        assert client.get(f"/domains/{domain}").status_code == 200
        emulator.faults.add("drop", count=1)
        # Over a socket the client sees exactly what it sees in process.
        with pytest.raises(httpx.RemoteProtocolError, match="Server disconnected without sending a response"):
            client.get(f"/domains/{domain}")
        emulator.faults.add("truncate", count=1)
        truncated = client.get(f"/domains/{domain}")
        assert truncated.status_code == 200
        assert int(truncated.headers["content-length"]) == len(truncated.content)
        assert client.get(f"/domains/{domain}").status_code == 200
    assert [r.status for r in emulator.requests] == [200, None, 200, 200]


def test_time_scale_runs_a_retrohunt_in_seconds() -> None:
    # 30 s starting + 30 s more + 600 s running = 660 emulated seconds: about 0.1 s at 6000x.
    from prefect_virustotal.emulator import PREMIUM_DEMO_KEY

    command = [sys.executable, "-m", "prefect_virustotal.emulator", "--port", "0", "--time-scale", "6000"]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env
    ) as proc:
        try:
            base_url = _read_base_url(proc, timeout=30)
            with httpx.Client(
                base_url=base_url, headers={"x-apikey": PREMIUM_DEMO_KEY}, timeout=10
            ) as client:
                rules = 'rule r { strings: $a = "MZ" condition: $a }'
                body = {"data": {"type": "retrohunt_job", "attributes": {"rules": rules}}}
                job = client.post("/intelligence/retrohunt_jobs", json=body).json()["data"]
                start = time.monotonic()
                seen = []
                while time.monotonic() - start < 20:
                    status = client.get(f"/intelligence/retrohunt_jobs/{job['id']}").json()["data"]
                    seen.append(status["attributes"]["status"])
                    if seen[-1] == "finished":
                        break
                    time.sleep(0.1)
                assert seen[-1] == "finished", seen
                assert time.monotonic() - start < 10
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=10)


def test_time_scale_must_be_positive(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in ("0", "-2", "fast"):
        with pytest.raises(SystemExit) as caught:
            main(["--port", "0", "--time-scale", bad])
        assert caught.value.code == 2
    assert "--time-scale" in capsys.readouterr().err


async def test_scaled_clock_runs_faster_than_the_wall() -> None:
    from prefect_virustotal.emulator import ScaledClock

    clock = ScaledClock(1000)
    before, wall = clock.time(), time.time()
    await clock.sleep(100)  # 0.1 s of real time
    assert clock.time() - before >= 100 and time.time() - wall < 1.0
    with pytest.raises(ValueError, match="greater than 0"):
        ScaledClock(0)
