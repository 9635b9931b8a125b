"""A command run on a real pseudo-terminal, for the tests of what mtls-doctor does when a person sits at it.

The child gets the terminal as stdin, stdout, stderr and as its controlling terminal (getpass reads a hidden
password from /dev/tty, which only a controlling terminal provides). Every wait has a timeout: a prompt that never
comes fails the test with the transcript, it never hangs it.
"""

from __future__ import annotations

import fcntl
import os
import re
import select
import signal
import struct
import subprocess
import sys
import termios
import time
from collections.abc import Sequence
from pathlib import Path

_ANSI = re.compile(rb"\x1b(?:\[[0-9;?<=>]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)|[()][0-9A-Za-z]|[=>78cDEHM])")
_CURSOR_POSITION_REQUEST = b"\x1b[6n"
"""prompt_toolkit asks the terminal where its cursor is (and waits a while for the answer before it gives up)."""


# Started in a new session (start_new_session: setsid), the launcher makes the pseudo-terminal on its stdin the
# session's controlling terminal, then becomes the command. (A preexec_fn would do the same in the forked child, but
# is unsafe in a process with threads.)
_LAUNCHER = "import fcntl, os, sys, termios; fcntl.ioctl(0, termios.TIOCSCTTY, 0); os.execvp(sys.argv[1], sys.argv[1:])"


class Terminal:
    """``argv`` running on a fresh pseudo-terminal of ``rows`` x ``cols``."""

    def __init__(self, argv: Sequence[str], *, cwd: Path, env: dict[str, str], rows: int = 40, cols: int = 160) -> None:
        master, slave = os.openpty()
        fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _LAUNCHER, *argv],
            stdin=slave,
            stdout=slave,
            stderr=slave,
            cwd=cwd,
            env={**env, "TERM": "xterm", "COLUMNS": str(cols), "LINES": str(rows)},
            start_new_session=True,
        )
        os.close(slave)
        self._master = master
        self.raw = b""
        self._closed = False

    @property
    def text(self) -> str:
        """Everything the terminal showed so far, without escape sequences."""
        return _ANSI.sub(b"", self.raw).replace(b"\r", b"").decode("utf-8", "replace")

    def _read(self, deadline: float) -> bool:
        """Read what is there (waiting until ``deadline``); False once the child closed the terminal."""
        if self._closed or self._master < 0:
            return False
        ready, _, _ = select.select([self._master], [], [], max(0.0, deadline - time.monotonic()))
        if not ready:
            return True
        try:
            chunk = os.read(self._master, 65536)
        except OSError:  # EIO: every process holding the slave side has exited
            chunk = b""
        if not chunk:
            self._closed = True
            return False
        if _CURSOR_POSITION_REQUEST in chunk:
            os.write(self._master, b"\x1b[1;1R")
        self.raw += chunk
        return True

    def expect(self, text: str, timeout: float = 30) -> None:
        """Wait until ``text`` has been shown; AssertionError with the transcript when it is not within ``timeout``."""
        deadline = time.monotonic() + timeout
        while text not in self.text:
            if time.monotonic() >= deadline or not self._read(deadline):
                self.kill()
                raise AssertionError(f"{text!r} was not shown; the terminal showed:\n{self.text}")

    def send(self, data: str) -> None:
        """Type ``data`` (``\\r`` is Enter, ``\\x1b[B`` the down arrow)."""
        os.write(self._master, data.encode())

    def finish(self, timeout: float = 60) -> int:
        """Read until the child exits; its exit code."""
        deadline = time.monotonic() + timeout
        while self._read(deadline):
            if time.monotonic() >= deadline:
                self.kill()
                raise AssertionError(f"still running after {timeout} s; the terminal showed:\n{self.text}")
        try:
            return self.proc.wait(timeout=max(1.0, deadline - time.monotonic()))
        finally:
            self._close()

    def kill(self) -> None:
        """Stop the child and everything it started, and let go of the terminal."""
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=10)
        self._close()

    def _close(self) -> None:
        if self._master >= 0:
            os.close(self._master)
            self._master = -1
