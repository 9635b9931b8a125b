"""Fixes never make things worse, on every sample scenario (issue 9, item 3).

* A fix that trusts a certificate puts only CA certificates in the server's CA files: every remedy of every failing
  finding is run (each alternative in its own copy of the sample PKI), and the CA file and the trusted file then
  hold no end-entity certificate they did not hold before (applying a fix that appends a bundle with a leaf in it
  would). The one exception is the fix that pins a self-signed client, which is what it says it does.
* A message never contradicts the verdict: a failing chain or trust finding (MTLS3xx, MTLS4xx) whose message says
  what nginx logs names the code the verdict logs, when its rule predicts that code.

Remedy lines that talk to a server are not run (as in test_fixes_apply.py), nor lines naming a file outside the
copy (a placeholder such as /etc/nginx/client-ca.pem); a line whose placeholder file does not exist just fails.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mtls_doctor.diagnosis import diagnose
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.samplepki.inputs import scenario_inputs
from tests.conftest import LOCAL_NOW, SAMPLE, catalogue, manifest, scenario_report
from tests.test_fixes_apply import _WRITES, _alternatives

PINS_ITSELF = {"MTLS209": "appends the self-signed client certificate to ssl_client_certificate: pinning it"}


def _copy(name: str, dest: Path) -> Path:
    shutil.copytree(SAMPLE, dest, ignore=shutil.ignore_patterns("scenarios"))
    shutil.copytree(SAMPLE / "scenarios" / name, dest / "scenarios" / name)
    for place in manifest().scenarios[name].issuers:
        if place.startswith("scenarios/") and not (dest / place).exists():
            (dest / place).parent.mkdir(parents=True, exist_ok=True)
            copy = shutil.copytree if (SAMPLE / place).is_dir() else shutil.copy
            copy(SAMPLE / place, dest / place)
    return dest


def _end_entities(path: str | None) -> list[bytes]:
    if not path or not Path(path).is_file():
        return []
    data = Path(path).read_bytes()
    blocks = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", data, re.S)
    out = []
    for block in blocks:
        cert = x509.load_pem_x509_certificate(block)
        try:
            ca = cert.extensions.get_extension_for_class(x509.BasicConstraints).value.ca
        except x509.ExtensionNotFound:
            ca = False
        if not ca:
            out.append(cert.fingerprint(hashes.SHA256()))
    return out


def _inside(line: str, root: Path) -> bool:
    """Every absolute path the line names is in the copy (or /dev/null)."""
    try:
        words = shlex.split(line, comments=True)
    except ValueError:
        return False
    paths = [w for w in words if w.startswith("/") and w != "/dev/null"]
    return all(Path(p).resolve().is_relative_to(root.resolve()) for p in paths)


def _writing_failures(name: str) -> list[str]:
    report = scenario_report(name)
    return [
        f.rule.id
        for f in report.findings
        if f.status is Status.FAIL and f.remedy and f.rule.remedy and _WRITES.search(f.rule.remedy)
    ]


@pytest.mark.parametrize("name", [n for n in manifest().scenarios if _writing_failures(n)])
def test_no_fix_puts_an_end_entity_certificate_in_a_ca_file(name: str, tmp_path: Path) -> None:
    sc = manifest().scenarios[name]
    for rule_id in _writing_failures(name):
        if rule_id in PINS_ITSELF:
            continue
        n = 0
        while True:
            pki = _copy(name, tmp_path / f"{rule_id}-{n}")
            inputs = scenario_inputs(pki, sc)
            report = diagnose(inputs, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue())
            remedy = next(f.remedy for f in report.findings if f.rule.id == rule_id)
            assert remedy
            alternatives = _alternatives(remedy)
            before = {p: _end_entities(p) for p in (inputs.ca, inputs.trusted)}
            lines = [line for line in alternatives[n] if _inside(line, pki)]
            subprocess.run(
                ["bash", "-o", "pipefail", "-c", "\n".join(lines)],
                cwd=pki / "scenarios" / name, capture_output=True, timeout=60, check=False,
            )  # fmt: skip
            for path, old in before.items():
                added = [fp for fp in _end_entities(path) if fp not in old]
                assert not added, f"{rule_id} ({lines}) put an end-entity certificate in {path}"
            n += 1
            if n == len(alternatives):
                break


def _logged_codes(message: str) -> set[int]:
    """The codes the message's "... logs N ..." sentences name."""
    return {int(x) for s in re.findall(r"\blogs\b[^.]*", message) for x in re.findall(r"\b(\d+)\b", s)}


@pytest.mark.parametrize("name", list(manifest().scenarios))
def test_a_chain_or_trust_message_names_the_code_nginx_logs(name: str) -> None:
    report = scenario_report(name)
    verdict = report.facts.verdict
    if verdict.verify_error is None or verdict.forgiven:
        return
    code = verdict.verify_error.code
    for f in report.findings:
        if f.status is not Status.FAIL or not f.message or f.rule.id[4] not in "34" or code not in f.rule.predicts:
            continue
        named = _logged_codes(f.message)
        assert not named or code in named, f"{f.rule.id} says nginx logs {sorted(named)}; it logs {code}"
