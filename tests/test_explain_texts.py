"""`explain` on every text of the symptom catalogue (knowledge/probe-and-wizard.md §B): one case per row, as data
(tests/data/symptom_texts.toml); and the match table's own contract (matched on meaning, never on a prefix)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from mtls_doctor.explain import explain
from tests.conftest import catalogue

CASES: list[dict[str, Any]] = tomllib.loads(
    (Path(__file__).parent / "data" / "symptom_texts.toml").read_text(encoding="utf-8")
)["case"]
# Every row of §B2 has a case (61 rows; suffixed rows are extra spellings).
ROWS = {
    *(f"C{i}" for i in range(1, 13)), "O1", "O2", "N1", "N2", "N3", *(f"A{i}" for i in range(1, 6)), "H1", "H2", "H3",
    *(f"G{i}" for i in range(1, 7)), *(f"J{i}" for i in range(1, 8)), *(f"P{i}" for i in range(1, 8)),
    *(f"JS{i}" for i in range(1, 5)), "D1", "D2", *(f"BR{i}" for i in range(1, 5)), *(f"E{i}" for i in range(1, 5)),
    "LB1", "LB2",
}  # fmt: skip


def test_every_row_of_the_symptom_catalogue_has_a_case() -> None:
    assert len(ROWS) == 61
    assert {c["row"] for c in CASES} >= ROWS


@pytest.mark.parametrize("case", CASES, ids=[c["row"] for c in CASES])
def test_explain_answers_the_symptom_text(case: dict[str, Any]) -> None:
    found = explain(case["text"], catalogue())
    assert found is not None, f"{case['row']}: nothing explains {case['text']!r}"
    for words in case["means"]:
        assert words.lower() in found.summary.lower(), f"{case['row']}: {words!r} not in {found.summary!r}"
    ids = [r.id for r in found.rules]
    if case.get("none"):
        assert ids == [], f"{case['row']}: no rule accounts for it, yet {ids}"
    for rule_id in case.get("rules", []):
        assert rule_id in ids, f"{case['row']}: {rule_id} not among {ids}"
    for rule_id in case.get("not", []):
        assert rule_id not in ids, f"{case['row']}: {rule_id} wrongly among {ids}"
    if "first" in case:
        assert ids[0] == case["first"], f"{case['row']}: {case['first']} should come first in {ids}"


@pytest.mark.parametrize(
    "wrapped",
    [
        "{}",
        "curl: (35) {}",
        "2026/12/07 10:00:00 [info] 7#7: *9 SSL_do_handshake() failed (SSL: {}) while SSL handshaking",
        "Traceback (most recent call last):\n  ...\nssl.SSLError: {} (_ssl.c:1006)",
    ],
)
@pytest.mark.parametrize(
    ("reason", "alert"),
    [
        ("tlsv1 alert unknown ca", 48),
        ("sslv3 alert certificate expired", 45),
        ("tlsv13 alert certificate required", 116),
    ],
)
def test_the_reason_decides_wherever_it_sits_in_the_line(wrapped: str, reason: str, alert: int) -> None:
    """Matched on the part that carries the meaning: the same reason gives the same answer, whatever surrounds it."""
    found = explain(wrapped.format(reason), catalogue())
    assert found is not None
    assert found.summary.startswith(f"TLS alert {alert} ")


def test_every_symptom_text_of_the_catalogue_is_data_with_examples() -> None:
    """The match table is the catalogue's: rule-owned texts and texts no rule owns, each with examples that the
    catalogue checked when it loaded (an example another entry wins would have failed the load)."""
    texts = catalogue().texts
    owned = [t for t in texts if t.owner]
    assert len(owned) >= 40
    assert any(t.owner is None for t in texts)
    assert all(t.examples for t in texts)
    alerts = [t.alert for t in texts if t.alert is not None]
    assert len(alerts) == len(set(alerts))


RULE_HEAD = """schema = 1
id = "MTLS299"
name = "local-texts"
title = "A local rule"
stage = "inputs"
severity = "info"
confidence = "possible"
message = "m"
[violated]
all = [{ fact = "client", exists = true }]
[doc]
what = "w"
why = "w"
symptoms = ["s"]
fix = "f"
"""


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('kind = "reason"\nmatch = ["(unclosed"]\nmeans = "m"\nexamples = ["x"]', "not a regular expression"),
        ('kind = "reason"\nmatch = ["(?P<who>x)"]\nmeans = "m"\nexamples = ["x"]', "groups other than"),
        ('kind = "loud"\nmatch = ["x"]\nmeans = "m"\nexamples = ["x"]', "kind is one of"),
        ('kind = "reason"\nmatch = ["zzz"]\nmeans = "m"', "needs 'examples'"),
        ('kind = "reason"\nalert = 48\nmatch = ["zzz"]\nmeans = "m"\nexamples = ["zzz"]', "alert 48 already has"),
        ('kind = "reason"\nalert = 99\nmatch = ["zzz"]\nmeans = "m"\nexamples = ["zzz"]', "unknown TLS alert 99"),
        ('kind = "reason"\nmatch = ["zzz"]\nmeans = "m"\nrelated = ["MTLS998"]\nexamples = ["zzz"]', "MTLS998"),
        # the example is won by the heavier alert text (a reason): the entry would never explain it
        (
            'kind = "wrapper"\nmatch = ["curl: \\\\(56\\\\)"]\nmeans = "m"\n'
            'examples = ["curl: (56) tlsv1 alert unknown ca"]',
            "explained by",
        ),
    ],
)
def test_a_bad_symptom_text_fails_the_catalogue(tmp_path: Path, entry: str, problem: str) -> None:
    from mtls_doctor.engine.catalogue import load_catalogue  # noqa: PLC0415
    from mtls_doctor.engine.schema import RuleError  # noqa: PLC0415

    (tmp_path / "MTLS299-local-texts.toml").write_text(RULE_HEAD + "\n[[explains_text]]\n" + entry + "\n")
    with pytest.raises(RuleError, match=problem):
        load_catalogue([tmp_path])


def test_a_user_directory_adds_texts_no_rule_owns(tmp_path: Path) -> None:
    from mtls_doctor.engine.catalogue import load_catalogue  # noqa: PLC0415

    (tmp_path / "texts").mkdir()
    (tmp_path / "texts" / "ours.toml").write_text(
        '[[explains_text]]\nkind = "origin"\nmatch = ["GW-4711"]\nmeans = "Our gateway refused the client."\n'
        'examples = ["GW-4711 denied"]\n'
    )
    found = explain("proxy said: GW-4711 denied", load_catalogue([tmp_path]))
    assert found is not None
    assert found.summary == "Our gateway refused the client."
    assert found.rules == ()
