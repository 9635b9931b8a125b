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
    """One nginx server block (``mtls-doctor lint``): its logging, locations, upstreams, neighbours on its port."""
    SERVER = "server"
    """The server's trust settings (the one server model): read from the Facts of ``check`` and, for every server
    block, of ``lint``, where no client is given (``client``, ``path`` and ``twin`` are then absent)."""
    CONFIG = "config"
    """The configuration as a whole, once per lint (``ConfigFacts``): what could not be read here."""

    @property
    def runs_in_check(self) -> bool:
        """The rule runs in ``mtls-doctor check``."""
        return self not in (Scope.LINT, Scope.CONFIG)

    @property
    def runs_in_lint(self) -> bool:
        """The rule runs in ``mtls-doctor lint`` (and on the block of ``check --nginx``)."""
        return self is not Scope.CHECK


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
    """A scenario of sample_pki/MANIFEST.toml, or (``config``) a fixture of tests/lint_fixtures."""
    expect: Status
    why: str | None
    known_gap: str | None
    config: bool = False
    """The target is an nginx configuration (linted), not a scenario (checked)."""


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

    def required_placeholders(self) -> list[str]:
        """The placeholders with no fallback text: a failing finding must have a value for each."""
        return [p for text in (self.message, self.remedy or "") for p in template_paths(text, fallbacks=False)]


class RetiredRule(Record):
    """A rule that no longer runs. Its id and name stay taken for ever (never reused); ``explain OLD-ID`` names the
    rule(s) that took over its detection."""

    id: str
    name: str
    title: str
    retired_in: str
    """The version that retired it."""
    replaced_by: tuple[str, ...]
    """The live rules that detect what it detected (empty: the detection was dropped, ``why`` says so)."""
    why: str
    source: str


def template_paths(text: str, *, fallbacks: bool = True) -> list[str]:
    """The ``{fact.path}`` placeholders of a template, those of ``{path:fallback}`` fallbacks included
    (``fallbacks=False``: only those that have no fallback)."""
    paths: list[str] = []
    for _, field, fallback, _ in string.Formatter().parse(text):
        if field and (fallbacks or not fallback):
            paths.append(field)
        if fallbacks and fallback and "{" in fallback:
            paths += template_paths(fallback)
    return paths


_TOP_KEYS = {
    "schema", "id", "name", "title", "scope", "stage", "severity", "confidence", "since", "tags", "explains",
    "predicts", "message", "remedy", "applies", "violated", "doc", "examples", "status",
}  # fmt: skip
_RETIRED_KEYS = {"schema", "id", "name", "title", "status", "retired_in", "replaced_by", "why"}


def parse_retired(raw: dict[str, Any], source: str) -> RetiredRule:
    """A rule file with ``status = "retired"``: only its identity and its successors are read; it is never checked
    against the facts model (its facts may be gone) and never evaluated."""

    def fail(problem: str) -> RuleError:
        return RuleError(f"{source}: {problem}")

    unknown = set(raw) - _RETIRED_KEYS
    if unknown:
        raise fail(f"a retired rule keeps only {', '.join(sorted(_RETIRED_KEYS))}; found {', '.join(sorted(unknown))}")
    for key in ("id", "name", "title", "retired_in", "replaced_by", "why"):
        if key not in raw:
            raise fail(f"a retired rule needs '{key}'")
    if raw.get("schema") != SCHEMA_VERSION:
        raise fail(f"schema must be {SCHEMA_VERSION}, found {raw.get('schema')!r}")
    if not re.match(ID_PATTERN, raw["id"]):
        raise fail(f"id {raw['id']!r} is not MTLS followed by three digits")
    replaced = raw["replaced_by"]
    if not isinstance(replaced, list) or not all(isinstance(r, str) for r in replaced):
        raise fail("replaced_by is a list of rule ids")
    return RetiredRule(
        id=raw["id"],
        name=raw["name"],
        title=raw["title"],
        retired_in=str(raw["retired_in"]),
        replaced_by=tuple(replaced),
        why=" ".join(str(raw["why"]).split()),
        source=source,
    )


def parse_rule(raw: dict[str, Any], source: str, *, examples: bool = True) -> Rule:
    """Build a Rule from a parsed TOML document (``examples=False`` skips the examples: only tests run them)."""

    def fail(problem: str) -> RuleError:
        return RuleError(f"{source}: {problem}")

    if "status" in raw and raw["status"] != "active":
        raise fail(f"status is 'active' or 'retired', found {raw['status']!r}")
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
    return Example(
        target=target, expect=expect, why=raw.get("why"), known_gap=raw.get("known_gap"), config="config" in raw
    )
