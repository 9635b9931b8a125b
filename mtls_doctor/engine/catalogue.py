"""Finding and loading the rule catalogue: the rules shipped in the wheel (or rules/ of a checkout) plus --rules DIR.

Everything is checked when the catalogue loads (file names, unique ids and names, fact paths and placeholders against
the facts model, explains links, predicted error numbers): a broken rule fails loudly, never silently passes.
"""

from __future__ import annotations

import hashlib
import os
import pickle
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from mtls_doctor import __version__
from mtls_doctor.engine.paths import PathError, check_path
from mtls_doctor.engine.schema import (
    RetiredRule,
    Rule,
    RuleError,
    Scope,
    SymptomText,
    parse_retired,
    parse_rule,
    parse_texts,
)
from mtls_doctor.facts.model import Facts
from mtls_doctor.openssl.verify_codes import VERIFY_CODES
from mtls_doctor.record import Record, replace


class CatalogueMissingError(RuntimeError):
    """No rule catalogue could be found (a broken installation)."""


class Catalogue(Record):
    """The rules, in id order."""

    rules: tuple[Rule, ...]
    """The live rules: the only ones that ever run."""
    retired: tuple[RetiredRule, ...] = ()
    """Rules that no longer run; their ids and names stay taken."""
    texts: tuple[SymptomText, ...] = ()
    """What people paste, and what it means: every rule's ``[[explains_text]]``, then the texts no rule owns
    (``texts/*.toml`` beside the rule files). ``explain`` classifies a pasted text against these."""

    def retired_rule(self, rule_id: str) -> RetiredRule | None:
        """The retired rule with this id or name."""
        return next((r for r in self.retired if rule_id in (r.id, r.name)), None)

    def get(self, rule_id: str) -> Rule | None:
        """The rule with this id or name."""
        return next((r for r in self.rules if rule_id in (r.id, r.name)), None)

    def of_scope(self, *scopes: Scope) -> tuple[Rule, ...]:
        """The rules that look at these kinds of facts."""
        return tuple(r for r in self.rules if r.scope in scopes)


def default_rules_dir() -> Path:
    """The rules shipped in the wheel, or the top-level rules/ of a checkout."""
    # A plain path, not importlib.resources: it costs ~15 ms of start-up and the package is never zipped.
    shipped = Path(__file__).resolve().parents[1] / "_rules"
    if shipped.is_dir():
        return shipped
    checkout = Path(__file__).resolve().parents[2] / "rules"
    if checkout.is_dir():
        return checkout
    msg = "no rule catalogue found; reinstall mtls-doctor"
    raise CatalogueMissingError(msg)


def scope_roots() -> dict[Scope, type]:
    """The facts model each scope's fact paths are checked against."""
    from mtls_doctor.facts.lint import ConfigFacts, LintFacts  # noqa: PLC0415 - only when checking lint rules' paths

    return {Scope.CHECK: Facts, Scope.SERVER: Facts, Scope.LINT: LintFacts, Scope.CONFIG: ConfigFacts}


def load_catalogue(dirs: Iterable[Path] = (), *, examples: bool = False) -> Catalogue:
    """Load and check the default rules plus those in ``dirs``; RuleError names the first problem found.

    ``examples``: also build each rule's examples (the test suite needs them; a diagnosis does not).
    """
    directories = [default_rules_dir()]
    for extra in dirs:
        if not extra.is_dir():
            raise RuleError(f"{extra}: not a directory of rule files")
        directories.append(extra)
    files = [f for d in directories for f in _rule_files(d)]
    text_files = [f for d in directories if (d / "texts").is_dir() for f in _rule_files(d / "texts")]
    key = _cache_key(files + text_files, examples=examples)
    cached = _read_cache(key)
    if cached is not None:
        return cached
    import tomllib  # noqa: PLC0415 - only when the cache misses: 4 ms of start-up otherwise

    raws: list[tuple[str, dict[str, Any]]] = []
    for path in files:
        try:
            raws.append((str(path), tomllib.loads(path.read_text(encoding="utf-8"))))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RuleError(f"{path}: not valid TOML ({exc})") from None
    live = [(source, raw) for source, raw in raws if raw.get("status") != "retired"]
    retired = tuple(parse_retired(raw, source) for source, raw in raws if raw.get("status") == "retired")
    unowned: list[SymptomText] = []
    for path in text_files:
        try:
            raw_texts = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RuleError(f"{path}: not valid TOML ({exc})") from None
        if set(raw_texts) - {"explains_text"}:
            raise RuleError(f"{path}: a file of texts holds only [[explains_text]] entries")
        unowned += parse_texts(raw_texts.get("explains_text", []), str(path), owner=None)
    catalogue = _catalogue((parse_rule(raw, source) for source, raw in live), retired, unowned)
    check_catalogue(catalogue)
    if not examples:
        catalogue = _catalogue((replace(r, examples=()) for r in catalogue.rules), retired, unowned)
    _write_cache(key, catalogue)
    return catalogue


def _rule_files(directory: Path) -> list[Path]:
    """The ``*.toml`` files of ``directory``, by name (os.scandir: globbing and sorting Paths cost a millisecond
    of every start)."""
    with os.scandir(directory) as entries:
        names = sorted(e.name for e in entries if e.name.endswith(".toml") and not e.name.startswith("."))
    return [directory / name for name in names]


def _catalogue(
    rules: Iterable[Rule], retired: Iterable[RetiredRule] = (), unowned: Iterable[SymptomText] = ()
) -> Catalogue:
    ordered = tuple(sorted(rules, key=lambda r: r.id))
    return Catalogue(
        rules=ordered,
        retired=tuple(sorted(retired, key=lambda r: r.id)),
        texts=(*(t for r in ordered for t in r.texts), *unowned),
    )


# The checked catalogue is cached (parsing 60 TOML files and checking every fact path against the model costs more
# than the whole diagnosis). The key covers every rule file's path, size and mtime, and the tool's version, so any
# edit is validated again on the next run. A cache that cannot be read or written is simply not used.
_CACHE_FORMAT = 6


def cache_dir() -> Path:
    """$MTLS_DOCTOR_CACHE_DIR, else $XDG_CACHE_HOME/mtls-doctor, else ~/.cache/mtls-doctor."""
    explicit = os.environ.get("MTLS_DOCTOR_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "mtls-doctor"


def _cache_key(files: list[Path], *, examples: bool) -> str:
    h = hashlib.sha256(f"{_CACHE_FORMAT}:{__version__}:{examples}".encode())
    for path in files:
        st = os.stat(path)
        h.update(f"\0{path}\0{st.st_size}\0{st.st_mtime_ns}".encode())
    return h.hexdigest()[:32]


def _read_cache(key: str) -> Catalogue | None:
    # The cache holds this tool's own checked catalogue, pickled: unpickling runs code, so only a file that this
    # user owns and nobody else can write is read (a shared or planted cache is ignored, never trusted).
    path = cache_dir() / f"catalogue-{key}.pickle"
    try:
        with path.open("rb") as f:
            st = os.fstat(f.fileno())
            if st.st_uid != os.getuid() or st.st_mode & 0o022:
                return None
            loaded = pickle.load(f)  # noqa: S301 - see above
    except (OSError, pickle.UnpicklingError, EOFError, AttributeError, TypeError, ValueError, ImportError):
        return None
    return loaded if isinstance(loaded, Catalogue) else None


def _write_cache(key: str, catalogue: Catalogue) -> None:
    directory = cache_dir()
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        for stale in directory.glob("catalogue-*"):
            if key not in stale.name:
                stale.unlink(missing_ok=True)
        tmp = directory / f".catalogue-{key}.{os.getpid()}.tmp"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as f:
            pickle.dump(catalogue, f, protocol=pickle.HIGHEST_PROTOCOL)
        tmp.replace(directory / f"catalogue-{key}.pickle")
    except (OSError, pickle.PicklingError, TypeError, AttributeError):
        return


def check_catalogue(catalogue: Catalogue) -> None:
    """Cross-rule and model checks: ids, names, file names, fact paths, placeholders, explains, predicts."""
    ids: dict[str, Rule] = {}
    roots = scope_roots()
    taken: dict[str, str] = {}
    entries: list[Rule | RetiredRule] = [*catalogue.retired, *catalogue.rules]
    for entry in entries:
        for key in (entry.id, entry.name):
            if key in taken:
                raise RuleError(
                    f"{entry.source}: '{key}' is already used by {taken[key]} (ids and names are never reused)"
                )
            taken[key] = entry.source
        expected = f"{entry.id}-{entry.name}.toml"
        if Path(entry.source).name != expected:
            raise RuleError(f"{entry.source}: a rule file is named <id>-<name>.toml, here {expected}")
    for rule in catalogue.rules:
        ids[rule.id] = rule
        root = roots.get(rule.scope)
        if root is None:
            raise RuleError(f"{rule.source}: scope '{rule.scope.value}' is not available")
        for path in (*rule.condition_paths(), *rule.placeholders()):
            try:
                check_path(root, path)
            except PathError as exc:
                raise RuleError(f"{rule.source}: fact path '{path}': {exc}") from None
        for code in rule.predicts:
            if code not in VERIFY_CODES:
                raise RuleError(f"{rule.source}: predicts unknown OpenSSL verify error {code}")
    for rule in catalogue.rules:
        for target in rule.explains:
            if target not in ids:
                raise RuleError(f"{rule.source}: explains unknown rule {target}")
    for old in catalogue.retired:
        for target in old.replaced_by:
            if target not in ids:
                raise RuleError(f"{old.source}: replaced_by names {target}, which is not a live rule")
    _no_cycles(ids)
    check_texts(catalogue, ids)


def check_texts(catalogue: Catalogue, ids: dict[str, Rule]) -> None:
    """Every symptom text names real alerts, verify errors and rules, no alert has two texts, and each example is
    matched by its own entry, no other winning (the match table cannot drift from what it claims)."""
    from mtls_doctor.engine.texts import classify  # noqa: PLC0415 - only when the catalogue is checked
    from mtls_doctor.openssl.alerts import ALERTS  # noqa: PLC0415

    alerts: dict[int, SymptomText] = {}
    for text in catalogue.texts:
        where = f"{text.source}: explains_text {text.match[0]!r}"
        if text.alert is not None:
            if text.alert not in ALERTS:
                raise RuleError(f"{where}: unknown TLS alert {text.alert}")
            if text.alert in alerts:
                raise RuleError(f"{where}: alert {text.alert} already has its text in {alerts[text.alert].source}")
            alerts[text.alert] = text
        for code in text.verify:
            if code not in VERIFY_CODES:
                raise RuleError(f"{where}: unknown OpenSSL verify error {code}")
        for target in text.related:
            if target not in ids:
                raise RuleError(f"{where}: related names {target}, which is not a live rule")
    for text in catalogue.texts:
        for example in text.examples:
            found = classify(example, catalogue.texts)
            if found is None or found.matched is not text:
                other = "nothing" if found is None or found.matched is None else repr(found.matched.match[0])
                raise RuleError(
                    f"{text.source}: explains_text {text.match[0]!r}: its example {example!r} is explained by {other}"
                )


def _no_cycles(ids: dict[str, Rule]) -> None:
    def visit(rule_id: str, trail: tuple[str, ...]) -> None:
        if rule_id in trail:
            raise RuleError(f"{ids[rule_id].source}: explains forms a cycle: {' -> '.join((*trail, rule_id))}")
        for target in ids[rule_id].explains:
            visit(target, (*trail, rule_id))

    for rule_id in ids:
        visit(rule_id, ())
