"""Classifying what a person pasted: which symptom text (``[[explains_text]]`` of a rule, or rules/texts/) explains it.

The match is on the part of the text that carries the meaning, never on where the text starts: every pattern is
searched anywhere in the text, and when several match, the heaviest kind wins (TextKind: who wrote the line, then a
library's reason string, then a number in a fixed form, then a tool's wrapper message), then the leftmost match.
So curl's ``could not load PEM client certificate ... ca md too weak`` is the weak digest (a reason), not curl's
wrapper, and ``SSL alert number 48`` is the text of alert 48.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from mtls_doctor.engine.schema import SymptomText, TextKind
from mtls_doctor.openssl.verify_codes import VERIFY_CODES
from mtls_doctor.record import Record

# OpenSSL verify texts short enough to occur in unrelated prose ("ok", "out of memory") are not matched on their own.
_SHORTEST_VERIFY_TEXT = 14


class TextMatch(Record):
    """The symptom text that explains a pasted text, and the numbers read from it."""

    text: SymptomText | None
    """The entry that explains it; None when only an OpenSSL verify text was recognised."""
    matched: SymptomText | None
    """The entry whose pattern matched (differs from ``text`` when an alert number pointed to that alert's text)."""
    alert: int | None
    verify: tuple[int, ...]
    span: tuple[int, int]
    """Where in the pasted text the deciding part is."""


def verify_code_of(value: str) -> int | None:
    """A verify error number, or the OpenSSL text at the start of ``value`` (3.0 texts; "self signed" of 1.1.1
    included), as a number."""
    value = value.strip()
    if value.isdigit():
        return int(value) if int(value) in VERIFY_CODES else None
    lowered = value.lower().replace("self signed", "self-signed")
    hits = [(len(msg), code) for code, (_, msg) in VERIFY_CODES.items() if lowered.startswith(msg.lower())]
    return max(hits)[1] if hits else None


def classify(pasted: str, texts: Iterable[SymptomText]) -> TextMatch | None:
    """The symptom text explaining ``pasted`` (see the module docstring for which one wins), or None."""
    entries = tuple(texts)
    best: tuple[int, int, int, SymptomText, re.Match[str]] | None = None
    for order, entry in enumerate(entries):
        for pattern in entry.match:
            found = re.search(pattern, pasted, re.IGNORECASE)
            if found is not None:
                key = (entry.kind.precedence, found.start(), order, entry, found)
                if best is None or key[:3] < best[:3]:
                    best = key
    verify_hit = _verify_text(pasted)
    if verify_hit is not None and (best is None or best[0] > TextKind.NUMBER.precedence):
        code, span = verify_hit
        return TextMatch(text=None, matched=None, alert=None, verify=(code,), span=span)
    if best is None:
        return None
    entry, found = best[3], best[4]
    groups = found.groupdict()
    alert: int | None = int(groups["alert"]) if groups.get("alert") else entry.alert
    verify = entry.verify
    if groups.get("verify"):
        read = verify_code_of(groups["verify"])
        verify = (read,) if read is not None else verify
    explained_by: SymptomText = entry
    if groups.get("alert"):
        explained_by = next((e for e in entries if e.alert == alert), entry)
    return TextMatch(text=explained_by, matched=entry, alert=alert, verify=verify, span=found.span())


def _verify_text(pasted: str) -> tuple[int, tuple[int, int]] | None:
    """The longest OpenSSL verify text in ``pasted`` (Cloudflare's ``FAILED:unable to get local issuer
    certificate``, a verify text pasted alone)."""
    lowered = pasted.lower().replace("self signed", "self-signed")
    best: tuple[int, int, int] | None = None
    for code, (_, message) in VERIFY_CODES.items():
        if len(message) < _SHORTEST_VERIFY_TEXT:
            continue
        at = lowered.find(message.lower())
        if at >= 0 and (best is None or len(message) > best[0]):
            best = (len(message), code, at)
    return None if best is None else (best[1], (best[2], best[2] + best[0]))
