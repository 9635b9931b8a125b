"""One model of the server: flags and an nginx server block become the same facts, judged once.

Each sample scenario is diagnosed twice, as `check` sees it through flags and as `check --nginx` sees it through the
scenario's own server.conf (in-process: serverblock.check_nginx, the CLI's pipeline), and both must tell one story:
one root cause per defect, start-up causes alone when nginx would not start, server-side evidence pointing at the
flag or at the directive's file:line.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path

import pytest

from mtls_doctor.diagnosis import Report, diagnose
from mtls_doctor.engine.catalogue import load_catalogue
from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.schema import RuleError
from mtls_doctor.engine.vocabulary import Severity, Status
from mtls_doctor.explain import explain
from mtls_doctor.linting import lint_config
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import replace
from mtls_doctor.samplepki.inputs import scenario_inputs
from mtls_doctor.serverblock import check_nginx
from mtls_doctor.vocabulary import Origin, Outcome, ServerSource
from tests.conftest import LOCAL_NOW, RULES, SAMPLE, catalogue, manifest, scenario_report

SERVER_CONF = "server.conf"


@functools.cache
def nginx_report(name: str) -> Report:
    """`check --nginx` on the scenario's own server block (the client's files only from the scenario)."""
    inputs = replace(scenario_inputs(SAMPLE, manifest().scenarios[name]), ca=None, trusted=None, crls=())
    conf = SAMPLE / "scenarios" / name / SERVER_CONF
    return check_nginx(inputs, str(conf), now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue(), prefix=SAMPLE)


def root_causes(report: Report) -> list[Finding]:
    """The blocking findings shown as root causes: top level of the ranking (symptoms fold under their causes),
    failing, and not waiting for nginx to start."""
    return [
        r.finding
        for r in report.tree
        if r.finding.status is Status.FAIL and r.finding.severity is Severity.BLOCKING and not r.finding.deferred
    ]


def culprit(finding: Finding) -> frozenset[tuple[str, int | None, int | None]]:
    """What a finding blames: the places its evidence names (certificates by file and block, settings by flag or
    file:line)."""
    return frozenset((o.source, o.line, o.block) for e in finding.evidence for o in e.origins)


def shared_defects(findings: list[Finding]) -> list[tuple[str, str]]:
    """Pairs of root causes that are one defect told twice: the same culprit and the same logged error (or, for
    causes that predict no error, the same culprit and the same stage)."""
    pairs = []
    for i, a in enumerate(findings):
        for b in findings[i + 1 :]:
            same_outcome = (
                bool(set(a.rule.predicts) & set(b.rule.predicts))
                if a.rule.predicts or b.rule.predicts
                else a.rule.stage is b.rule.stage
            )
            if same_outcome and culprit(a) and culprit(a) == culprit(b):
                pairs.append((a.rule.id, b.rule.id))
    return pairs


def _names() -> list[str]:
    return sorted(manifest().scenarios)


@pytest.mark.parametrize("name", _names())
def test_no_two_root_causes_share_a_defect(name: str) -> None:
    for mode, report in (("flags", scenario_report(name)), ("--nginx", nginx_report(name))):
        causes = root_causes(report)
        assert not shared_defects(causes), f"{name} via {mode}: {[f.rule.id for f in causes]}"
        if report.facts.verdict.outcome is Outcome.SERVER_CONFIG_ERROR:
            assert causes, f"{name} via {mode}: nginx would not start, and no cause says why"
            for f in causes:
                assert "MTLS904" in f.rule.explains, f"{name} via {mode}: {f.rule.id} is not a start-up cause"


@pytest.mark.parametrize("name", _names())
def test_flags_and_the_server_block_give_the_same_root_causes(name: str) -> None:
    """The scenario's flags and its server.conf say the same thing: the same causes come first either way."""
    flags = [f.rule.id for f in root_causes(scenario_report(name))]
    block = [f.rule.id for f in root_causes(nginx_report(name))]
    assert flags == block, name


def test_the_defect_test_finds_a_defect_told_twice(tmp_path: Path) -> None:
    """The check above can fail: a second rule for a missing CRL (a copy of MTLS501, as MTLS705 was) is caught."""
    source = next(RULES.glob("MTLS501-*.toml")).read_text()
    twin = re.sub(r'^id = "MTLS501"', 'id = "MTLS599"', source, flags=re.M)
    twin = re.sub(r'^name = "crl-missing-for-ca"', 'name = "crl-missing-twice"', twin, flags=re.M)
    twin = twin.split("[[examples]]")[0].split("# from MTLS705")[0]
    (tmp_path / "MTLS599-crl-missing-twice.toml").write_text(twin)
    doubled = load_catalogue([tmp_path])
    inputs = scenario_inputs(SAMPLE, manifest().scenarios["crl-missing-root-crl"])
    report = diagnose(inputs, now=LOCAL_NOW, passwords=Passwords(), catalogue=doubled)
    assert shared_defects(root_causes(report)) == [("MTLS501", "MTLS599")]


# -- a CA file nginx cannot load: nginx's refusal to start, said once ------------------------------------------


def _unusable(kind: str, d: Path) -> Path:
    good = SAMPLE / "scenarios" / "good-chain" / "ca.pem"
    if kind == "missing":
        return d / "absent.pem"
    if kind == "truncated":
        (d / "ca.pem").write_bytes(good.read_bytes()[:300])
        return d / "ca.pem"
    from cryptography import x509  # noqa: PLC0415
    from cryptography.hazmat.primitives.serialization import Encoding  # noqa: PLC0415

    (d / "ca.der").write_bytes(x509.load_pem_x509_certificate(good.read_bytes()).public_bytes(Encoding.DER))
    return d / "ca.der"


@pytest.mark.parametrize("kind", ["missing", "truncated", "der"])
def test_an_unusable_ca_file_is_the_one_root_cause(kind: str, tmp_path: Path) -> None:
    ca = _unusable(kind, tmp_path)
    text = (SAMPLE / "scenarios" / "good-chain" / SERVER_CONF).read_text()
    conf = tmp_path / SERVER_CONF
    conf.write_text(re.sub(r"ssl_client_certificate [^;]+;", f"ssl_client_certificate {ca};", text))
    line = next(i for i, row in enumerate(conf.read_text().splitlines(), 1) if "ssl_client_certificate" in row)
    inputs = replace(scenario_inputs(SAMPLE, manifest().scenarios["good-chain"]), ca=None, trusted=None, crls=())
    report = check_nginx(
        inputs, str(conf), now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue(), prefix=SAMPLE,
        allow_outside=True,
    )  # fmt: skip
    assert report.facts.verdict.outcome is Outcome.SERVER_CONFIG_ERROR
    (cause,) = root_causes(report)
    assert cause.rule.id == "MTLS708"
    assert Origin(source=str(conf), line=line) in {o for e in cause.evidence for o in e.origins}
    failing = {f.rule.id for f in report.findings if f.status is Status.FAIL}
    assert "MTLS601" not in failing, "the directive is there: nothing may say it is absent"
    waiting = [f.rule.id for f in report.findings if f.deferred]
    assert "MTLS401" in waiting, "what the client's chain would meet is shown for once nginx starts"


def test_a_missing_root_crl_is_one_blocking_finding() -> None:
    for report in (scenario_report("crl-missing-root-crl"), nginx_report("crl-missing-root-crl")):
        assert [f.rule.id for f in root_causes(report)] == ["MTLS501"]
    conf = SAMPLE / "scenarios" / "crl-missing-root-crl" / SERVER_CONF
    (block,) = lint_config(conf, now=LOCAL_NOW, prefix=SAMPLE).servers
    blocking = [f.rule.id for f in block.findings if f.status is Status.FAIL and f.severity is Severity.BLOCKING]
    assert blocking == ["MTLS501"]


# -- where the server's settings came from ---------------------------------------------------------------------


def _evidence_origins(report: Report, rule_id: str, fact: str) -> set[Origin]:
    finding = next(f for f in report.findings if f.rule.id == rule_id)
    assert finding.status is Status.FAIL, finding
    return {o for e in finding.evidence if e.fact == fact for o in e.origins}


def test_server_evidence_names_the_flag_or_the_directive() -> None:
    name = "depth-zero-one-intermediate"
    assert _evidence_origins(scenario_report(name), "MTLS307", "server.verify_depth") == {Origin(source="--depth")}
    conf = SAMPLE / "scenarios" / name / SERVER_CONF
    line = next(i for i, row in enumerate(conf.read_text().splitlines(), 1) if "ssl_verify_depth" in row)
    origins = _evidence_origins(nginx_report(name), "MTLS307", "server.verify_depth")
    assert {(o.source, o.line) for o in origins} == {(str(conf), line)}
    assert nginx_report(name).facts.server.source is ServerSource.NGINX
    assert scenario_report(name).facts.server.source is ServerSource.FLAGS


def test_a_default_names_the_block_it_applies_to() -> None:
    """No ssl_verify_depth in the block: the evidence names the server block, as nginx's default."""
    name = "depth-two-intermediates-sent"
    origins = _evidence_origins(nginx_report(name), "MTLS307", "server.verify_depth")
    (origin,) = origins
    assert origin.note is not None
    assert "default" in origin.note
    assert origin.line is not None


# -- retired rules ---------------------------------------------------------------------------------------------


def test_a_retired_rule_never_runs_and_explain_names_its_successor() -> None:
    cat = catalogue()
    retired = {r.id for r in cat.retired}
    assert {"MTLS602", "MTLS705", "MTLS728"} <= retired
    assert not retired & {r.id for r in cat.rules}
    for name in ("crl-missing-root-crl", "ca-file-der"):
        assert not retired & {f.rule.id for f in scenario_report(name).findings}
        assert not retired & {f.rule.id for f in nginx_report(name).findings}
    found = explain("MTLS705", cat)
    assert found is not None
    assert [r.id for r in found.rules] == ["MTLS501"]
    assert "retired" in found.summary


@pytest.mark.parametrize("field", ["id", "name"])
def test_a_retired_id_or_name_is_never_reused(field: str, tmp_path: Path) -> None:
    source = next(RULES.glob("MTLS201-*.toml")).read_text()
    if field == "id":
        mine = re.sub(r'^id = "MTLS201"', 'id = "MTLS705"', source, flags=re.M)
        mine = re.sub(r'^name = "[^"]+"', 'name = "local-policy"', mine, flags=re.M)
        target = tmp_path / "MTLS705-local-policy.toml"
    else:
        mine = re.sub(r'^id = "MTLS201"', 'id = "MTLS296"', source, flags=re.M)
        mine = re.sub(r'^name = "[^"]+"', 'name = "crl-missing-for-trusted-ca"', mine, flags=re.M)
        target = tmp_path / "MTLS296-crl-missing-for-trusted-ca.toml"
    target.write_text(mine)
    with pytest.raises(RuleError, match="never reused"):
        load_catalogue([tmp_path])


# -- observer isolation ------------------------------------------------------------------------------------------


def _crash(*_args: object, **_kwargs: object) -> None:
    msg = "injected"
    raise RuntimeError(msg)


@pytest.mark.parametrize(
    ("target", "scenario", "fact", "name"),
    [
        ("mtls_doctor.facts.gather.find_issuer", "seed-missing-intermediate", "path.issuer_found", "nearby-issuer"),
        ("mtls_doctor.facts.gather.run_twin", "good-chain", "twin", "server twin"),
        ("mtls_doctor.facts.gather.revocation_facts", "crl-missing-root-crl", "revocation", "revocation"),
        ("mtls_doctor.facts.gather.build_path", "good-chain", "path", "path builder"),
    ],
)
def test_a_crashing_observer_is_unknown_and_exit_4(
    target: str, scenario: str, fact: str, name: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mtls_doctor.render.console import report_document  # noqa: PLC0415

    monkeypatch.setattr(target, _crash)
    inputs = scenario_inputs(SAMPLE, manifest().scenarios[scenario])
    report = diagnose(inputs, now=LOCAL_NOW, passwords=Passwords(), catalogue=catalogue())
    (error,) = report.internal_errors
    assert f"internal error in the {name}" in error
    assert int(report.exit_status) == 4
    assert report_document(report).blocks, "the rest of the report still prints"
    reasons = {why for f in report.findings for why in f.unknown}
    if fact != "path.issuer_found":
        assert any("internal error" in why for why in reasons), "the rules that needed it say why they could not run"


def test_a_crashing_lint_observer_is_unknown_and_exit_4(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr("mtls_doctor.linting.server_model", _crash)
    conf = SAMPLE / "scenarios" / "crl-missing-root-crl" / SERVER_CONF
    report = lint_config(conf, now=LOCAL_NOW, prefix=SAMPLE)
    (block,) = report.servers
    assert block.internal_errors
    assert int(report.exit_status(None)) == 4
    server_rules = [f for f in block.findings if f.rule.scope.value == "server"]
    assert server_rules
    assert all(f.status is Status.NOT_EVALUATED for f in server_rules)
    assert any(f.status is not Status.NOT_EVALUATED for f in block.findings), "the lint rules still ran"
