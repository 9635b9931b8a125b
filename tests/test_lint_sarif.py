"""``mtls-doctor lint --format sarif``: a golden file, and the structure code-scanning tools read.

The golden is the SARIF of tests/golden/lint.conf (read from disk without the files it names, at the tests' fixed
clock, named by a path relative to the checkout) judged by the lint rules that fail on it, so that it stays small and
changes only when those rules or their findings change. The tool version is the one value normalised.

Regenerate it after an intended change and review the diff::

    MTLS_DOCTOR_REGENERATE=1 .venv/bin/python -m pytest tests/test_lint_sarif.py
"""

from __future__ import annotations

import json
import os
from typing import Any

import pytest

from mtls_doctor.engine.catalogue import Catalogue
from mtls_doctor.engine.schema import Scope
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.linting import LintReport, lint_config
from mtls_doctor.render.lint_report import lint_sarif
from tests.conftest import LOCAL_NOW, REPO, catalogue

GOLDEN_DIR = REPO / "tests" / "golden"
CONFIG = "tests/golden/lint.conf"
GOLDEN = GOLDEN_DIR / "lint.sarif"
REGENERATE = os.environ.get("MTLS_DOCTOR_REGENERATE") == "1"
VERSION = "<version>"


def _lint(rules: Catalogue, monkeypatch: pytest.MonkeyPatch) -> LintReport:
    monkeypatch.chdir(REPO)
    return lint_config(CONFIG, read_files=False, now=LOCAL_NOW, catalogue=rules)


def _failing_rules(monkeypatch: pytest.MonkeyPatch) -> Catalogue:
    """The rules lint runs (lint and server) that fail on the golden config (the catalogue the golden is rendered
    with)."""
    failing = {f.rule.id for f in _lint(catalogue(), monkeypatch).findings if f.status is Status.FAIL}
    return Catalogue(
        rules=tuple(r for r in catalogue().of_scope(Scope.LINT, Scope.CONFIG, Scope.SERVER) if r.id in failing)
    )


def _normalised(sarif: str) -> Any:
    doc = json.loads(sarif)
    for run in doc["runs"]:
        run["tool"]["driver"]["version"] = VERSION
    return doc


def test_sarif_matches_the_golden(monkeypatch: pytest.MonkeyPatch) -> None:
    actual = _normalised(lint_sarif(_lint(_failing_rules(monkeypatch), monkeypatch)))
    if REGENERATE:
        GOLDEN.write_text(json.dumps(actual, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")
    assert GOLDEN.is_file(), f"no {GOLDEN.name}: run with MTLS_DOCTOR_REGENERATE=1"
    expected = json.loads(GOLDEN.read_text(encoding="utf-8"))
    assert actual == expected, f"SARIF differs from {GOLDEN.name} (intended? MTLS_DOCTOR_REGENERATE=1, review the diff)"


def test_the_golden_holds_several_results() -> None:
    results = json.loads(GOLDEN.read_text(encoding="utf-8"))["runs"][0]["results"]
    assert len({r["ruleId"] for r in results}) >= 3


def _results_are_well_formed(doc: Any) -> None:
    assert doc["version"] == "2.1.0"
    assert doc["$schema"].endswith("sarif-2.1.0.json")
    (run,) = doc["runs"]
    rules = run["tool"]["driver"]["rules"]
    ids = [r["id"] for r in rules]
    assert len(ids) == len(set(ids)), "each rule once"
    assert run["results"], "the config has findings"
    for result in run["results"]:
        assert result["ruleId"] == ids[result["ruleIndex"]], result
        assert result["level"] in {"error", "warning", "note"}, result
        assert result["message"]["text"].strip(), result
        assert result["locations"], result
        for location in result["locations"]:
            physical = location["physicalLocation"]
            assert physical["artifactLocation"]["uri"] == CONFIG, physical
            assert isinstance(physical["region"]["startLine"], int), physical
            assert physical["region"]["startLine"] >= 1, physical
    for rule in rules:
        assert rule["shortDescription"]["text"], rule["id"]
        assert rule["defaultConfiguration"]["level"] in {"error", "warning", "note"}, rule["id"]


def test_the_golden_is_well_formed() -> None:
    _results_are_well_formed(json.loads(GOLDEN.read_text(encoding="utf-8")))


def test_sarif_of_the_whole_catalogue_is_well_formed_and_lists_every_lint_rule(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    doc = json.loads(lint_sarif(_lint(catalogue(), monkeypatch)))
    _results_are_well_formed(doc)
    listed = [r["id"] for r in doc["runs"][0]["tool"]["driver"]["rules"]]
    assert listed == sorted(r.id for r in catalogue().of_scope(Scope.LINT, Scope.CONFIG, Scope.SERVER))
