"""The missing intermediate, found on disk, makes the fix runnable as written: the seed case's remedy, run in a shell,
produces a client bundle that the twin then accepts. Only local files are read; unreadable ones are skipped."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography import x509
from cryptography.hazmat.primitives.serialization import Encoding

from mtls_doctor.facts.nearby import MAX_BYTES, find_issuer
from tests.conftest import SAMPLE

SEED = SAMPLE / "scenarios" / "seed-missing-intermediate"
ISSUING = SAMPLE / "certs" / "client-issuing.pem"


def _leaf() -> x509.Certificate:
    return x509.load_pem_x509_certificate((SEED / "client.pem").read_bytes())


def _check(cwd: Path, *args: str) -> tuple[int, dict[str, Any]]:
    run = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "check", *args, "--format", "json"],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.stdout, run.stderr
    return run.returncode, json.loads(run.stdout)


def _remedy(report: dict[str, Any], rule: str) -> str:
    finding = next(f for f in report["findings"] if f["rule"] == rule)
    remedy: str = finding["remedy"]
    return remedy


@pytest.fixture
def seed_copy(tmp_path: Path) -> Path:
    """The seed case's files in a directory of their own (the intermediate is not among them)."""
    work = tmp_path / "client"
    shutil.copytree(SEED, work)
    return work


def test_the_seed_fix_names_the_intermediate_and_runs_as_written(seed_copy: Path, tmp_path: Path) -> None:
    issuers = tmp_path / "pki" / "intermediate" / "certs"
    issuers.mkdir(parents=True)
    shutil.copy(ISSUING, issuers / "issuing.cert.pem")
    status, report = _check(
        seed_copy, "--cert", "client.pem", "--key", "client.key", "--ca", "ca.pem", "--issuers", str(issuers)
    )
    assert status == 1
    assert report["chain"]["issuer_found"]["origin"]["source"] == str(issuers / "issuing.cert.pem")
    remedy = _remedy(report, "MTLS301")
    assert "issuing-ca.pem" not in remedy, remedy
    send = [line for line in remedy.splitlines() if line.startswith("cat client.pem")]
    assert send == [f"cat client.pem {issuers / 'issuing.cert.pem'} > client-chain.pem"], remedy
    subprocess.run(["sh", "-ec", send[0]], cwd=seed_copy, check=True, timeout=30)
    status, fixed = _check(seed_copy, "--cert", "client-chain.pem", "--key", "client.key", "--ca", "ca.pem")
    assert (status, fixed["verdict"]["outcome"]) == (0, "accept"), fixed["verdict"]


def test_the_other_fix_trusting_the_intermediate_runs_as_written(seed_copy: Path) -> None:
    status, report = _check(
        seed_copy, "--cert", "client.pem", "--key", "client.key", "--ca", "ca.pem", "--issuers", str(ISSUING)
    )
    trust = [line for line in _remedy(report, "MTLS301").splitlines() if line.endswith(">> ca.pem")]
    assert trust == [f"cat {ISSUING} >> ca.pem"]
    subprocess.run(["sh", "-ec", trust[0]], cwd=seed_copy, check=True, timeout=30)
    status, fixed = _check(seed_copy, "--cert", "client.pem", "--key", "client.key", "--ca", "ca.pem")
    assert (status, fixed["verdict"]["outcome"]) == (0, "accept"), fixed["verdict"]


def test_the_inputs_directory_is_searched_without_being_told(seed_copy: Path) -> None:
    shutil.copy(ISSUING, seed_copy / "intermediate.crt")
    _, report = _check(seed_copy, "--cert", "client.pem", "--key", "client.key", "--ca", "ca.pem")
    assert report["chain"]["issuer_found"]["origin"] == {"source": "intermediate.crt", "block": None, "line": 1}
    assert "cat client.pem intermediate.crt > client-chain.pem" in _remedy(report, "MTLS301")


def test_without_the_intermediate_the_fix_says_where_to_get_it(seed_copy: Path) -> None:
    _, report = _check(seed_copy, "--cert", "client.pem", "--key", "client.key", "--ca", "ca.pem")
    assert report["chain"]["issuer_found"] is None
    remedy = _remedy(report, "MTLS301")
    assert "found at: nowhere near the inputs (--issuers DIR looks elsewhere)" in remedy
    assert "cat client.pem issuing-ca.pem > client-chain.pem" in remedy
    assert "--key client.key " in remedy


def test_a_missing_issuers_path_is_a_usage_error(seed_copy: Path) -> None:
    run = subprocess.run(
        [sys.executable, "-m", "mtls_doctor", "check", "--cert", "client.pem", "--issuers", "no-such-dir"],
        cwd=seed_copy,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert run.returncode == 2
    assert "--issuers" in run.stderr
    assert "no-such-dir" in run.stderr
    assert "Traceback" not in run.stderr


# -- the search itself --------------------------------------------------------------------------------------------


def test_only_the_key_that_signed_counts(tmp_path: Path) -> None:
    """A namesake (same subject, another key) is passed over for the real issuer, whatever the file order."""
    root_leaf = x509.load_pem_x509_certificate(ISSUING.read_bytes())  # issued by CN=Client Root CA
    shutil.copy(SAMPLE / "certs" / "client-root-rekeyed.pem", tmp_path / "a-rekeyed.pem")
    shutil.copy(SAMPLE / "certs" / "client-root.pem", tmp_path / "b-root.pem")
    found = find_issuer(root_leaf, [tmp_path])
    assert found is not None
    assert found.path == tmp_path / "b-root.pem"


def test_bad_files_are_skipped_not_fatal(tmp_path: Path) -> None:
    pem = ISSUING.read_bytes()
    (tmp_path / "a-garbage.pem").write_bytes(b"\x00\xff" * 100)
    (tmp_path / "b-truncated.pem").write_bytes(pem[: len(pem) // 2])
    (tmp_path / "c-damaged.pem").write_bytes(pem.replace(b"MII", b"XII", 1))
    (tmp_path / "d-huge.pem").write_bytes(pem + b"#" * MAX_BYTES)
    (tmp_path / "e-dir.pem").mkdir()
    (tmp_path / "f-issuer.key").write_bytes(pem)  # keys are not read
    assert find_issuer(_leaf(), [tmp_path]) is None
    der = x509.load_pem_x509_certificate(pem).public_bytes(Encoding.DER)
    (tmp_path / "g-issuer.der").write_bytes(der)
    found = find_issuer(_leaf(), [tmp_path])
    assert found is not None
    assert (found.path.name, found.line) == ("g-issuer.der", 1)


def test_a_bundle_reports_the_line_of_the_issuer(tmp_path: Path) -> None:
    bundle = (SAMPLE / "certs" / "client-root.pem").read_bytes() + ISSUING.read_bytes()
    (tmp_path / "bundle.pem").write_bytes(bundle)
    found = find_issuer(_leaf(), [tmp_path / "bundle.pem"])
    assert found is not None
    assert found.line == bundle[: bundle.rindex(b"-----BEGIN")].count(b"\n") + 1


def test_the_inputs_themselves_are_skipped(tmp_path: Path) -> None:
    shutil.copy(ISSUING, tmp_path / "ca.pem")
    assert find_issuer(_leaf(), [tmp_path], skip=[tmp_path / "ca.pem"]) is None
    assert find_issuer(_leaf(), [tmp_path]) is not None
