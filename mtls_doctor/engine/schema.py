"""One rule file (TOML) → a Rule. Every mistake is a RuleError naming the file and the key: fail hard at load time.

The schema is described for rule authors in rules/README.md.
"""

from __future__ import annotations

import enum
import re
import string
from typing import Any

from mtls_doctor.engine.conditions import Check, FactRef, Group, Op
from mtls_doctor.engine.vocabulary import Confidence, Severity, Stage, Status
from mtls_doctor.record import Record

SCHEMA_VERSION = 1
# Patterns compiled when rules are checked (a catalogue cache miss), not on every start.
ID_PATTERN = r"^MTLS\d{3}$"
NAME_PATTERN = r"^[a-z0-9]+(-[a-z0-9]+)*$"


class RuleError(ValueError):
    """A rule file that does not follow the schema. ``str()`` names the file."""


class Scope(enum.Enum):
    """What a rule looks at; it decides the facts model its paths are checked against."""

    CHECK = "check"
    """A client against a server's trust settings (the Facts of ``mtls-doctor check``)."""
    LINT = "lint"
    """One nginx server block (``mtls-doctor lint``)."""


class Reference(Record):
    """A document backing the rule."""

    title: str
    url: str


class Doc(Record):
    """What a person reads: what the rule checks, why it matters, what they see, how to fix it."""

    what: str
    why: str
    symptoms: tuple[str, ...]
    fix: str
    references: tuple[Reference, ...]


class Example(Record):
    """A scenario (or config fixture) and the status the rule must give on it; each is one test."""

    target: str
    expect: Status
    why: str | None
    known_gap: str | None


class Rule(Record):
    """One rule of the catalogue."""

    id: str
    name: str
    title: str
    scope: Scope
    stage: Stage
    severity: Severity
    confidence: Confidence
    since: str
    tags: tuple[str, ...]
    explains: tuple[str, ...]
    predicts: tuple[int, ...]
    """OpenSSL verify error numbers the defect leads to (nginx logs one of them)."""
    message: str
    remedy: str | None
    applies: Group
    violated: Group
    doc: Doc
    examples: tuple[Example, ...]
    source: str

    def placeholders(self) -> list[str]:
        """The fact paths in the message and remedy templates."""
        return [p for text in (self.message, self.remedy or "") for p in template_paths(text)]


def template_paths(text: str) -> list[str]:
    """The ``{fact.path}`` placeholders of a template."""
    return [field for _, field, _, _ in string.Formatter().parse(text) if field]


_TOP_KEYS = {
    "schema", "id", "name", "title", "scope", "stage", "severity", "confidence", "since", "tags", "explains",
    "predicts", "message", "remedy", "applies", "violated", "doc", "examples", "status",
}  # fmt: skip


def parse_rule(raw: dict[str, Any], source: str, *, examples: bool = True) -> Rule:
    """Build a Rule from a parsed TOML document (``examples=False`` skips the examples: only tests run them)."""

    def fail(problem: str) -> RuleError:
        return RuleError(f"{source}: {problem}")

    unknown = set(raw) - _TOP_KEYS
    if unknown:
        raise fail(f"unknown key(s) {', '.join(sorted(unknown))} (a key after a [table] belongs to that table)")
    if raw.get("schema") != SCHEMA_VERSION:
        raise fail(f"schema must be {SCHEMA_VERSION}, found {raw.get('schema')!r}")
    for key in ("id", "name", "title", "stage", "severity", "confidence", "message", "violated", "doc"):
        if key not in raw:
            raise fail(f"missing required key '{key}'")
    if not re.match(ID_PATTERN, raw["id"]):
        raise fail(f"id {raw['id']!r} is not MTLS followed by three digits")
    if not re.match(NAME_PATTERN, raw["name"]):
        raise fail(f"name {raw['name']!r} is not kebab-case")
    try:
        scope = Scope(raw.get("scope", "check"))
        stage = Stage(raw["stage"])
        severity = Severity(raw["severity"])
        confidence = Confidence(raw["confidence"])
    except ValueError as exc:
        raise fail(str(exc)) from None
    return Rule(
        id=raw["id"],
        name=raw["name"],
        title=raw["title"],
        scope=scope,
        stage=stage,
        severity=severity,
        confidence=confidence,
        since=raw.get("since", "0.1.0"),
        tags=tuple(raw.get("tags", ())),
        explains=tuple(raw.get("explains", ())),
        predicts=tuple(int(c) for c in raw.get("predicts", ())),
        message=" ".join(raw["message"].split()),
        remedy=raw["remedy"].strip() if "remedy" in raw else None,
        applies=_group(raw.get("applies", {}), fail, "applies"),
        violated=_group(raw["violated"], fail, "violated"),
        doc=_doc(raw["doc"], fail),
        examples=tuple(_example(e, fail) for e in raw.get("examples", ())) if examples else (),
        source=source,
    )


def _group(raw: Any, fail: Any, where: str) -> Group:
    if not isinstance(raw, dict) or set(raw) - {"all", "any", "none"}:
        raise fail(f"[{where}] takes only all / any / none lists")
    parts: dict[str, tuple[Check | Group, ...]] = {}
    for kind in ("all", "any", "none"):
        items = raw.get(kind, [])
        if not isinstance(items, list):
            raise fail(f"[{where}].{kind} must be a list")
        parts[kind] = tuple(_part(item, fail, f"{where}.{kind}") for item in items)
    return Group(**parts)


def _part(raw: Any, fail: Any, where: str) -> Check | Group:
    if not isinstance(raw, dict):
        raise fail(f"{where}: every entry is a table")
    if "fact" not in raw:
        return _group(raw, fail, where)
    ops = set(raw) - {"fact"}
    if len(ops) != 1:
        raise fail(f"{where}: {raw['fact']!r} needs exactly one operator of {', '.join(o.value for o in Op)}")
    name = ops.pop()
    try:
        op = Op(name)
    except ValueError:
        raise fail(f"{where}: unknown operator '{name}' (operators: {', '.join(o.value for o in Op)})") from None
    value = raw[name]
    if isinstance(value, dict):
        if set(value) != {"fact"}:
            raise fail(f'{where}: a table value must be {{ fact = "path" }}')
        value = FactRef(path=value["fact"])
    if op in (Op.EXISTS, Op.EMPTY) and not isinstance(value, bool):
        raise fail(f"{where}: '{name}' takes true or false")
    if op is Op.IN and not isinstance(value, list):
        raise fail(f"{where}: 'in' takes a list")
    return Check(fact=raw["fact"], op=op, value=tuple(value) if isinstance(value, list) else value)


def _doc(raw: Any, fail: Any) -> Doc:
    if not isinstance(raw, dict):
        raise fail("[doc] must be a table")
    for key in ("what", "why", "symptoms", "fix"):
        if not raw.get(key):
            raise fail(f"[doc] needs '{key}'")
    refs = raw.get("references", [])
    return Doc(
        what=raw["what"].strip(),
        why=raw["why"].strip(),
        symptoms=tuple(raw["symptoms"]),
        fix=raw["fix"].strip(),
        references=tuple(Reference(title=r["title"], url=r["url"]) for r in refs),
    )


def _example(raw: Any, fail: Any) -> Example:
    target = raw.get("scenario") or raw.get("config")
    if not target:
        raise fail("every [[examples]] entry names a scenario (or a config fixture)")
    try:
        expect = Status(raw["expect"])
    except (KeyError, ValueError):
        raise fail(f"example {target!r}: expect must be one of {', '.join(s.value for s in Status)}") from None
    return Example(target=target, expect=expect, why=raw.get("why"), known_gap=raw.get("known_gap"))
