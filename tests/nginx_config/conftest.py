"""Fixtures for the nginx reader tests: configuration trees in a temporary directory, and the real nginx."""

from __future__ import annotations

import re
import subprocess
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.conftest import require_nginx

WriteTree = Callable[[Mapping[str, str | bytes]], Path]


@pytest.fixture
def write_tree(tmp_path: Path) -> WriteTree:
    """Writes {relative path: content} under a fresh directory; returns that directory."""

    def write(files: Mapping[str, str | bytes]) -> Path:
        root = tmp_path / "conf"
        for name, content in files.items():
            path = root / name
            path.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                path.write_bytes(content)
            else:
                path.write_text(content)
        return root

    return write


@dataclass(frozen=True)
class NginxResult:
    """What ``nginx -t`` (or ``-T``) printed."""

    returncode: int
    stdout: str
    stderr: str

    @property
    def emerg(self) -> tuple[str, str, int] | None:
        """(message, file, line) of the first ``[emerg]`` line, without the ``in FILE:LINE`` suffix."""
        match = re.search(r"\[emerg\] \d+#\d+: (.*) in (/\S+):(\d+)$", self.stderr, re.MULTILINE)
        return (match.group(1), match.group(2), int(match.group(3))) if match else None


@pytest.fixture
def nginx() -> Callable[..., NginxResult]:
    """Runs the real nginx on a configuration: ``nginx(conf_path, "-t")``; skips or fails as require_nginx says.

    nginx gets ``-p`` = ``prefix`` (default: the directory of the file) and ``-c`` = the file, logs to stderr and
    writes its pid file next to the file, so it needs no system paths.
    """
    binary = require_nginx()

    def run(conf: Path, *flags: str, prefix: Path | None = None) -> NginxResult:
        done = subprocess.run(
            [
                binary,
                *flags,
                "-p",
                f"{prefix or conf.parent}/",
                "-c",
                str(conf),
                "-e",
                "stderr",
                "-g",
                f"pid {conf.parent}/nginx.pid;",
            ],
            capture_output=True,
            text=True,
            timeout=20,
            check=False,
        )
        return NginxResult(done.returncode, done.stdout, done.stderr)

    return run
