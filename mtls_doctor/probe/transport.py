"""Moving bytes between a memory-BIO TLS connection and one real socket, under ONE deadline for the whole attempt
and a bound on the bytes read, so that no server (silent, trickling, flooding) can stretch or grow a probe.

Why memory BIOs: a Python socket with a timeout is non-blocking at the fd level, and pyOpenSSL on such a socket
raises WantReadError instead of blocking; with memory BIOs every socket call is Python's, each given the time left
(probe-and-wizard.md §A4, verified).
"""

from __future__ import annotations

import contextlib
import socket
import time
from collections.abc import Callable
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:
    from OpenSSL import SSL

_T = TypeVar("_T")

MAX_READ = 4 * 1024 * 1024
"""Bytes the probe reads from a server at most: a 100-certificate chain is ~100 KB, a 5,000-name request ~300 KB."""
_CHUNK = 65536


class ProbeTimeoutError(Exception):
    """The deadline passed."""


class ProbeClosedError(Exception):
    """The server closed (FIN) or reset (RST) the connection."""

    def __init__(self, message: str, *, reset: bool) -> None:
        super().__init__(message)
        self.reset = reset


class ProbeTooLargeError(Exception):
    """The server sent more than MAX_READ bytes."""


class Deadline:
    """One point in time for the whole attempt: connect, handshake, request and answer."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.at = time.monotonic() + seconds

    def left(self) -> float:
        """Seconds left; ProbeTimeoutError when none."""
        left = self.at - time.monotonic()
        if left <= 0:
            raise ProbeTimeoutError(f"no answer within the {self.seconds:g} s deadline")
        return left


def connect(host: str, port: int, deadline: Deadline) -> socket.socket:
    """A TCP connection to exactly ``host``:``port`` (OSError when refused or unreachable; ProbeTimeoutError)."""
    try:
        return socket.create_connection((host, port), timeout=deadline.left())
    except TimeoutError as exc:
        raise ProbeTimeoutError(
            f"the TCP connection was not accepted within the {deadline.seconds:g} s deadline"
        ) from exc


class Pump:
    """Runs SSL operations of ``conn`` (memory BIOs), moving its bytes over ``sock``.

    ``received`` keeps the first bytes the server sent (to tell plain HTTP or garbage from TLS); ``total`` counts
    every byte read, bounded by ``limit``.
    """

    def __init__(self, conn: SSL.Connection, sock: socket.socket, deadline: Deadline, limit: int = MAX_READ) -> None:
        self.conn, self.sock, self.deadline, self.limit = conn, sock, deadline, limit
        self.eof = False
        self.total = 0
        self.first_bytes = b""

    def flush(self) -> None:
        """Send everything the TLS engine has written."""
        from OpenSSL import SSL  # noqa: PLC0415

        while True:
            try:
                data = self.conn.bio_read(_CHUNK)
            except SSL.WantReadError:
                return
            self.sock.settimeout(self.deadline.left())
            try:
                self.sock.sendall(data)
            except (ConnectionResetError, BrokenPipeError) as exc:
                raise ProbeClosedError("the server reset the connection (TCP RST)", reset=True) from exc

    def fill(self) -> None:
        """Read what the server sent next into the TLS engine (one socket read)."""
        self.sock.settimeout(self.deadline.left())
        try:
            data = self.sock.recv(_CHUNK)
        except TimeoutError as exc:
            raise ProbeTimeoutError(f"no answer within the {self.deadline.seconds:g} s deadline") from exc
        except ConnectionResetError as exc:
            raise ProbeClosedError("the server reset the connection (TCP RST)", reset=True) from exc
        if not data:
            self.eof = True
            self.conn.bio_shutdown()
            return
        if len(self.first_bytes) < 16:
            self.first_bytes += data[: 16 - len(self.first_bytes)]
        self.total += len(data)
        if self.total > self.limit:
            raise ProbeTooLargeError(f"the server sent more than {self.limit} bytes")
        self.conn.bio_write(data)

    def settle(self, window: float, done: Callable[[], bool]) -> bytes:
        """TLS 1.3: read for at most ``window`` seconds after the handshake, until ``done()`` (a session ticket
        came), so that a server's verdict on the client certificate (an alert) is read before the request is sent:
        a server that closes with our request unread makes Linux send RST, which can discard that alert (observed
        with an OpenSSL server requiring a certificate). Returns application data read meanwhile (normally none)."""
        import select  # noqa: PLC0415

        from OpenSSL import SSL  # noqa: PLC0415

        until = min(self.deadline.at, time.monotonic() + window)
        early = b""
        while not done() and not self.eof:
            try:
                early += self.conn.recv(_CHUNK)
                continue
            except SSL.WantReadError:
                pass
            except SSL.Error:
                with contextlib.suppress(ProbeClosedError, ProbeTimeoutError, OSError):
                    self.flush()
                raise
            self.flush()
            if done():  # the ticket was in what was just processed: waiting on would only wait for the window
                break
            left = until - time.monotonic()
            if left <= 0 or not select.select([self.sock], [], [], left)[0]:
                break
            self.fill()
        return early

    def run(self, op: Callable[[], _T]) -> _T:
        """``op()`` until it completes. An SSL.Error is raised after our own alert has been sent, so that the server
        logs the right reason (s_client does the same)."""
        from OpenSSL import SSL  # noqa: PLC0415

        while True:
            try:
                result = op()
            except SSL.WantReadError:
                self.flush()
                if self.eof:
                    raise ProbeClosedError(
                        "the server closed the connection (TCP FIN) without a TLS alert", reset=False
                    ) from None
                self.fill()
                continue
            except SSL.Error:
                # the alert may not go out (the server is gone): the error raised says more
                with contextlib.suppress(ProbeClosedError, ProbeTimeoutError, OSError):
                    self.flush()
                raise
            self.flush()
            return result
