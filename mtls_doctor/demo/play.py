"""The demo's story, each step a command shown as it can be run again (``demo --keep DIR``: from DIR)."""

from __future__ import annotations

import shlex
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from datetime import UTC, datetime
from pathlib import Path

from mtls_doctor.demo.servers import (
    DEADLINE,
    free_port,
    nginx_binary,
    nginx_command,
    nginx_server,
    twin_server,
    write_nginx_conf,
)
from mtls_doctor.errors import InputError

SCENARIO = "seed-missing-intermediate"
CLIENT = f"scenarios/{SCENARIO}"
FIXED = "client-chain.pem"
CHECK_ARGS = f"--cert {CLIENT}/client.pem --key {CLIENT}/client.key --ca {CLIENT}/ca.pem --issuers certs"
LIVE_ARGS = f"--cert {CLIENT}/client.pem --key {CLIENT}/client.key"


LiveStep = Callable[[Path, str, str, Callable[[str], None]], None]
"""``live(root, target, command, say)``: run ``command`` (``check --connect target``) from ``root`` and say what it
prints; handed in by the command line (the live probe lives there)."""


def play(keep: Path | None, say: Callable[[str], None], *, use_nginx: bool = True, live: LiveStep | None = None) -> int:
    """Play the seed case; 0 when the fixed request is served, 1 otherwise. ``keep``: leave the files there.
    ``live``: also show the failing request as the live probe sees it (the handshake, step by step)."""
    # The verdict first, as every command gives it; the run below shows it (and exits 1 if it does not hold).
    say("The seed case on 127.0.0.1: nginx answers 400 until the client sends its intermediate CA.")
    with _workdir(keep) as root:
        _write_pki(root)
        port = free_port()
        nginx = nginx_binary() if use_nginx else None
        server: AbstractContextManager[None]
        if nginx:
            write_nginx_conf(root, SCENARIO, port)
            say(f"Server: nginx ({nginx}) on 127.0.0.1:{port}, with scenarios/{SCENARIO}/server.conf:")
            say("  " + " ".join(shlex.quote(a) for a in nginx_command(nginx, root)))
            server = nginx_server(nginx, root, port)
        else:
            why = "asked for with --no-nginx" if not use_nginx else "no nginx on this machine"
            say(f"Server: the server twin ({why}): nginx's OpenSSL settings and 400 pages, serving")
            say(f"  scenarios/{SCENARIO}/server.conf's settings on a socket, 127.0.0.1:{port}")
            server = twin_server(root, SCENARIO, port)
        with server:
            say("")
            say("1. The failing request: alice sends her certificate alone; nginx trusts only the root.")
            failing = _request(root, port, f"{CLIENT}/client.pem", say)
            step = 2
            if live is not None:
                say("")
                say(f"{step}. The same request, seen live: the handshake step by step, and what the server answered.")
                command = f"mtls-doctor check --connect 127.0.0.1:{port} {LIVE_ARGS}"
                say(f"$ {command}")
                live(root, f"127.0.0.1:{port}", command, say)
                step += 1
            say("")
            say(f"{step}. The diagnosis:")
            say(f"$ mtls-doctor check {CHECK_ARGS}")
            _check(root, say)
            say(f"{step + 1}. The fix it names: send the intermediate after the certificate.")
            say(f"$ cat {CLIENT}/client.pem certs/client-issuing.pem > {FIXED}")
            (root / FIXED).write_bytes(
                (root / CLIENT / "client.pem").read_bytes() + (root / "certs" / "client-issuing.pem").read_bytes()
            )
            say("")
            say(f"{step + 2}. The same request with the fixed chain:")
            passing = _request(root, port, FIXED, say)
        say("")
        if keep is not None:
            say(f"The files are in {keep}: from there every command above runs as printed (start the server first).")
        return 0 if "400" in failing and "verify=SUCCESS" in passing else 1


@contextmanager
def _workdir(keep: Path | None) -> Iterator[Path]:
    if keep is None:
        with tempfile.TemporaryDirectory(prefix="mtls-doctor-demo-") as tmp:
            yield Path(tmp)
        return
    if keep.exists() and (not keep.is_dir() or any(keep.iterdir())):
        raise InputError(str(keep), "exists and is not an empty directory (demo --keep writes a fresh one)")
    try:
        keep.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(str(keep), f"cannot be created: {exc.strerror or exc}") from None
    yield keep


def _write_pki(root: Path) -> None:
    from mtls_doctor.samplepki.manifest import default_manifest_path, load_manifest  # noqa: PLC0415
    from mtls_doctor.samplepki.write import render, write  # noqa: PLC0415

    path = default_manifest_path()
    write(root, render(load_manifest(path), path.read_bytes()))


def _request(root: Path, port: int, cert: str, say: Callable[[str], None]) -> str:
    """The request as curl makes it (Python's ssl when curl is missing, said so); what came back, shown."""
    curl = shutil.which("curl")
    argv = [
        "curl", "-sS", "--max-time", "5", "--resolve", f"localhost:{port}:127.0.0.1", "--cacert",
        "certs/server-root.pem", "--cert", cert, "--key", f"{CLIENT}/client.key", f"https://localhost:{port}/",
    ]  # fmt: skip
    say("$ " + " ".join(shlex.quote(a) for a in argv))
    if curl:
        run = subprocess.run(
            [curl, *argv[1:]], cwd=root, capture_output=True, text=True, timeout=DEADLINE + 2, check=False
        )
        answer = run.stdout + run.stderr
    else:
        say("  (curl is not installed: the same request made with Python's ssl)")
        answer = _python_request(root, port, cert)
    shown = _summary(answer)
    say(f"  → {shown}")
    return shown


def _python_request(root: Path, port: int, cert: str) -> str:
    import socket  # noqa: PLC0415
    import ssl  # noqa: PLC0415

    ctx = ssl.create_default_context(cafile=str(root / "certs" / "server-root.pem"))
    ctx.load_cert_chain(str(root / cert), str(root / CLIENT / "client.key"))
    with (
        socket.create_connection(("127.0.0.1", port), timeout=DEADLINE) as raw,
        ctx.wrap_socket(raw, server_hostname="localhost") as tls,
    ):
        tls.sendall(f"GET / HTTP/1.1\r\nHost: localhost:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while chunk := tls.recv(4096):
            data += chunk
    return data.decode(errors="replace").split("\r\n\r\n", 1)[-1]


def _summary(answer: str) -> str:
    """The 400 page's title, or the served page's first line."""
    if "<title>" in answer:
        return answer.split("<title>", 1)[1].split("</title>", 1)[0]
    return answer.strip().splitlines()[0] if answer.strip() else "(nothing)"


def _check(root: Path, say: Callable[[str], None]) -> None:
    import io  # noqa: PLC0415
    import os  # noqa: PLC0415

    from mtls_doctor.diagnosis import diagnose  # noqa: PLC0415
    from mtls_doctor.inputs import Inputs  # noqa: PLC0415
    from mtls_doctor.pki.passwords import Passwords  # noqa: PLC0415
    from mtls_doctor.render.console import report_document  # noqa: PLC0415
    from mtls_doctor.render.document import print_document  # noqa: PLC0415

    previous = Path.cwd()
    os.chdir(root)  # the report's paths read as the command was typed, from the demo's directory
    try:
        # exactly CHECK_ARGS, the command shown
        inputs = Inputs(
            cert=f"{CLIENT}/client.pem", key=f"{CLIENT}/client.key", ca=f"{CLIENT}/ca.pem", issuers=("certs",)
        )
        report = diagnose(inputs, now=datetime.now(UTC), passwords=Passwords())
        buffer = io.StringIO()
        print_document(report_document(report), buffer)
    finally:
        os.chdir(previous)
    for line in buffer.getvalue().splitlines():
        say(line)
