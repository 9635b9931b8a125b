"""`mtls-doctor explain THING`: from what a person has in front of them to the rules that explain it.

THING may be a rule id or name (a retired one names its successors), a verify error number or X509_V_ERR name, or
any text people paste: an nginx, Apache or HAProxy log line, an HTTP page, a TLS alert in any spelling or by number,
a curl exit code or error line, a Go, Java, Python, Node, .NET, browser or Envoy message. Texts are classified by the
catalogue's match table (``[[explains_text]]`` of the rules, and rules/texts/ for texts no rule owns), on the part
that carries the meaning (engine/texts.py).
"""

from __future__ import annotations

from typing import NamedTuple

from mtls_doctor.engine.catalogue import Catalogue
from mtls_doctor.engine.schema import Rule
from mtls_doctor.engine.texts import TextMatch, classify
from mtls_doctor.engine.vocabulary import Stage
from mtls_doctor.openssl.alerts import ALERTS, codes_for_alert
from mtls_doctor.openssl.verify_codes import VERIFY_CODES


class Explanation(NamedTuple):
    """What THING is, and the rules that account for it (root causes first)."""

    summary: str
    rules: tuple[Rule, ...]


def explain(thing: str, catalogue: Catalogue) -> Explanation | None:
    """The explanation of ``thing``, or None when nothing matches."""
    text = thing.strip()
    rule = catalogue.get(text.upper()) or catalogue.get(text.lower())
    if rule is not None:
        return Explanation(f"{rule.id} {rule.name}: {rule.title}", (rule,))
    old = catalogue.retired_rule(text.upper()) or catalogue.retired_rule(text.lower())
    if old is not None:
        successors = tuple(r for r in (catalogue.get(i) for i in old.replaced_by) if r is not None)
        now = ", ".join(f"{r.id} {r.name}" for r in successors) or "no rule"
        return Explanation(
            f"{old.id} {old.name} ({old.title}) was retired in {old.retired_in}: {now} detects it now. {old.why}",
            successors,
        )
    code = _bare_code(text)
    if code is not None:
        name, message = VERIFY_CODES[code]
        return Explanation(f"OpenSSL verify error {code} {name}: {message}", _predicting(catalogue, {code}))
    found = classify(text, catalogue.texts)
    if found is None:
        return None
    return Explanation(_summary(found), _rules(found, catalogue))


def _bare_code(text: str) -> int | None:
    """A verify error given alone: ``21``, ``X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE`` or its short name."""
    if text.isdigit() and int(text) in VERIFY_CODES:
        return int(text)
    upper = text.upper()
    return next((c for c, (name, _) in VERIFY_CODES.items() if upper in (name, name.removeprefix("X509_V_ERR_"))), None)


def _summary(found: TextMatch) -> str:
    parts = []
    if found.alert is not None:
        parts.append(f"TLS alert {found.alert} {ALERTS.get(found.alert, '(not a certificate alert)')}")
    for code in found.verify:
        name, message = VERIFY_CODES[code]
        parts.append(f"OpenSSL verify error {code} {name} ({message})")
    head = "; ".join(parts)
    if found.text is None:
        return head
    if found.matched is not None and found.matched is not found.text:
        head = f"{head}: {found.matched.means}" if head else found.matched.means
        return f"{head} {found.text.means}"
    return f"{head}: {found.text.means}" if head else found.text.means


def _rules(found: TextMatch, catalogue: Catalogue) -> tuple[Rule, ...]:
    """The owner and related rules of the text, the rules predicting its verify errors (those of its alert too), and,
    when the text carries no error number, the causes listing its owner in ``explains``; causes before symptoms."""
    entry = found.text
    codes = set(found.verify)
    if found.alert is not None:
        codes |= set(codes_for_alert(found.alert))
    named = [] if entry is None else [entry.owner, *entry.related] if entry.owner else list(entry.related)
    chosen = [r for r in (catalogue.get(i) for i in named if i) if r is not None]
    chosen += _predicting(catalogue, codes)
    if entry is not None and entry.owner and not codes:
        chosen += [r for r in catalogue.rules if entry.owner in r.explains]
    unique = tuple(dict.fromkeys(chosen))
    return tuple(sorted(unique, key=lambda r: r.stage is Stage.HANDSHAKE))


def _predicting(catalogue: Catalogue, codes: set[int]) -> tuple[Rule, ...]:
    """The rules predicting any of ``codes``, those whose FIRST prediction it is before those predicting it only in
    some configurations (error 3 is the missing CRL's own error, and only with ssl_crl the last error of a truncated
    or untrusted chain: Apache's `Error (3)` with CRL checking for the chain is the missing CRL first)."""
    hits = [(min(r.predicts.index(c) for c in codes & set(r.predicts)), r) for r in catalogue.rules
            if codes & set(r.predicts)]  # fmt: skip
    return tuple(r for _, r in sorted(hits, key=lambda hit: hit[0]))
