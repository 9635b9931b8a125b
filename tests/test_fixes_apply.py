"""Fixes that fix (issue 9): every rule whose remedy changes files is applied, as written, to its failing sample
scenario in a copy of the sample PKI, and the scenario is checked again: the rule passes, the twin accepts the
client, and a real nginx serving the fixed files answers a real curl with 200. A remedy offers alternatives after a
line "# or ..." (what comes before a line "# then either ..." is common to them); each is applied to its own copy.
Lines that talk to a server (curl, nginx, openssl s_client) are not run: the check that follows is what they stand
for.

A remedy that makes a new key and a CSR (REISSUED) is run as written too; the step that is the CA's, signing the
CSR, is the command the remedy shows for it (its "#   " lines), run with the sample CA's certificate and key in place
of the issuing-ca.pem and issuing-ca.key it names.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
from datetime import UTC, datetime
from pathlib import Path

import pytest
from cryptography import x509

from mtls_doctor.diagnosis import diagnose
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.facts.certificate import is_issued_by
from mtls_doctor.inputs import Inputs
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import replace
from mtls_doctor.samplepki.inputs import scenario_inputs
from mtls_doctor.vocabulary import Outcome
from tests.conftest import LOCAL_NOW, SAMPLE, catalogue, manifest, require_nginx, scenario_report
from tests.support import realnginx

# rule: (its failing scenario, where the nearby-issuer search looks (relative to the sample PKI), for each
# alternative of the remedy the file it makes the client's --cert (None: the inputs stay, edited in place))
FIXES: dict[str, tuple[str, str | None, tuple[str | None, ...]]] = {
    "MTLS002": ("leaf-not-first", None, ("client-fixed.pem",)),
    "MTLS003": ("der-client-cert", None, ("client.pem",)),
    "MTLS004": ("good-with-text-between-blocks", None, ("client-clean.pem",)),
    "MTLS209": ("self-signed-client", None, (None,)),
    # the intermediate is found in another client's bundle (its leaf first): the fix must take it alone
    "MTLS301": ("seed-missing-intermediate", "scenarios/good-chain/client.pem", ("client-chain.pem", None)),
    "MTLS403": ("ca-file-intermediate-without-root", "certs", (None,)),
    "MTLS727": ("crl-file-holds-intermediate", None, (None,)),
    "MTLS005": ("sends-unrelated-certificate", None, ("client-chain.pem",)),
    # the CRL missing is found in the sample PKI's crls/ (its issuer and signature checked): appended to ssl_crl
    "MTLS501": ("crl-missing-root-crl", "crls", (None,)),
}
# Remedies that make a new key and a CSR for the CA to sign: applied to every failing example of the rule.
REISSUED = ("MTLS206", "MTLS210", "MTLS212", "MTLS213", "MTLS214")


def _failing_examples(rule_ids: tuple[str, ...]) -> list[tuple[str, str]]:
    rules = {r.id: r for r in catalogue().rules}
    return [
        (rule_id, e.target)
        for rule_id in rule_ids
        for e in rules[rule_id].examples
        if e.expect is Status.FAIL and not e.config and not e.live and not e.known_gap
    ]


NOT_APPLICABLE: dict[str, str] = {}
"""Remedies that write files but are not the fix of the inputs (none today)."""
_WRITES = re.compile(
    r"(?m)^(?!\s*#)[^\n]*(\s>>?|\s-(?:out|keyout)\b|\btee\b|\bsed\s+-i|\b(?:cp|mv|install|ln|dd|truncate|rm)\s)"
    r"|\{(client\.keep_on_path|path\.issuer_extract|revocation\.add_missing_crls)"
)
"""A remedy line (not a comment) that writes, moves or removes a file: a redirection, openssl's -out/-keyout, tee,
sed -i, cp/mv/install/ln/dd/truncate/rm; or a fact that holds such commands (facts/gather.py, facts/revocation.py)."""
_TALKS = ("curl ", "nginx ", "openssl s_client", "timedatectl")


def test_every_rule_whose_remedy_writes_files_is_applied() -> None:
    writing = {r.id for r in catalogue().rules if r.remedy and _WRITES.search(r.remedy)}
    assert writing == set(FIXES) | set(REISSUED) | set(NOT_APPLICABLE)


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


def _copy(name: str, dest: Path, issuers: str | None = None) -> Path:
    """A copy of the sample PKI (certs, keys, CRLs, the scenario's own directory, and the files under scenarios/
    that ``issuers`` or the scenario's own --issuers name) at ``dest``."""
    shutil.copytree(SAMPLE, dest, ignore=shutil.ignore_patterns("scenarios"))
    shutil.copytree(SAMPLE / "scenarios" / name, dest / "scenarios" / name)
    for place in (issuers, *manifest().scenarios[name].issuers):
        if place and place.startswith("scenarios/") and not (dest / place).exists():
            (dest / place).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(SAMPLE / place, dest / place)
    return dest


def _run(commands: list[str], where: Path) -> None:
    run = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", "\n".join(commands)],
        cwd=where, capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert run.returncode == 0, f"{commands}: {run.stderr}"


def _failing(inputs: Inputs, rule_id: str) -> str:
    """The remedy of ``rule_id``, which fails on ``inputs``."""
    before = diagnose(inputs, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue())
    finding = next(f for f in before.findings if f.rule.id == rule_id)
    assert finding.status is Status.FAIL, finding
    assert finding.remedy
    return finding.remedy


def _passes_and_is_accepted(fixed: Inputs, rule_id: str, commands: list[str], *, now: datetime = LOCAL_NOW) -> None:
    after = diagnose(fixed, now=now, passwords=Passwords(), catalogue=catalogue())
    status = next(f for f in after.findings if f.rule.id == rule_id).status
    assert status is not Status.FAIL, f"after {commands}: {rule_id} still fails"
    verdict = after.facts.verdict
    assert verdict.outcome is Outcome.ACCEPT, f"after {commands}: {verdict.outcome.value} ({verdict.reason})"
    if fixed.ca:
        # the CA file never gets an end-entity certificate from a fix
        assert not [f for f in after.findings if f.rule.id in {"MTLS404", "MTLS408"} and f.status is Status.FAIL]


def _nginx_serves(pki: Path, name: str, fixed: Inputs, work: Path, *, expect: str = "200") -> None:
    """A real nginx serving the scenario's server.conf over the fixed files answers a real curl presenting the fixed
    --cert and --key with 200 (``expect``)."""
    require_nginx()
    sc = manifest().scenarios[name]
    if sc.server_time is not None:
        realnginx.require_faketime()
    with realnginx.serve([sc], pki, work, server_time=sc.server_time) as nginx:
        port = nginx.ports[name]
        argv = ["curl", "-sS", "--max-time", "15", "-k", "--resolve", f"localhost:{port}:127.0.0.1"]
        argv += ["--cert", str(fixed.cert), "--key", str(fixed.key), "-o", "/dev/null", "-w", "%{http_code}"]
        url = f"https://localhost:{port}/"
        run = subprocess.run([*argv, url], capture_output=True, text=True, timeout=30, check=False)
    assert run.stdout == expect, f"nginx answered {run.stdout or '-'}: {run.stderr}"


def _fix_cases() -> list[object]:
    """Each FIXES rule on its scenario, and on every other failing example of it whose remedy names no stand-in
    (a remedy that says a file "stands for" the one to get, or that nothing was found, cannot run as written)."""
    cases: list[object] = [pytest.param(r, FIXES[r][0], FIXES[r][1], id=r) for r in sorted(FIXES)]
    for rule_id, name in _failing_examples(tuple(sorted(FIXES))):
        if name == FIXES[rule_id][0]:
            continue
        remedy = next(f.remedy for f in scenario_report(name).findings if f.rule.id == rule_id)
        if remedy and "stands for" not in remedy and "nowhere near" not in remedy:
            cases.append(pytest.param(rule_id, name, None, id=f"{rule_id}-{name}"))
    return cases


FURTHER_CAUSE = {("MTLS209", "self-signed-client-with-crl"): "MTLS501"}
"""Examples whose fix removes its rule's defect and leaves another, which the check after it must name as the root
cause (and nginx still refuses the client): with ssl_crl, a pinned self-signed certificate needs a CRL it signed
(observed: scenario self-signed-client-pinned-with-crl)."""


@pytest.mark.parametrize(("rule_id", "name", "issuers"), _fix_cases())
def test_applying_the_fix_gives_the_passing_verdict(
    rule_id: str, name: str, issuers: str | None, tmp_path: Path
) -> None:
    certs = FIXES[rule_id][2]
    sc = manifest().scenarios[name]
    remedy = None
    for i, new_file in enumerate(certs):
        pki = _copy(name, tmp_path / f"pki-{i}", issuers)
        inputs = scenario_inputs(pki, sc)
        if issuers:
            inputs = replace(inputs, issuers=(str(pki / issuers),))
        remedy = _failing(inputs, rule_id)
        commands = _alternatives(remedy)[i]
        where = pki / "scenarios" / name
        _run(commands, where)
        fixed = replace(inputs, cert=str(where / new_file)) if new_file else inputs
        further = FURTHER_CAUSE.get((rule_id, name))
        if further is None:
            _passes_and_is_accepted(fixed, rule_id, commands)
            _nginx_serves(pki, name, fixed, tmp_path / f"nginx-{i}")
        else:
            after = diagnose(fixed, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue())
            assert next(f for f in after.findings if f.rule.id == rule_id).status is not Status.FAIL
            assert after.tree[0].finding.rule.id == further, [r.finding.rule.id for r in after.tree]
            _nginx_serves(pki, name, fixed, tmp_path / f"nginx-{i}", expect="400")
    assert remedy is not None
    assert len(_alternatives(remedy)) == len(certs), remedy


_SIGNS = re.compile(r"(?m)^# .*\bsigns the (?:CA's )?CSR.*\n(?:#(?! {3}).*\n)*((?:# {3}.*\n?)+)")
"""A CA's step a re-issuing remedy shows: the "#   " lines after the line that says a CA signs a CSR (the client's,
or, for a CA re-keyed, the CA's own, which its issuer signs)."""


def _with(line: str, files: dict[str, Path]) -> str:
    for name, path in files.items():
        line = line.replace(name, shlex.quote(str(path)))
    return line


def _issuing_ca(pki: Path, leaf: x509.Certificate) -> tuple[Path, Path]:
    """The sample CA that issued ``leaf`` (name and signature), and its key: the CA's own files."""
    for path in sorted((pki / "certs").glob("*.pem")):
        ca = x509.load_pem_x509_certificate(path.read_bytes())
        if ca.subject == leaf.issuer and is_issued_by(leaf, ca):
            return path, pki / "keys" / f"{path.stem}.key"
    raise AssertionError(f"no CA of the sample PKI issued {leaf.subject.rfc4514_string()}")


@pytest.mark.parametrize(("rule_id", "name"), _failing_examples(REISSUED))
def test_the_reissued_certificate_gives_the_passing_verdict(rule_id: str, name: str, tmp_path: Path) -> None:
    """The remedy's new key and CSR, signed as the remedy shows the CA doing it, sent with the CA certificates the
    old certificate file held: the rule passes, the twin accepts, nginx serves the client."""
    sc = manifest().scenarios[name]
    pki = _copy(name, tmp_path / "pki")
    inputs = scenario_inputs(pki, sc)
    remedy = _failing(inputs, rule_id)
    where = pki / "scenarios" / name
    (commands,) = _alternatives(remedy)
    _run(commands, where)
    blocks = _SIGNS.findall(remedy)
    assert blocks, f"{rule_id}'s remedy does not show how the CA signs the CSR: {remedy}"
    assert inputs.cert
    pem = Path(inputs.cert).read_bytes()
    old = re.findall(rb"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----\n", pem, re.S)
    certs = [x509.load_pem_x509_certificate(b) for b in old]
    rekeyed = None
    if (where / "ca-new.csr").exists():
        # a CA re-keyed: its issuer (root-ca.pem, root-ca.key in the remedy) is the sample CA above the old one
        subject = x509.load_pem_x509_csr((where / "ca-new.csr").read_bytes()).subject
        rekeyed = next(i for i, c in enumerate(certs) if c.subject == subject)
    by_ca: list[str] = []
    for block in blocks:
        lines = [line.removeprefix("#   ") for line in block.splitlines()]
        if "root-ca.pem" in block:
            assert rekeyed is not None
            root, root_key = _issuing_ca(pki, certs[rekeyed])
            lines = [_with(line, {"root-ca.pem": root, "root-ca.key": root_key}) for line in lines]
        else:
            # the client's CSR: signed by the CA that issued it, or by the re-keyed CA, as the remedy says
            ca_cert, ca_key = _issuing_ca(pki, certs[0])
            if rekeyed is not None:
                ca_cert, ca_key = where / "ca-new.pem", where / "ca-new.key"
            lines = [_with(line, {"issuing-ca.pem": ca_cert, "issuing-ca.key": ca_key}) for line in lines]
        _run(lines, where)
        by_ca += lines
    sent = [(where / "ca-new.pem").read_bytes() if i == rekeyed else b for i, b in enumerate(old)]
    (where / "client-new-chain.pem").write_bytes((where / "client-new.pem").read_bytes() + b"".join(sent[1:]))
    fixed = replace(inputs, cert=str(where / "client-new-chain.pem"), key=str(where / "client-new.key"))
    # the new certificate is valid from the real clock on (as nginx, on the real clock, sees it)
    _passes_and_is_accepted(fixed, rule_id, commands + by_ca, now=datetime.now(UTC))
    _nginx_serves(pki, name, fixed, tmp_path / "nginx")
