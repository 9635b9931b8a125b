"""The sample PKI is reproducible byte for byte from its manifest, and `mtls-doctor sample-pki` writes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from mtls_doctor.samplepki.manifest import load_manifest
from mtls_doctor.samplepki.write import differences, render
from tests.conftest import REPO, SAMPLE


def test_committed_files_are_what_the_manifest_produces() -> None:
    manifest_path = SAMPLE / "MANIFEST.toml"
    files = render(load_manifest(manifest_path), manifest_path.read_bytes())
    assert differences(SAMPLE, files) == []


def test_the_command_writes_a_usable_sample_pki(tmp_path: Path) -> None:
    dest = tmp_path / "pki"
    run = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "sample-pki", str(dest)],
        capture_output=True, text=True, check=False, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert run.returncode == 0, run.stderr
    assert (dest / "scenarios" / "seed-missing-intermediate" / "client.pem").is_file()
    manifest_path = SAMPLE / "MANIFEST.toml"
    assert differences(dest, render(load_manifest(manifest_path), manifest_path.read_bytes())) == []
    again = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "sample-pki", str(tmp_path)],
        capture_output=True, text=True, check=False, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert again.returncode == 2, "a non-empty directory that is not a sample PKI is refused"
    assert again.stderr.count("\n") == 1
