"""`inspect` of a bundle over a screenful: a summary and the first entries; `--all` for every one (issue 8)."""

from __future__ import annotations

import datetime
import json
import subprocess
import sys
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from mtls_doctor.render.inspection import FIRST_SHOWN
from tests.conftest import REPO

COUNT = 5000
DUPLICATES = 3


@pytest.fixture(scope="module")
def bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """5,000 self-signed certificates (one key: about half a second), each a day longer-lived than the one
    before, starting 2026-01-01; the first three again at the end."""
    key = ec.derive_private_key(5, ec.SECP256R1())
    start = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)
    pems = []
    for i in range(COUNT):
        name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"cert {i}")])
        cert = (
            x509.CertificateBuilder()
            .subject_name(name)
            .issuer_name(name)
            .public_key(key.public_key())
            .serial_number(i + 1)
            .not_valid_before(start)
            .not_valid_after(start + datetime.timedelta(days=i))
            .sign(key, hashes.SHA256())
        )
        pems.append(cert.public_bytes(serialization.Encoding.PEM))
    path = tmp_path_factory.mktemp("bundle") / "bundle.pem"
    path.write_bytes(b"".join(pems + pems[:DUPLICATES]))
    return path


def inspect(*args: str) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "inspect", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=REPO,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    assert done.returncode == 0, done.stderr
    assert not done.stderr
    return done.stdout


def test_a_large_bundle_is_summarised_then_its_first_entries_shown(bundle: Path) -> None:
    out = inspect(str(bundle))
    assert len(out.splitlines()) < 200, "not summarised"
    assert f"certificates  {COUNT + DUPLICATES}: {COUNT + DUPLICATES} no basicConstraints" in out
    assert "expiry        2026-01-01 00:00 UTC … 2039-09-09 00:00 UTC: " in out
    assert "expiring within 30 days" in out
    assert f"duplicates    {DUPLICATES} (same SHA-256; e.g. {bundle}:1 (block 1), " in out
    assert f" [{FIRST_SHOWN}] " in out
    assert f" [{FIRST_SHOWN + 1}] " not in out
    hidden = COUNT + DUPLICATES - FIRST_SHOWN
    assert f"… {hidden} more certificate(s) not shown: mtls-doctor inspect --all {bundle} shows them" in out


def test_all_shows_every_entry(bundle: Path) -> None:
    out = inspect("--all", str(bundle))
    assert f" [{COUNT + DUPLICATES}] " in out
    assert "duplicates" not in out


def test_json_always_holds_every_certificate(bundle: Path) -> None:
    assert len(json.loads(inspect("--format", "json", str(bundle)))["files"][0]["certificates"]) == COUNT + DUPLICATES
