"""Lint fixes that fix (issue 9, item 3, for configurations): the remedy of every lint or server rule whose fix is
a directive to add or change is applied, as its text says, to the rule's failing fixture; linting the result
again, the rule passes, and the real nginx -t accepts the configuration.

The remedy is read, not restated: each group of directive lines follows a comment that says where they go —
"in the server block" (or "in this server block", "in the stream server block"): at the server level of the block
judged; "in the location ..." / "in each location ...": in the blocks holding the directives the finding's
evidence points at; "next to <directive>" (or "next to the pass"): beside the first such directive of the block;
"replace ...": where the same directive (same name and first argument) is. A directive already set in that block
(same name; same first argument for the ones that repeat, such as proxy_set_header) is replaced, otherwise the line
is added; 'drop "<directive>;"' in the comment removes it there. Rules whose remedy gives no such place, or whose fix
is not a directive, are listed in NOT_APPLIED with the reason.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from mtls_doctor.engine.schema import Scope
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.linting import ServerLint, lint_config
from mtls_doctor.nginx.tree import Directive
from tests.conftest import LOCAL_NOW, REPO, catalogue, require_nginx
from tests.test_fixes_apply import _WRITES, _alternatives
from tests.test_lint_rules import FIXTURES, block, lint, nginx_t, nginx_version

NOT_APPLIED = {
    "MTLS604": "two alternatives (a directive, or headers for the application), neither placed by the text",
    "MTLS606": "two alternatives (a directive, or headers for the application), neither placed by the text",
    "MTLS607": "two alternatives, shown as comments",
    "MTLS731": "a server block of its own, shown as a comment, and a listen to remove",
    "MTLS732": "the location's check is shown as a comment",
    "MTLS735": "in another server block, one of three alternatives",
    "MTLS743": "alternatives shown as comments",
}
"""Rules whose remedy holds directive lines but does not say, in a form a program reads, where they go."""
_PLACE = re.compile(
    r"\b(?P<server>in (?:the|this|the stream) server block)\b"
    r"|\b(?P<location>in (?:the location|each location|each of those locations))\b"
    r"|\bnext to (?P<next>the pass|[a-z_]+)\b"
    r"|^#?\s*(?P<replace>replace)\b"
)
_DROP = re.compile(r'drop "([a-z_]+)[^"]*;"')
_DIRECTIVE = re.compile(r"^(?P<name>[a-z_][a-z0-9_]*)(?:\s+(?P<first>\S+))?[^#]*[;}]\s*(?:#.*)?$")
_REPEATING = frozenset({"proxy_set_header", "grpc_set_header", "add_header", "listen", "if"})
_SHELL = ("nginx ", "openssl ", "mtls-doctor ", "cat ", "ls ", "head ", "date", "grep ", "awk ")


class Group:
    """Directive lines and the comment that says where they go."""

    def __init__(self, heading: str) -> None:
        self.heading = heading
        self.lines: list[str] = []


def _groups(remedy: str) -> list[Group]:
    groups: list[Group] = []
    heading = ""
    for line in remedy.splitlines():
        if line.startswith("#"):
            heading = line if not groups or groups[-1].lines else heading + " " + line
            if groups and not groups[-1].lines:
                groups.pop()
            groups.append(Group(heading))
        elif line.strip() and _DIRECTIVE.match(line.strip()) and not line.startswith(_SHELL):
            if not groups:
                groups.append(Group(""))
            groups[-1].lines.append(line.strip())
    return [g for g in groups if g.lines]


def _walk(block: tuple[Directive, ...], parent: Directive) -> Iterator[tuple[Directive, Directive]]:
    for d in block:
        yield d, parent
        if d.block:
            yield from _walk(d.block, d)


def _key(name: str, first: str | None) -> tuple[str, str | None]:
    return (name, first if name in _REPEATING and name != "listen" else None)


def _targets(group: Group, server: ServerLint, rule_id: str) -> list[Directive]:
    """The blocks the group's lines go in, as its comment says; [] when it names no place."""
    place = _PLACE.search(group.heading)
    root = server.server.directive
    if place is None:
        return []
    if place.group("server"):
        return [root]
    everything = list(_walk(root.block or (), root))
    if place.group("next"):
        wanted = place.group("next")
        for d, parent in everything:
            if d.name == wanted or (wanted == "the pass" and d.name.endswith("_pass")):
                return [parent]
        return []
    if place.group("replace"):
        names = {_key(*_parts(line)) for line in group.lines}
        return list({id(p): p for d, p in everything if _key(d.name, d.args[0] if d.args else None) in names}.values())
    finding = next(f for f in server.findings if f.rule.id == rule_id)
    lines = {o.line for e in finding.evidence for o in e.origins if getattr(o, "line", None)}
    parents = [p if d.block is None else d for d, p in everything if d.line in lines]
    return list({id(p): p for p in parents if p.name == "location"}.values())


def _parts(line: str) -> tuple[str, str | None]:
    match = _DIRECTIVE.match(line)
    assert match, line
    return match.group("name"), match.group("first")


def _end_line(d: Directive) -> int:
    last = d.line
    for child, _ in _walk(d.block or (), d):
        last = max(last, child.line)
    return last


def _apply(text: str, groups: list[tuple[Group, list[Directive]]]) -> str:
    lines = text.splitlines()
    edits: dict[int, list[str] | None] = {}  # 1-based line -> replacement lines (None: removed)
    after: dict[int, list[str]] = {}
    for group, targets in groups:
        dropped = set(_DROP.findall(group.heading))
        for target in targets:
            children = target.block or ()
            indent = " " * (len(lines[target.line - 1]) - len(lines[target.line - 1].lstrip()) + 4)
            for d in children:
                if d.name in dropped:
                    edits[d.line] = None
            for line in group.lines:
                key = _key(*_parts(line))
                same = [d for d in children if _key(d.name, d.args[0] if d.args else None) == key]
                if same:
                    edits[same[0].line] = [indent + line]
                    for d in same[1:]:
                        edits[d.line] = None
                else:
                    after.setdefault(target.line, []).append(indent + line)
    out: list[str] = []
    for number, line in enumerate(lines, start=1):
        if number in edits:
            out += edits[number] or []
        else:
            out.append(line)
        out += after.get(number, [])
    return "\n".join(out) + "\n"


def _without_placeholders(template: str) -> str:
    """The remedy template with each placeholder (nested ones too) as one word: a placeholder may start a
    directive's name (``{upstreams.unverified_module}_ssl_verify on;``)."""
    while re.search(r"\{[^{}]*\}", template):
        template = re.sub(r"\{[^{}]*\}", "x", template)
    return template


def _cases() -> list[object]:
    cases: list[object] = []
    for rule in catalogue().rules:
        if rule.scope not in (Scope.LINT, Scope.SERVER) or not rule.remedy or rule.id in NOT_APPLIED:
            continue
        if not _groups(_without_placeholders(rule.remedy)):
            continue  # its fix changes files, not the configuration: tests/test_fixes_apply.py
        for example in rule.examples:
            if example.config and example.expect is Status.FAIL and not example.known_gap:
                cases.append(pytest.param(rule.id, example.target, id=f"{rule.id}-{example.target}"))
    return cases


def _placed(rule_id: str, name: str) -> list[tuple[Group, list[Directive]]] | None:
    server = block(lint(name, "file"), name)
    finding = next(f for f in server.findings if f.rule.id == rule_id)
    assert finding.status is Status.FAIL
    assert finding.remedy
    groups = _groups(finding.remedy)
    if not groups:
        return None
    return [(g, _targets(g, server, rule_id)) for g in groups]


def test_every_directive_a_remedy_gives_has_a_place_it_names() -> None:
    """A lint remedy with directive lines says where they go (or the rule is in NOT_APPLIED, with the reason)."""
    for case in _cases():
        rule_id, name = case.values  # type: ignore[attr-defined]
        placed = _placed(rule_id, name)
        if placed is None:
            continue
        for group, targets in placed:
            assert targets, f"{rule_id} on {name}: no place for {group.lines} in {group.heading!r}"


@pytest.mark.parametrize(("rule_id", "name"), _cases())
def test_applying_the_lint_fix_makes_the_rule_pass_and_nginx_accept_it(rule_id: str, name: str, tmp_path: Path) -> None:
    placed = _placed(rule_id, name)
    assert placed is not None
    fixed = _apply((FIXTURES / name).read_text(), placed)
    work = tmp_path / "a" / "b"
    work.mkdir(parents=True)
    (tmp_path / "sample_pki").symlink_to(REPO / "sample_pki")
    (work / "snippets").symlink_to(FIXTURES / "snippets")
    path = work / name
    path.write_text(fixed)
    report = lint_config(
        path, now=LOCAL_NOW, nginx=nginx_version(fixed), allow_outside=True, catalogue=catalogue(),
        parse_errors_as_findings=True,
    )  # fmt: skip
    server = block(report, name) if len(report.servers) > 1 else report.servers[0]
    status = next(f for f in server.findings if f.rule.id == rule_id).status
    assert status is not Status.FAIL, f"{rule_id} still fails on:\n{fixed}"
    run = nginx_t(path, tmp_path / "nginx")
    if run.returncode != 0:
        # a file the fix names for the person to supply (/etc/nginx/upstream-ca.pem) is not on this machine: nginx
        # read the directives, in their places, up to opening it
        supplied = {w for g, _ in placed for line in g.lines for w in line.split() if w.startswith("/etc/")}
        missing = re.search(r'\(?"?(/etc/\S+?)"?\)?[:,]? .*No such file', run.stderr)
        refused = f"nginx -t refuses the fixed {name}:\n{fixed}\n{run.stderr}"
        assert missing, refused
        assert missing.group(1) in {w.rstrip(";") for w in supplied}, refused


def _file_cases() -> list[object]:
    cases: list[object] = []
    for rule in catalogue().rules:
        if rule.scope is not Scope.SERVER or not rule.remedy or not _WRITES.search(rule.remedy):
            continue
        for example in rule.examples:
            if example.config and example.expect is Status.FAIL and not example.known_gap:
                cases.append(pytest.param(rule.id, example.target, id=f"{rule.id}-{example.target}"))
    return cases


@pytest.mark.parametrize(("rule_id", "name"), _file_cases())
def test_applying_a_file_fix_to_a_linted_configuration(rule_id: str, name: str, tmp_path: Path) -> None:
    """A server rule whose fix changes the server's files, run as written (each alternative in its own copy) on a
    copy of the files the fixture names: linting it again, the rule passes, and nginx -t accepts it."""
    text = (FIXTURES / name).read_text()
    i = 0
    while True:
        root = tmp_path / f"copy-{i}"
        work = root / "a" / "b"
        work.mkdir(parents=True)
        shutil.copytree(REPO / "sample_pki", root / "sample_pki", symlinks=True)
        (work / "snippets").symlink_to(FIXTURES / "snippets")
        path = work / name
        path.write_text(text)
        server = _linted(path, name)
        finding = next(f for f in server.findings if f.rule.id == rule_id)
        assert finding.status is Status.FAIL
        assert finding.remedy
        alternatives = _alternatives(finding.remedy)
        commands = alternatives[i]
        # without -e: a look at the file that finds nothing (grep's 1) is no failure; what counts is the result
        run = subprocess.run(
            ["bash", "-uo", "pipefail", "-c", "\n".join(commands)],
            cwd=work, capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert "No such file" not in run.stderr, f"{commands}: {run.stderr}"
        after = next(f for f in _linted(path, name).findings if f.rule.id == rule_id)
        assert after.status is not Status.FAIL, f"after {commands}: {after.message}"
        nginx = nginx_t_copy(path, root)
        assert nginx.returncode == 0, f"nginx -t after {commands}: {nginx.stderr}"
        i += 1
        if i == len(alternatives):
            break


def _linted(path: Path, name: str) -> ServerLint:
    report = lint_config(
        path, now=LOCAL_NOW, nginx=nginx_version(path.read_text()), allow_outside=True, catalogue=catalogue(),
        parse_errors_as_findings=True,
    )  # fmt: skip
    return block(report, name) if len(report.servers) > 1 else report.servers[0]


def nginx_t_copy(path: Path, root: Path) -> subprocess.CompletedProcess[str]:
    """nginx -t on the fixed snippet at ``path`` (in root/a/b, next to root/sample_pki), inside http {}."""
    main = path.parent / "nginx.conf"
    main.write_text(f"events {{}}\nhttp {{\n    access_log off;\n    include {path.name};\n}}\n")
    argv = [require_nginx(), "-t", "-p", f"{root}/", "-c", str(main), "-e", "stderr", "-g", f"pid {root}/nginx.pid;"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
