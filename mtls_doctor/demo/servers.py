"""The demo's server on 127.0.0.1: nginx with the seed scenario's server block, or the twin on a socket."""

from __future__ import annotations

import os
import shutil
import socket
import struct
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from mtls_doctor.errors import InputError

DEADLINE = 5.0
"""Seconds for the server to listen, and for one connection of the twin server."""
NGINX_CONF = "demo-nginx.conf"
SERVER_CONF = "demo-server.conf"


def nginx_binary() -> str | None:
    """nginx on PATH, or Debian's /usr/sbin/nginx."""
    found = shutil.which("nginx")
    if found:
        return found
    return "/usr/sbin/nginx" if os.access("/usr/sbin/nginx", os.X_OK) else None


def free_port() -> int:
    """A port nobody listens on, on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def write_nginx_conf(root: Path, scenario: str, port: int) -> None:
    """A main configuration at the sample PKI's root (nginx's conf prefix) including the scenario's server block,
    its listen line moved to 127.0.0.1:port."""
    block = (root / "scenarios" / scenario / "server.conf").read_text(encoding="utf-8")
    block = block.replace("listen 8443 ssl;", f"listen 127.0.0.1:{port} ssl;")
    (root / SERVER_CONF).write_text(block, encoding="utf-8")
    (root / NGINX_CONF).write_text(
        "daemon off;\nmaster_process off;\npid demo-nginx.pid;\nerror_log demo-error.log info;\n"
        "events { worker_connections 64; }\n"
        "http {\n    access_log off;\n    client_body_temp_path demo-tmp;\n    proxy_temp_path demo-tmp;\n"
        "    fastcgi_temp_path demo-tmp;\n    uwsgi_temp_path demo-tmp;\n    scgi_temp_path demo-tmp;\n"
        f"    include {SERVER_CONF};\n}}\n",
        encoding="utf-8",
    )
    (root / "demo-tmp").mkdir(exist_ok=True)


def nginx_command(nginx: str, root: Path) -> list[str]:
    """How the demo starts nginx (in the foreground: the demo stops it)."""
    prefix = f"{root.resolve()}/"
    return [nginx, "-p", prefix, "-c", f"{prefix}{NGINX_CONF}", "-e", f"{prefix}demo-error.log"]


@contextmanager
def nginx_server(nginx: str, root: Path, port: int) -> Iterator[None]:
    """nginx serving until the block ends; stopped (and waited for) whatever happens."""
    proc = subprocess.Popen(
        nginx_command(nginx, root), stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        _wait_listening(port, lambda: proc.poll() is None, lambda: proc.stderr.read() if proc.stderr else b"")
        yield
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=DEADLINE)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=DEADLINE)
        if proc.stderr:
            proc.stderr.close()


@contextmanager
def twin_server(root: Path, scenario: str, port: int) -> Iterator[None]:
    """The server twin (nginx's OpenSSL configuration, nginx's 400 pages) serving the scenario on a socket, in a
    thread: for a machine without nginx. Stopped (and joined) whatever happens."""
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", port))
    listener.listen(8)
    listener.settimeout(0.2)
    stop = threading.Event()
    ca_file = root / "scenarios" / scenario / "ca.pem"

    def serve() -> None:
        from OpenSSL import SSL  # noqa: PLC0415

        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            with conn:
                # Blocking (pyOpenSSL wants it) with kernel timeouts: a client that stalls costs DEADLINE, not a hang.
                conn.setblocking(True)
                timeval = struct.pack("ll", int(DEADLINE), 0)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, timeval)
                conn.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, timeval)
                try:
                    _answer(conn, root, ca_file)
                except (OSError, SSL.Error):
                    continue  # a client that gave up: the next one is served

    thread = threading.Thread(target=serve, name="mtls-doctor-demo-twin", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=DEADLINE)
        listener.close()


_PAGE = (
    "<html>\r\n<head><title>400 {reason}</title></head>\r\n<body>\r\n<center><h1>400 Bad Request</h1></center>\r\n"
    "<center>{reason}</center>\r\n<hr><center>mtls-doctor server twin</center>\r\n</body>\r\n</html>\r\n"
)


def _answer(conn: socket.socket, root: Path, ca_file: Path) -> None:
    """One connection as nginx answers it: the handshake always completes (the verify callback returns 1), then the
    first request gets 400 "No required SSL certificate was sent", 400 "The SSL certificate error", or the page."""
    from datetime import UTC, datetime  # noqa: PLC0415

    from cryptography import x509  # noqa: PLC0415
    from OpenSSL import SSL  # noqa: PLC0415

    from mtls_doctor.inputs import DEBIAN_DEFAULT_SECLEVEL, NGINX_DEFAULT_VERIFY_DEPTH  # noqa: PLC0415
    from mtls_doctor.twin.handshake import TwinServer, server_context  # noqa: PLC0415
    from mtls_doctor.vocabulary import VerifyClient, VerifyError  # noqa: PLC0415

    errors: list[VerifyError] = []
    server = TwinServer(
        verify_client=VerifyClient.ON,
        verify_depth=NGINX_DEFAULT_VERIFY_DEPTH,
        ca_certs=tuple(x509.load_pem_x509_certificates(ca_file.read_bytes())),
        trusted_certs=(),
        crls=(),
        crl_check=False,
        seclevel=DEBIAN_DEFAULT_SECLEVEL,
        at=datetime.now(UTC),
    )
    ctx = server_context(server, errors)
    ctx.use_certificate_chain_file(str(root / "certs" / "localhost.pem"))
    ctx.use_privatekey_file(str(root / "keys" / "localhost.key"))
    tls = SSL.Connection(ctx, conn)
    tls.set_accept_state()
    tls.do_handshake()
    request = b""
    while b"\r\n\r\n" not in request and len(request) < 65536:
        chunk = tls.recv(4096)
        if not chunk:
            return
        request += chunk
    if tls.get_peer_certificate() is None:
        status, body = "400 Bad Request", _PAGE.format(reason="No required SSL certificate was sent")
    elif errors:
        status, body = "400 Bad Request", _PAGE.format(reason="The SSL certificate error")
    else:
        status, body = "200 OK", "verify=SUCCESS\n"
    head = f"HTTP/1.1 {status}\r\nContent-Type: text/html\r\nContent-Length: {len(body)}\r\nConnection: close\r\n\r\n"
    tls.sendall((head + body).encode())
    tls.shutdown()


def _wait_listening(port: int, alive: object, stderr: object) -> None:
    deadline = time.monotonic() + DEADLINE
    while time.monotonic() < deadline:
        if not alive():  # type: ignore[operator]
            text = stderr().decode(errors="replace").strip().splitlines()  # type: ignore[operator]
            raise InputError("nginx", f"did not start: {text[-1] if text else 'no message'}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.02)
    raise InputError("nginx", f"did not listen on 127.0.0.1:{port} within {DEADLINE:.0f} s")
