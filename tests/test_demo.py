"""`mtls-doctor demo`: the seed case on 127.0.0.1 with a real nginx and with the server twin, under 10 seconds,
nothing left running; `demo --keep DIR` leaves files with which every command it showed re-runs as printed."""

from __future__ import annotations

import re
import shlex
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import REPO, require_nginx

EXE = Path(sys.executable).parent / "mtls-doctor"


def demo(*args: str) -> tuple[subprocess.CompletedProcess[str], float]:
    start = time.monotonic()
    run = subprocess.run(
        [str(EXE), "demo", *args], capture_output=True, text=True, check=False, cwd=REPO, timeout=60,
        stdin=subprocess.DEVNULL,
    )  # fmt: skip
    return run, time.monotonic() - start


def _port(out: str) -> int:
    found = re.search(r"127\.0\.0\.1:(\d+)", out)
    assert found, out
    return int(found.group(1))


def _nobody_listens(port: int) -> bool:
    with socket.socket() as s:
        s.settimeout(0.5)
        return s.connect_ex(("127.0.0.1", port)) != 0


def _story(out: str) -> None:
    assert "→ 400 The SSL certificate error" in out
    assert "✗ nginx will answer 400 The SSL certificate error" in out
    assert "MTLS301 intermediate-not-sent" in out
    assert "$ cat scenarios/seed-missing-intermediate/client.pem certs/client-issuing.pem > client-chain.pem" in out
    assert out.rstrip().endswith("→ verify=SUCCESS") or "→ verify=SUCCESS" in out.split("5. ", 1)[1]
    # the live handshake of the failing request: the probe's steps and the server's own answer
    assert "2. The same request, seen live" in out
    for step in (
        "CertificateRequest: acceptable client CA names",
        "Client Certificate: sent",
        "400 The SSL certificate",
    ):
        assert step in out.split("2. The same request, seen live", 1)[1].split("3. The diagnosis", 1)[0], step
    order = ["→ 400", "2. The same request, seen live", "3. The diagnosis", "4. The fix", "→ verify=SUCCESS"]
    assert [out.index(part) for part in order] == sorted(out.index(part) for part in order)


def test_demo_with_a_real_nginx() -> None:
    require_nginx()
    run, seconds = demo()
    assert run.returncode == 0, run.stdout + run.stderr
    assert seconds < 10
    assert run.stdout.startswith(
        "The seed case on 127.0.0.1: nginx answers 400 until the client sends its intermediate"
    )
    assert run.stdout.splitlines()[1].startswith("Server: nginx (")
    _story(run.stdout)
    assert _nobody_listens(_port(run.stdout)), "the demo's nginx is still running"


def test_demo_without_nginx_serves_with_the_twin_and_says_so() -> None:
    run, seconds = demo("--no-nginx")
    assert run.returncode == 0, run.stdout + run.stderr
    assert seconds < 10
    assert run.stdout.splitlines()[1].startswith("Server: the server twin (asked for with --no-nginx)")
    _story(run.stdout)
    assert _nobody_listens(_port(run.stdout))


def _commands(out: str) -> list[tuple[str, list[str]]]:
    """Each `$ command` the demo showed, with the lines it printed after it (up to the next command or step)."""
    shown: list[tuple[str, list[str]]] = []
    for line in out.splitlines():
        if line.startswith("$ "):
            shown.append((line[2:], []))
        elif shown and not re.match(r"^\d\. ", line):
            shown[-1][1].append(line)
    return shown


def test_demo_keep_leaves_files_that_rerun_every_command_as_printed(tmp_path: Path) -> None:
    nginx = require_nginx()
    keep = tmp_path / "kept"
    run, _ = demo("--keep", str(keep))
    assert run.returncode == 0, run.stdout + run.stderr
    port = _port(run.stdout)
    assert _nobody_listens(port)
    server_line = run.stdout.splitlines()[2].strip()
    assert server_line.startswith(nginx)
    server = subprocess.Popen(shlex.split(server_line), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 5
        while _nobody_listens(port) and time.monotonic() < deadline:
            time.sleep(0.05)
        commands = _commands(run.stdout)
        assert [c.split()[0] for c, _ in commands] == ["curl", "mtls-doctor", "mtls-doctor", "cat", "curl"]
        assert commands[1][0].startswith("mtls-doctor check --connect 127.0.0.1:"), "the live handshake is shown"
        (keep / "client-chain.pem").unlink()  # the printed cat makes it again
        for command, printed in commands:
            argv = shlex.split(command.split(" > ")[0])
            if argv[0] == "mtls-doctor":
                argv[0] = str(EXE)
            again = subprocess.run(argv, cwd=keep, capture_output=True, text=True, timeout=30, check=False)
            if " > " in command:
                (keep / command.split(" > ")[1]).write_text(again.stdout)
                continue
            if argv[0] == "curl":
                answer = again.stdout
                summary = answer.split("<title>")[1].split("</title>")[0] if "<title>" in answer else answer.strip()
                assert f"  → {summary}" == printed[0]
            else:
                # the report, as the demo printed it (the server clock aside)
                clock = re.compile(r"\d{4}-\d\d-\d\d \d\d:\d\d(:\d\d)? UTC|\d+ day\(s\)")
                assert [clock.sub("T", x) for x in again.stdout.splitlines() if x.strip()] == [
                    clock.sub("T", x) for x in printed if x.strip()
                ]
    finally:
        server.terminate()
        server.wait(timeout=10)
    assert _nobody_listens(port)


@pytest.mark.parametrize("occupied", [True, False], ids=["not-empty", "a-file"])
def test_demo_keep_refuses_a_directory_in_use(tmp_path: Path, occupied: bool) -> None:
    target = tmp_path / "d"
    if occupied:
        target.mkdir()
        (target / "mine.txt").write_text("keep me")
    else:
        target.write_text("a file")
    run, _ = demo("--keep", str(target))
    assert run.returncode == 2
    assert run.stderr.count("\n") == 1
    assert "not an empty directory" in run.stderr
