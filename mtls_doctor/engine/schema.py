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


class Grade(Record):
    """A ``[[severity_when]]`` entry: the severity a failing finding takes when the facts say the consequence is not
    the one the rule declares (nginx forgives the error and serves the request; the application verifies the
    certificate itself). Entries are tried in order; the first whose ``when`` holds wins."""

    severity: Severity
    when: Group
    why: str
    """Why the finding has this severity there (the consequence, in words): plain text, the same in the runbook and
    in every finding it grades."""
    message: str | None = None
    """A template replacing the rule's message when this grade applies (the consequence changes the story: a rule
    whose message says "nginx logs 20" says what nginx does instead)."""


class Example(Record):
    """A scenario (or config fixture) and the status the rule must give on it; each is one test."""

    target: str
    """A scenario of sample_pki/MANIFEST.toml, or (``config``) a fixture of tests/lint_fixtures."""
    expect: Status
    why: str | None
    known_gap: str | None
    config: bool = False
    """The target is an nginx configuration (linted), not a scenario (checked)."""
    live: bool = False
    """The target is probed live (``check --connect``): a scenario served by a real nginx, or ``fixture:NAME``, an
    in-process server of tests/support/probe_servers.py."""
    client: str | None = None
    """With ``live``: the client the probe emulates (``--client``)."""
    severity: Severity | None = None
    """The severity the failing finding must have there (a ``[[severity_when]]`` grade, or the declared one)."""


class TextKind(enum.Enum):
    """How much of the meaning a matched piece of text carries: when several texts match what a person pasted, the
    heaviest kind wins (then the leftmost match). Order of the members = precedence."""

    ORIGIN = "origin"
    """Who wrote the line decides what it means (nginx's ``client SSL certificate verify error``, curl's exit 60,
    s_client's ``Verify return code``, Python's ``[SSL: CERTIFICATE_VERIFY_FAILED]``): the same verify reason is
    about the client's certificate in a server log and about the server's in a client's."""
    REASON = "reason"
    """A library's reason string: an alert in any of its spellings, OpenSSL's ``ca md too weak``."""
    NUMBER = "number"
    """A number in a fixed form: ``SSL alert number 48``."""
    WRAPPER = "wrapper"
    """A tool's message around many reasons (curl's ``could not load PEM client certificate``): used only when
    nothing more specific is in the text."""

    @property
    def precedence(self) -> int:
        """0 for the heaviest kind."""
        return list(TextKind).index(self)


class SymptomText(Record):
    """A text people paste (an error line, a log line, an HTTP page, a status code) and what it means."""

    owner: str | None
    """The rule that lists it (``[[explains_text]]``); None for texts no rule owns (rules/texts/)."""
    kind: TextKind
    match: tuple[str, ...]
    """Case-insensitive regular expressions; a named group ``alert`` takes the alert number from the text (the
    text of that alert then explains it), ``verify`` a verify error number or its OpenSSL text."""
    means: str
    """What it really means, one paragraph."""
    alert: int | None
    """The TLS alert this text is (at most one text per alert): its verify errors' rules explain it too."""
    verify: tuple[int, ...]
    """Verify errors the text stands for: the rules that predict them explain it too."""
    related: tuple[str, ...]
    """Other rules that produce it."""
    rows: tuple[str, ...]
    """Where it was observed: rows of the symptom catalogue (knowledge/probe-and-wizard.md §B)."""
    examples: tuple[str, ...]
    """Texts that must be explained by this entry (checked when the catalogue loads)."""
    source: str


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
    texts: tuple[SymptomText, ...] = ()
    """``[[explains_text]]``: the texts people paste that this rule explains."""
    severity_when: tuple[Grade, ...] = ()
    """``[[severity_when]]``: the severity of a failing finding when the facts change its consequence; otherwise
    ``severity``."""

    def _templates(self) -> list[str]:
        grades = [g.message or "" for g in self.severity_when]
        return [self.message, self.remedy or "", *grades]

    def placeholders(self) -> list[str]:
        """The fact paths in the message, remedy and severity_when templates."""
        return [p for text in self._templates() for p in template_paths(text)]

    def required_placeholders(self) -> list[str]:
        """The placeholders with no fallback text: a failing finding must have a value for each (those of a grade's
        templates only where that grade applies)."""
        return [p for text in (self.message, self.remedy or "") for p in template_paths(text, fallbacks=False)]

    def condition_paths(self) -> list[str]:
        """The fact paths of every condition: applies, violated and each severity_when."""
        groups = (self.applies, self.violated, *(g.when for g in self.severity_when))
        return [p for g in groups for c in g.checks() for p in c.paths()]


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
    "predicts", "message", "remedy", "applies", "violated", "doc", "examples", "status", "explains_text",
    "severity_when",
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
        texts=parse_texts(raw.get("explains_text", []), source, owner=raw["id"]),
        severity_when=_grades(raw.get("severity_when", []), severity, fail),
    )


_GRADE_KEYS = {"severity", "when", "why", "message"}


def _grades(raw: Any, declared: Severity, fail: Any) -> tuple[Grade, ...]:
    """``[[severity_when]]``: each entry needs a severity other than the declared one, a condition and a why."""
    if not isinstance(raw, list):
        raise fail("severity_when is a list of tables ([[severity_when]])")
    grades = []
    for number, entry in enumerate(raw, 1):
        where = f"severity_when #{number}"
        if not isinstance(entry, dict):
            raise fail(f"{where}: every entry is a table")
        unknown = set(entry) - _GRADE_KEYS
        if unknown:
            raise fail(f"{where}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("severity", "when", "why"):
            if key not in entry:
                raise fail(f"{where}: needs '{key}'")
        try:
            severity = Severity(entry["severity"])
        except ValueError as exc:
            raise fail(f"{where}: {exc}") from None
        if severity is declared:
            raise fail(f"{where}: severity '{severity.value}' is the declared one (an entry changes it)")
        message = entry.get("message")
        for key in ("why", "message"):
            if key in entry and (not isinstance(entry[key], str) or not entry[key].strip()):
                raise fail(f"{where}: '{key}' is a non-empty text")
        if template_paths(entry["why"]):
            raise fail(f"{where}: 'why' is plain text (the runbook shows it as written); facts go in 'message'")
        grades.append(
            Grade(
                severity=severity,
                when=_when(entry["when"], fail, f"{where}.when"),
                why=" ".join(entry["why"].split()),
                message=" ".join(message.split()) if message else None,
            )
        )
    return tuple(grades)


_TEXT_KEYS = {"kind", "match", "means", "alert", "verify", "related", "rows", "examples"}
_TEXT_GROUPS = {"alert", "verify"}


def parse_texts(raw: Any, source: str, *, owner: str | None) -> tuple[SymptomText, ...]:
    """``[[explains_text]]`` entries of a rule (or of a file of rules/texts/, ``owner=None``). Each regular expression
    must compile and name no group but ``alert`` and ``verify``; every entry needs at least one example."""
    if not isinstance(raw, list):
        raise RuleError(f"{source}: explains_text is a list of tables ([[explains_text]])")
    texts = []
    for number, entry in enumerate(raw, 1):

        def fail(problem: str, number: int = number) -> RuleError:
            return RuleError(f"{source}: explains_text #{number}: {problem}")

        if not isinstance(entry, dict):
            raise fail("every entry is a table")
        unknown = set(entry) - _TEXT_KEYS
        if unknown:
            raise fail(f"unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("kind", "match", "means", "examples"):
            if not entry.get(key):
                raise fail(f"needs '{key}'")
        try:
            kind = TextKind(entry["kind"])
        except ValueError:
            raise fail(f"kind is one of {', '.join(k.value for k in TextKind)}") from None
        patterns = entry["match"]
        if not isinstance(patterns, list) or not all(isinstance(p, str) for p in patterns):
            raise fail("match is a list of regular expressions")
        for pattern in patterns:
            try:
                groups = set(re.compile(pattern, re.IGNORECASE).groupindex)
            except re.error as exc:
                raise fail(f"match {pattern!r} is not a regular expression ({exc})") from None
            if groups - _TEXT_GROUPS:
                raise fail(f"match {pattern!r} names groups other than 'alert' and 'verify'")
        for key in ("verify", "related", "rows", "examples"):
            value = entry.get(key, [])
            wanted = int if key == "verify" else str
            if not isinstance(value, list) or not all(isinstance(v, wanted) for v in value):
                raise fail(f"{key} is a list of {'numbers' if wanted is int else 'strings'}")
        alert = entry.get("alert")
        if alert is not None and not isinstance(alert, int):
            raise fail("alert is a number")
        texts.append(
            SymptomText(
                owner=owner,
                kind=kind,
                match=tuple(patterns),
                means=" ".join(str(entry["means"]).split()),
                alert=alert,
                verify=tuple(entry.get("verify", ())),
                related=tuple(entry.get("related", ())),
                rows=tuple(entry.get("rows", ())),
                examples=tuple(entry["examples"]),
                source=source,
            )
        )
    return tuple(texts)


def _when(raw: Any, fail: Any, where: str) -> Group:
    """A grade's condition: a group, or one check (``when = { fact = "verdict.forgiven", is = true }``)."""
    if isinstance(raw, dict) and "fact" in raw:
        check = _part(raw, fail, where)
        return Group(all=(check,), any=(), none=())
    return _group(raw, fail, where)


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
    target = raw.get("scenario") or raw.get("config") or raw.get("live")
    if not target:
        raise fail("every [[examples]] entry names a scenario (or a config fixture)")
    try:
        expect = Status(raw["expect"])
    except (KeyError, ValueError):
        raise fail(f"example {target!r}: expect must be one of {', '.join(s.value for s in Status)}") from None
    return Example(
        target=target,
        expect=expect,
        why=raw.get("why"),
        known_gap=raw.get("known_gap"),
        config="config" in raw,
        live="live" in raw,
        client=raw.get("client"),
        severity=_example_severity(raw, target, expect, fail),
    )


def _example_severity(raw: dict[str, Any], target: str, expect: Status, fail: Any) -> Severity | None:
    if "severity" not in raw:
        return None
    if expect is not Status.FAIL:
        raise fail(f"example {target!r}: 'severity' is the severity of a failing finding (expect = \"fail\")")
    try:
        return Severity(raw["severity"])
    except ValueError as exc:
        raise fail(f"example {target!r}: {exc}") from None
