"""Fixes that fix (issue 9): every rule whose remedy changes files is applied, as written, to its failing sample
scenario in a copy of the sample PKI, and the scenario is checked again: the rule passes and nginx serves the client.
A remedy offers alternatives after a line "# or ..." (what comes before a line "# then either ..." is common to
them); each is applied to its own copy. Lines that talk to a server
(curl, nginx, openssl s_client) are not run: the check that follows is what they stand for.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from pathlib import Path

import pytest

from mtls_doctor.diagnosis import diagnose
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import replace
from mtls_doctor.samplepki.inputs import scenario_inputs
from mtls_doctor.vocabulary import Outcome
from tests.conftest import LOCAL_NOW, SAMPLE, catalogue, manifest

# rule: (its failing scenario, where the nearby-issuer search looks (relative to the sample PKI), for each
# alternative of the remedy the file it makes the client's --cert or the server's --crl (None: the inputs stay,
# edited in place))
FIXES: dict[str, tuple[str, str | None, tuple[tuple[str, str] | None, ...]]] = {
    "MTLS002": ("leaf-not-first", None, (("cert", "client-fixed.pem"),)),
    "MTLS003": ("der-client-cert", None, (("cert", "client.pem"),)),
    "MTLS004": ("good-with-text-between-blocks", None, (("cert", "client-clean.pem"),)),
    "MTLS209": ("self-signed-client", None, (None,)),
    # the intermediate is found in another client's bundle (its leaf first): the fix must take it alone
    "MTLS301": ("seed-missing-intermediate", "scenarios/good-chain/client.pem", (("cert", "client-chain.pem"), None)),
    "MTLS403": ("ca-file-intermediate-without-root", "certs", (None,)),
    "MTLS727": ("crl-file-holds-intermediate", None, (("crl", "crls-only.pem"),)),
    "MTLS005": ("sends-unrelated-certificate", None, (("cert", "client-chain.pem"),)),
}
# Remedies that write files but are not the fix of the inputs: a new key and CSR for a CA to sign.
NOT_APPLICABLE = {
    "MTLS206": "a new key and a CSR, for the CA to sign",
    "MTLS210": "a new key and a CSR, for the CA to sign",
    "MTLS212": "a new key and a CSR, for the CA to sign",
    "MTLS213": "a new key and a CSR, for the CA to sign",
    "MTLS214": "a new key and a CSR, for the CA to sign",
    "MTLS501": "KNOWN GAP: the missing CRL comes from its CA (missing-ca-crl.pem stands for it)",
}
_WRITES = re.compile(r"(?m)^(?!\s*#)[^\n]*(\s>>?\s|\s-out\s)|\{(client\.keep_on_path|path\.issuer_extract)")
"""A remedy line that writes a file, or a fact that is such a command (facts/gather.py)."""
_TALKS = ("curl ", "nginx ", "openssl s_client", "timedatectl")


def test_every_rule_whose_remedy_writes_files_is_applied() -> None:
    writing = {r.id for r in catalogue().rules if r.remedy and _WRITES.search(r.remedy)}
    assert writing == set(FIXES) | set(NOT_APPLICABLE)


def _alternatives(remedy: str) -> list[list[str]]:
    common: list[str] = []
    out: list[list[str]] = [[]]
    for line in remedy.splitlines():
        if line.startswith("# then either"):
            common, out = out[0], [[]]
        elif line.startswith("# or"):
            out.append([])
        elif line.strip() and not line.lstrip().startswith("#") and not line.startswith(_TALKS):
            out[-1].append(line)
    return [common + alternative for alternative in out]


@pytest.mark.parametrize("rule_id", sorted(FIXES))
def test_applying_the_fix_gives_the_passing_verdict(rule_id: str, tmp_path: Path) -> None:
    name, issuers, certs = FIXES[rule_id]
    sc = manifest().scenarios[name]
    remedy = None
    for i, new_file in enumerate(certs):
        pki = tmp_path / f"pki-{i}"
        shutil.copytree(SAMPLE, pki, ignore=shutil.ignore_patterns("scenarios"))
        shutil.copytree(SAMPLE / "scenarios" / name, pki / "scenarios" / name)
        if issuers and issuers.startswith("scenarios/"):
            (pki / issuers).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SAMPLE / issuers, pki / issuers)
        inputs = scenario_inputs(pki, sc)
        if issuers:
            inputs = replace(inputs, issuers=(str(pki / issuers),))
        before = diagnose(inputs, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue())
        finding = next(f for f in before.findings if f.rule.id == rule_id)
        assert finding.status is Status.FAIL, finding
        assert finding.remedy
        remedy = finding.remedy
        commands = _alternatives(remedy)[i]
        where = pki / "scenarios" / name
        run = subprocess.run(
            ["bash", "-euo", "pipefail", "-c", "\n".join(commands)],
            cwd=where, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert run.returncode == 0, f"{commands}: {run.stderr}"
        fixed = inputs
        if new_file and new_file[0] == "cert":
            fixed = replace(inputs, cert=str(where / new_file[1]))
        elif new_file:
            fixed = replace(inputs, crls=(str(where / new_file[1]),))
        after = diagnose(fixed, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue())
        status = next(f for f in after.findings if f.rule.id == rule_id).status
        assert status is not Status.FAIL, f"after {commands}: {rule_id} still fails"
        verdict = after.facts.verdict
        assert verdict.outcome is Outcome.ACCEPT, f"after {commands}: {verdict.outcome.value} ({verdict.reason})"
        ca = inputs.ca
        if ca:
            # the CA file never gets an end-entity certificate from a fix
            assert not [f for f in after.findings if f.rule.id in {"MTLS404", "MTLS408"} and f.status is Status.FAIL]
    assert remedy is not None
    assert len(_alternatives(remedy)) == len(certs), remedy
