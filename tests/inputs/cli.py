"""Running the real command line as a subprocess: no terminal, no password in the environment, a time limit.

``run_all`` runs many invocations at once (each is a Python start-up, ~0.2 s of CPU) and compiles mtls_doctor once
for all of them into a private bytecode cache, outside the work tree.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from tests.conftest import REPO

TIMEOUT = 60
"""Seconds one run may take; a run that hits it has hung (a run takes well under a second)."""


@dataclass(frozen=True)
class Invocation:
    """``mtls-doctor ARGS`` with extra environment variables."""

    args: list[str]
    env: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Result:
    """What one run did; ``returncode`` is None when it hung."""

    returncode: int | None
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return self.stdout + self.stderr


def _env(extra: Mapping[str, str], pycache: Path | None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "MTLS_DOCTOR_PASSWORD"}
    if pycache is not None:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        env["PYTHONPYCACHEPREFIX"] = str(pycache)
    env.update(extra)
    return env


def run_cli(invocation: Invocation, pycache: Path | None = None) -> Result:
    """Run ``python -m mtls_doctor`` from this checkout with stdin at /dev/null."""
    try:
        done = subprocess.run(
            [sys.executable, "-m", "mtls_doctor", *invocation.args],
            stdin=subprocess.DEVNULL,
            capture_output=True,
            text=True,
            errors="backslashreplace",
            timeout=TIMEOUT,
            cwd=REPO,
            env=_env(invocation.env, pycache),
            check=False,
        )
    except subprocess.TimeoutExpired:
        return Result(None, "", f"timed out after {TIMEOUT} s")
    return Result(done.returncode, done.stdout, done.stderr)


def run_all(invocations: Mapping[str, Invocation], pycache: Path) -> dict[str, Result]:
    """Run every invocation, concurrently; the first one alone, to fill the bytecode cache in ``pycache``."""
    names = list(invocations)
    if not names:
        return {}
    results = {names[0]: run_cli(invocations[names[0]], pycache)}
    with ThreadPoolExecutor(max_workers=max(4, os.cpu_count() or 4)) as pool:
        rest = pool.map(lambda name: run_cli(invocations[name], pycache), names[1:])
        results.update(zip(names[1:], rest, strict=True))
    return results
