"""Meta-tests on the rule catalogue: conventions enforced by tests, not by reviewers."""

from __future__ import annotations

import os
import re
import tomllib
from pathlib import Path

import pytest

from mtls_doctor.engine.catalogue import cache_dir, load_catalogue
from mtls_doctor.engine.schema import Rule, RuleError, Scope
from mtls_doctor.engine.vocabulary import Stage, Status
from tests.conftest import RULES, catalogue, manifest, scenario_report

_BLOCKS = {
    Stage.INPUTS: "0",
    Stage.CLOCK: "1",
    Stage.CLIENT_CERTIFICATE: "2",
    Stage.CHAIN: "3",
    Stage.TRUST: "4",
    Stage.REVOCATION: "5",
    Stage.SERVER_CONFIG: "67",
    Stage.HANDSHAKE: "9",
}


def _rules() -> list[Rule]:
    return list(catalogue().rules)


def test_catalogue_has_at_least_35_check_rules() -> None:
    assert len(catalogue().of_scope(Scope.CHECK)) >= 35


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.id)
def test_rule_has_a_failing_and_a_passing_example(rule: Rule) -> None:
    expects = {e.expect for e in rule.examples if not e.known_gap}
    assert Status.FAIL in expects, f"{rule.id} has no fail example"
    assert Status.PASS in expects, f"{rule.id} has no pass example"


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.id)
def test_rule_docs_are_complete(rule: Rule) -> None:
    doc = rule.doc
    assert doc.what, rule.id
    assert doc.why, rule.id
    assert doc.fix, rule.id
    assert doc.symptoms, f"{rule.id}: what does a person see? (symptoms)"
    assert doc.references, f"{rule.id}: no reference"
    assert all(r.url.startswith("https://") for r in doc.references), rule.id
    assert not rule.title.endswith("."), f"{rule.id}: titles carry no final period"


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.id)
def test_rule_id_fits_its_stage_block(rule: Rule) -> None:
    assert rule.id[4] in _BLOCKS[rule.stage], f"{rule.id} is in the wrong block for stage {rule.stage.value}"


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.id)
def test_failing_examples_render_their_message(rule: Rule) -> None:
    for example in rule.examples:
        if rule.scope is Scope.LINT or example.config or example.live or example.expect is not Status.FAIL:
            continue
        finding = next(f for f in scenario_report(example.target).findings if f.rule.id == rule.id)
        assert finding.message, rule.id
        assert "{" not in finding.message, finding.message
        assert "(could not be established)" not in finding.message, finding.message
        if finding.remedy:
            assert "{" not in finding.remedy, finding.remedy


@pytest.mark.parametrize("rule", _rules(), ids=lambda r: r.id)
def test_failing_examples_point_at_evidence(rule: Rule) -> None:
    """Every finding points somewhere: at least one evidence item carries a file (and block or line)."""
    for example in rule.examples:
        if rule.scope is Scope.LINT or example.config or example.live or example.expect is not Status.FAIL:
            continue
        finding = next(f for f in scenario_report(example.target).findings if f.rule.id == rule.id)
        if rule.stage is Stage.HANDSHAKE:
            continue  # symptoms point at the causes they are shown under
        assert any(e.origins for e in finding.evidence), f"{rule.id} on {example.target}: evidence has no origin"


def test_example_scenarios_exist_and_every_scenario_is_used() -> None:
    scenarios = set(manifest().scenarios)
    used = {
        e.target
        for r in catalogue().of_scope(Scope.CHECK, Scope.SERVER)
        for e in r.examples
        if not e.config and not e.target.startswith("fixture:")
    }
    assert used <= scenarios, f"unknown scenarios: {sorted(used - scenarios)}"
    assert scenarios <= used, f"scenarios no rule example uses: {sorted(scenarios - used)}"


def test_file_names_ids_and_names_are_unique() -> None:
    rules = _rules()
    assert len({r.id for r in rules}) == len(rules)
    assert len({r.name for r in rules}) == len(rules)
    for rule in rules:
        assert Path(rule.source).name == f"{rule.id}-{rule.name}.toml"


def test_rules_dir_holds_only_rules_and_readme() -> None:
    assert {p.suffix for p in RULES.iterdir() if p.name not in ("README.md", "texts")} == {".toml"}
    assert {p.suffix for p in (RULES / "texts").iterdir()} == {".toml"}


def test_symptoms_are_explained_by_causes() -> None:
    """Each handshake-stage symptom is listed in some cause's explains (so it can be folded under it)."""
    explained = {target for r in _rules() for target in r.explains}
    for rule in _rules():
        if rule.stage is Stage.HANDSHAKE:
            assert rule.id in explained, f"no rule explains the symptom {rule.id}"


def test_a_bad_fact_path_fails_the_catalogue(tmp_path: Path) -> None:
    source = next(RULES.glob("MTLS201-*.toml")).read_text()
    broken = source.replace('id = "MTLS201"', 'id = "MTLS299"').replace(
        'name = "leaf-missing-clientauth-eku"', 'name = "typo-rule"'
    )
    broken = broken.replace('fact = "client.leaf.eku"', 'fact = "client.leaf.ekus"', 1)
    (tmp_path / "MTLS299-typo-rule.toml").write_text(broken)
    with pytest.raises(RuleError, match=r"client\.leaf\.ekus.*no field 'ekus'"):
        load_catalogue([tmp_path])


def test_a_user_rule_directory_adds_rules(tmp_path: Path) -> None:
    # without its [[explains_text]]: a copy claiming the same texts is refused (alert 42 has one text)
    source = next(RULES.glob("MTLS201-*.toml")).read_text().split("\n[[explains_text]]")[0]
    mine = source.replace('id = "MTLS201"', 'id = "MTLS298"').replace(
        'name = "leaf-missing-clientauth-eku"', 'name = "local-policy"'
    )
    (tmp_path / "MTLS298-local-policy.toml").write_text(mine)
    loaded = load_catalogue([tmp_path])
    assert loaded.get("MTLS298") is not None
    assert len(loaded.rules) == len(_rules()) + 1


def test_every_rule_file_parses_as_toml() -> None:
    for path in RULES.glob("*.toml"):
        raw = tomllib.loads(path.read_text())
        assert re.match(r"^MTLS\d{3}$", raw["id"])


def test_the_checked_catalogue_is_cached_and_an_edit_invalidates_it(tmp_path: Path) -> None:
    """A second load reads the cache; editing a rule file is seen (and checked again) on the next load."""
    # without its [[explains_text]]: a copy claiming the same texts is refused (alert 42 has one text)
    source = next(RULES.glob("MTLS201-*.toml")).read_text().split("\n[[explains_text]]")[0]
    mine = source.replace('id = "MTLS201"', 'id = "MTLS297"').replace(
        'name = "leaf-missing-clientauth-eku"', 'name = "cached-rule"'
    )
    path = tmp_path / "MTLS297-cached-rule.toml"
    path.write_text(mine)
    first = load_catalogue([tmp_path]).get("MTLS297")
    assert first is not None
    assert list(cache_dir().glob("catalogue-*.pickle"))
    path.write_text(
        mine.replace("The client certificate is not allowed", "Edited title: the client certificate is not allowed")
    )
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 1_000_000))
    edited = load_catalogue([tmp_path]).get("MTLS297")
    assert edited is not None
    assert edited.title.startswith("Edited title")
    path.write_text(mine.replace('fact = "client.leaf.eku"', 'fact = "client.leaf.nope"', 1))
    with pytest.raises(RuleError, match="nope"):
        load_catalogue([tmp_path])
