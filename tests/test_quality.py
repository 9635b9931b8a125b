"""The code stays ruff- and mypy-clean (configured in pyproject.toml); CI runs these through README's test command."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import REPO

BIN = Path(sys.executable).parent


def _tool(name: str) -> str:
    found = shutil.which(name, path=str(BIN))
    if found is None:
        pytest.fail(f"{name} is not installed in the test environment (pip install -e '.[test]')")
    return found


def test_ruff_check_is_clean() -> None:
    run = subprocess.run([_tool("ruff"), "check", "."], cwd=REPO, capture_output=True, text=True, check=False)
    assert run.returncode == 0, run.stdout + run.stderr


def test_ruff_format_is_clean() -> None:
    run = subprocess.run(
        [_tool("ruff"), "format", "--check", "mtls_doctor", "tests", "bench", "sample_pki/build.py"],
        cwd=REPO,
        capture_output=True,
        text=True,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr


def test_mypy_strict_is_clean() -> None:
    run = subprocess.run([_tool("mypy")], cwd=REPO, capture_output=True, text=True, check=False, timeout=600)
    assert run.returncode == 0, run.stdout + run.stderr
