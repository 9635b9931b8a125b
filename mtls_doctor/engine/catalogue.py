"""Finding and loading the rule catalogue: the rules shipped in the wheel (or rules/ of a checkout) plus --rules DIR.

Everything is checked when the catalogue loads (file names, unique ids and names, fact paths and placeholders against
the facts model, explains links, predicted error numbers): a broken rule fails loudly, never silently passes.
"""

from __future__ import annotations

import tomllib
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from mtls_doctor.engine.paths import PathError, check_path
from mtls_doctor.engine.schema import Rule, RuleError, Scope, parse_rule
from mtls_doctor.facts.model import Facts
from mtls_doctor.openssl.verify_codes import VERIFY_CODES


class CatalogueMissingError(RuntimeError):
    """No rule catalogue could be found (a broken installation)."""


@dataclass(frozen=True, slots=True)
class Catalogue:
    """The rules, in id order."""

    rules: tuple[Rule, ...]

    def get(self, rule_id: str) -> Rule | None:
        """The rule with this id or name."""
        return next((r for r in self.rules if rule_id in (r.id, r.name)), None)

    def of_scope(self, scope: Scope) -> tuple[Rule, ...]:
        """The rules that look at this kind of facts."""
        return tuple(r for r in self.rules if r.scope is scope)


def default_rules_dir() -> Path:
    """The rules shipped in the wheel, or the top-level rules/ of a checkout."""
    shipped = resources.files("mtls_doctor") / "_rules"
    if shipped.is_dir():
        return Path(str(shipped))
    checkout = Path(__file__).resolve().parents[2] / "rules"
    if checkout.is_dir():
        return checkout
    msg = "no rule catalogue found; reinstall mtls-doctor"
    raise CatalogueMissingError(msg)


def scope_roots() -> dict[Scope, type]:
    """The facts model each scope's fact paths are checked against."""
    return {Scope.CHECK: Facts}


def load_catalogue(dirs: Iterable[Path] = ()) -> Catalogue:
    """Load and check the default rules plus those in ``dirs``; RuleError names the first problem found."""
    files = sorted(default_rules_dir().glob("*.toml"))
    for extra in dirs:
        if not extra.is_dir():
            raise RuleError(f"{extra}: not a directory of rule files")
        files += sorted(extra.glob("*.toml"))
    rules = []
    for path in files:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise RuleError(f"{path}: not valid TOML ({exc})") from None
        rules.append(parse_rule(raw, str(path)))
    catalogue = Catalogue(tuple(sorted(rules, key=lambda r: r.id)))
    check_catalogue(catalogue)
    return catalogue


def check_catalogue(catalogue: Catalogue) -> None:
    """Cross-rule and model checks: ids, names, file names, fact paths, placeholders, explains, predicts."""
    ids: dict[str, Rule] = {}
    names: dict[str, Rule] = {}
    roots = scope_roots()
    for rule in catalogue.rules:
        for key, table in ((rule.id, ids), (rule.name, names)):
            if key in table:
                raise RuleError(f"{rule.source}: '{key}' is already used by {table[key].source}")
            table[key] = rule
        expected = f"{rule.id}-{rule.name}.toml"
        if Path(rule.source).name != expected:
            raise RuleError(f"{rule.source}: a rule file is named <id>-<name>.toml, here {expected}")
        root = roots.get(rule.scope)
        if root is None:
            raise RuleError(f"{rule.source}: scope '{rule.scope.value}' is not available")
        paths = [p for g in (rule.applies, rule.violated) for c in g.checks() for p in c.paths()]
        for path in (*paths, *rule.placeholders()):
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
    _no_cycles(ids)


def _no_cycles(ids: dict[str, Rule]) -> None:
    def visit(rule_id: str, trail: tuple[str, ...]) -> None:
        if rule_id in trail:
            raise RuleError(f"{ids[rule_id].source}: explains forms a cycle: {' -> '.join((*trail, rule_id))}")
        for target in ids[rule_id].explains:
            visit(target, (*trail, rule_id))

    for rule_id in ids:
        visit(rule_id, ())
