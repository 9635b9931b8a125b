"""Every lint rule is tested by the examples it declares, on the nginx configurations of tests/lint_fixtures.

Each example runs in the three forms a configuration reaches ``mtls-doctor lint``: the file on disk, its text on
stdin (with the fixture directory as the conf prefix), and an ``nginx -T`` dump that holds it. Fixtures name the
material they need through relative paths into sample_pki/, outside the fixture directory, hence
``allow_outside=True``.

A fixture may start with comment lines that the tests read:

* ``# nginx-version: 1.26.2``: the nginx version to judge it for (default: lint's assumption, Debian 12's 1.22.1);
* ``# lint-server: api.example.com``: the server block the examples are about, when the fixture holds several.

The fixtures are also given to the real nginx (``nginx -t``, skipped when nginx is not installed): nginx refuses to
start exactly when a start-up rule fails, with the words the facts predict.
"""

from __future__ import annotations

import functools
import json
import re
import subprocess
from pathlib import Path

import pytest

from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.paths import resolve
from mtls_doctor.engine.schema import Example, Rule, Scope
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.errors import ConfigError
from mtls_doctor.linting import LintReport, ServerLint, lint_config
from mtls_doctor.nginx import ConfigForm, read_config
from mtls_doctor.vocabulary import Unknown
from tests.conftest import LOCAL_NOW, REPO, catalogue, require_nginx, require_stream_module

FIXTURES = REPO / "tests" / "lint_fixtures"
NOW = LOCAL_NOW
"""2026-11-22T12:00Z: the lint's clock, against which CRL dates are judged (crls/issuing-2026.pem is valid, the
sample PKI's expired and future CRLs are not)."""
FORMS = ("file", "stdin", "dump")
NGINX_1_22 = "1.22"
"""The nginx installed for the real-nginx test (Debian 12); fixtures judged for another version are not run on it."""

_VERSION = re.compile(r"^#\s*nginx-version:\s*(\S+)\s*$", re.MULTILINE)
_SERVER = re.compile(r"^#\s*lint-server:\s*(\S+)\s*$", re.MULTILINE)

STARTUP_RULES = frozenset(
    {
        "MTLS601",
        "MTLS708",
        "MTLS709",
        "MTLS710",
        "MTLS717",
        "MTLS721",
        "MTLS722",
        "MTLS607",
        "MTLS729",
        "MTLS730",
        "MTLS732",
    }
)
"""Lint rules whose failure means nginx refuses to start."""
_STARTUP_EMERG = (
    "no ssl_client_certificate",
    "SSL_CTX_load_verify_locations",
    "SSL_load_client_CA_file",
    '"ssl_ocsp" is incompatible',
)
_STARTUP_EMERG_CRL = "X509_LOOKUP_load_file"
_EMERG = re.compile(r"\[emerg\] (?:\d+#\d+: )?(.*?)(?: in (\S+:\d+))?$", re.MULTILINE)
_DEPRECATED_SSL = 'the "ssl" directive is deprecated, use the "listen ... ssl" directive instead'
_ERROR_LOG = re.compile(r"^(\s*error_log\s+)\S+", re.MULTILINE)

# nginx resolves the host of every *_pass at start-up and refuses to start when it does not resolve. The fixtures name
# hosts under .example (RFC 2606: never registered); nginx -t gets "localhost" in their place, which /etc/hosts
# resolves on any machine. Start-up rules never look at which name a host has, only lint does, on the original text.
_EXAMPLE_UPSTREAM = re.compile(r"^(\s*(?:proxy|grpc|uwsgi)_pass\s+\w+://)[\w.-]+\.example\b", re.MULTILINE)


# -- fixtures and their three forms ---------------------------------------------------------------------------


def fixture_files() -> list[Path]:
    """Every configuration fixture."""
    return sorted(FIXTURES.glob("*.conf"))


def nginx_version(text: str) -> str | None:
    """The ``# nginx-version:`` of a fixture, if any."""
    match = _VERSION.search(text)
    return match.group(1) if match else None


def nginx_dump(path: Path, text: str) -> str:
    """``nginx -T 2>&1`` output for a configuration whose main file is ``nginx.conf`` next to the fixture.

    A real dump always starts with a full nginx.conf (the reader refuses a dump whose first file is a bare
    ``server {}``), so a snippet fixture is dumped as the file that nginx.conf includes inside ``http {}``. The dump
    names files by absolute path: relative paths in them resolve against the first file's directory, the fixture
    directory, exactly as for the file itself.
    """
    conf_dir = path.parent.resolve()
    main = conf_dir / "nginx.conf"
    head = f"nginx: the configuration file {main} syntax is ok\nnginx: configuration file {main} test is successful\n"
    try:
        read = read_config(path)
    except ConfigError:  # a fixture nginx would not parse: its dump is the text as nginx -T would print it
        read = None
    # the files it includes follow it, as nginx -T prints every file it read
    included = (
        "".join(f"# configuration file {f.name}:\n{Path(f.name).read_text()}\n" for f in read.files[1:]) if read else ""
    )
    if read is not None and read.form is ConfigForm.FULL:
        return f"{head}# configuration file {path.resolve()}:\n{text}\n{included}"
    wrapper = f"events {{}}\nhttp {{\n    include {path.name};\n}}\n"
    return f"{head}# configuration file {main}:\n{wrapper}\n# configuration file {path.resolve()}:\n{text}\n{included}"


@functools.cache
def lint(name: str, form: str) -> LintReport:
    """The lint of one fixture in one form (computed once per session)."""
    path = FIXTURES / name
    text = path.read_text()
    version = nginx_version(text)
    run = functools.partial(
        lint_config, now=NOW, nginx=version, allow_outside=True, catalogue=catalogue(), parse_errors_as_findings=True
    )
    if form == "file":
        return run(path)
    if form == "stdin":
        return run("-", text=text, prefix=FIXTURES, read_files=True)
    if form == "dump":
        return run("-", text=nginx_dump(path, text), read_files=True)
    raise AssertionError(form)


def block(report: LintReport, name: str) -> ServerLint:
    """The server block a fixture's examples are about: the only one, or the one ``# lint-server:`` names."""
    wanted = _SERVER.search((FIXTURES / name).read_text())
    if wanted is None:
        assert len(report.servers) == 1, f"{name} holds {len(report.servers)} server blocks: name one (# lint-server:)"
        return report.servers[0]
    matching = [s for s in report.servers if any(n.name == wanted.group(1) for n in s.server.server_names)]
    assert len(matching) == 1, f"{name}: # lint-server: {wanted.group(1)} matches {len(matching)} server blocks"
    return matching[0]


def finding(server: ServerLint, rule_id: str) -> Finding:
    """The finding of one rule on one server block."""
    return next(f for f in server.findings if f.rule.id == rule_id)


def example_finding(rule: Rule, name: str, form: str) -> Finding:
    """The finding of ``rule`` on a fixture: the configuration's own for a rule of scope config, else its block's."""
    report = lint(name, form)
    if rule.scope is Scope.CONFIG:
        return next(f for f in report.config_findings if f.rule.id == rule.id)
    return finding(block(report, name), rule.id)


# -- every example, in every form -----------------------------------------------------------------------------


def _lint_rules() -> tuple[Rule, ...]:
    return catalogue().of_scope(Scope.LINT, Scope.CONFIG)


def _linted_rules() -> tuple[Rule, ...]:
    """The rules that run in lint: those of scope lint and config, and the server rules (on each block's trust
    settings)."""
    return catalogue().of_scope(Scope.LINT, Scope.CONFIG, Scope.SERVER)


def _cases() -> list[object]:
    cases: list[object] = []
    for rule in _linted_rules():
        for example in (e for e in rule.examples if e.config):
            marks = [pytest.mark.xfail(reason=example.known_gap, strict=True)] if example.known_gap else []
            cases.extend(
                pytest.param(rule, example, form, id=f"{rule.id}:{example.target}:{form}", marks=marks)
                for form in FORMS
            )
    return cases


@pytest.mark.parametrize(("rule", "example", "form"), _cases())
def test_lint_rule_example(rule: Rule, example: Example, form: str) -> None:
    found = example_finding(rule, example.target, form)
    assert found.status is example.expect, (
        f"{rule.id} on {example.target} ({form}): {found.status.value}, expected {example.expect.value}"
        f" ({found.message or found.error or found.unknown})"
    )
    if example.severity is not None:
        assert found.severity is example.severity, f"{rule.id} on {example.target} ({form}): {found.severity.value}"


def _failing_examples() -> list[object]:
    return [
        pytest.param(rule, example, form, id=f"{rule.id}:{example.target}:{form}")
        for rule in _linted_rules()
        for example in rule.examples
        if example.config and example.expect is Status.FAIL and not example.known_gap
        for form in FORMS
    ]


@pytest.mark.parametrize(("rule", "example", "form"), _failing_examples())
def test_failing_example_renders_its_message_and_points_at_the_config(rule: Rule, example: Example, form: str) -> None:
    report = lint(example.target, form)
    found = example_finding(rule, example.target, form)
    assert found.message, rule.id
    facts: object = report.config_facts
    if rule.scope is not Scope.CONFIG:
        server = block(report, example.target)
        facts = server.trust if rule.scope is Scope.SERVER else server.facts
    for path in rule.required_placeholders():
        value = resolve(facts, path)
        assert value is not None, f"{rule.id} on {example.target}: {{{path}}} is absent (renders as 'none')"
        assert not isinstance(value, Unknown), f"{rule.id} on {example.target}: {{{path}}} is unknown"
    origins = [o for e in found.evidence for o in e.origins]
    assert origins, f"{rule.id} on {example.target}: evidence has no origin"
    assert any(o.line is not None for o in origins), f"{rule.id} on {example.target}: no evidence names a line"


def test_the_three_forms_read_the_same_settings() -> None:
    """The forms differ only in where the text comes from: the same blocks, the same facts that decide rules."""
    for path in fixture_files():
        forms = {form: lint(path.name, form) for form in FORMS}
        shapes = {
            form: [(str(s.server).split(" at ")[0], s.facts.verifies, s.facts.mode) for s in r.servers]
            for form, r in forms.items()
        }
        assert shapes["stdin"] == shapes["file"], path.name
        assert shapes["dump"] == shapes["file"], path.name


# -- meta-tests -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("rule", _lint_rules(), ids=lambda r: r.id)
def test_lint_rule_has_a_failing_and_a_passing_fixture(rule: Rule) -> None:
    assert rule.id[4] == "7", f"{rule.id}: lint rules live in the 7xx block"
    expects = {e.expect for e in rule.examples if not e.known_gap}
    assert Status.FAIL in expects, f"{rule.id} has no fail example"
    assert Status.PASS in expects, f"{rule.id} has no pass example"
    for example in rule.examples:
        assert (FIXTURES / example.target).is_file(), f"{rule.id}: no fixture {example.target} in {FIXTURES}"


@pytest.mark.parametrize("rule", catalogue().of_scope(Scope.SERVER), ids=lambda r: r.id)
def test_server_rule_has_a_failing_and_a_passing_fixture(rule: Rule) -> None:
    """A server rule runs in lint too: it is tested on configurations as well as on scenarios."""
    expects = {e.expect for e in rule.examples if e.config and not e.known_gap}
    assert Status.FAIL in expects, f"{rule.id} has no fail fixture"
    assert Status.PASS in expects, f"{rule.id} has no pass fixture"
    for example in (e for e in rule.examples if e.config):
        assert (FIXTURES / example.target).is_file(), f"{rule.id}: no fixture {example.target} in {FIXTURES}"


def test_every_fixture_is_used_by_an_example() -> None:
    used = {e.target for r in _linted_rules() for e in r.examples if e.config}
    unused = sorted(p.name for p in fixture_files() if p.name not in used)
    assert not unused, f"fixtures no lint rule example uses: {unused}"


def test_every_fixture_has_one_block_to_judge() -> None:
    for path in fixture_files():
        report = lint(path.name, "file")
        if report.parse_error is None:  # a fixture nginx would not parse has none (MTLS730)
            block(report, path.name)


def test_fixture_header_comments_are_understood() -> None:
    """A misspelt header would silently lint for the wrong version or block."""
    for path in fixture_files():
        for line in path.read_text().splitlines():
            if line.startswith("#") and ":" in line:
                assert _VERSION.match(line) or _SERVER.match(line), f"{path.name}: unknown header {line!r}"


# -- the real nginx agrees on start-up --------------------------------------------------------------------------


def _nginx_cases() -> list[object]:
    cases: list[object] = []
    for path in fixture_files():
        version = nginx_version(path.read_text())
        if version is not None and not version.startswith(NGINX_1_22 + "."):
            continue
        cases.append(pytest.param(path, id=path.name))
    return cases


def _form(path: Path) -> ConfigForm | None:
    """How the reader takes a fixture; None for one nginx would not parse (MTLS730's)."""
    try:
        return read_config(path).form
    except ConfigError:
        return None


def nginx_t(path: Path, work: Path) -> subprocess.CompletedProcess[str]:
    """``nginx -t`` on a fixture, included in http{} of a main file, from a copy whose ../../sample_pki resolves."""
    binary = require_nginx()
    conf_dir = work / "a" / "b"
    conf_dir.mkdir(parents=True)
    (work / "sample_pki").symlink_to(REPO / "sample_pki")
    # error_log targets are opened by nginx -t; their level, not their file, is what the rules look at
    text = _EXAMPLE_UPSTREAM.sub(r"\1localhost", _ERROR_LOG.sub(r"\1stderr", path.read_text()))
    (conf_dir / "snippets").symlink_to(FIXTURES / "snippets")
    main = conf_dir / "nginx.conf"
    if _form(path) is ConfigForm.FULL:  # a whole nginx.conf (a stream {} one): nginx -t on it
        module = require_stream_module() if re.search(r"^stream\s*\{", text, re.MULTILINE) else None
        main.write_text((f"load_module {module};\n" if module else "") + text)
    else:
        (conf_dir / path.name).write_text(text)
        main.write_text(f"events {{}}\nhttp {{\n    access_log off;\n    include {path.name};\n}}\n")
    argv = [binary, "-t", "-p", f"{work}/", "-c", str(main), "-e", "stderr", "-g", f"pid {work}/nginx.pid;"]
    return subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)


@pytest.mark.parametrize("path", _nginx_cases())
def test_nginx_starts_exactly_when_no_startup_rule_fails(path: Path, tmp_path: Path) -> None:
    run = nginx_t(path, tmp_path)
    output = run.stderr.replace(f"{tmp_path}/a/b/../../sample_pki/", f"{REPO}/sample_pki/")
    report = lint(path.name, "file")
    refusing = sorted(f.rule.id for f in report.findings if f.status is Status.FAIL and f.rule.id in STARTUP_RULES)
    assert (run.returncode == 0) == (not refusing), f"nginx -t rc={run.returncode}, lint: {refusing}\n{output}"
    deprecated = any(finding(s, "MTLS716").status is Status.FAIL for s in report.servers)
    assert (_DEPRECATED_SSL in output) == deprecated, output
    if any(f.rule.id == "MTLS729" and f.status is Status.FAIL for f in report.config_findings):
        return  # a file that is not here: nginx's open()/load error, listed by MTLS729 in nginx's words for includes
    emerg = _EMERG.search(output)
    if emerg is None or not emerg.group(1).startswith((*_STARTUP_EMERG, _STARTUP_EMERG_CRL)):
        return
    predicted = {s.config_error for s in report.servers}
    assert emerg.group(1) in predicted, f"nginx: {emerg.group(1)}\nfacts: {predicted}"


# -- where findings point -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("form", FORMS)
def test_every_sarif_result_is_located_in_a_config_file(form: str) -> None:
    """The primary location is what the user edits (a config line); what a named file holds is related evidence."""
    from mtls_doctor.render.lint_report import lint_sarif  # noqa: PLC0415

    related = 0
    for path in fixture_files():
        report = lint(path.name, form)
        config_files = {f.name for f in report.config.files} | {report.config.source}
        for result in json.loads(lint_sarif(report))["runs"][0]["results"]:
            primary = result["locations"][0]["physicalLocation"]
            assert primary["artifactLocation"]["uri"] in config_files, (path.name, result["ruleId"], primary)
            assert "region" in primary, (path.name, result["ruleId"])
            for location in result.get("relatedLocations", []):
                assert location["physicalLocation"]["artifactLocation"]["uri"] not in config_files
                related += 1
    assert related, "no finding carried evidence from inside a named file"


@pytest.mark.parametrize("form", FORMS)
def test_an_explicit_directive_is_reported_at_its_own_line(form: str) -> None:
    """proxy_ssl_verify off written at line 15 is reported there, not as "the default" at the proxy_pass; the fix
    of an upstream {} group sets proxy_ssl_name, so that verification checks a name the certificate holds."""
    name = "MTLS720-fail-explicit-off-upstream-group.conf"
    found = finding(block(lint(name, form), name), "MTLS720")
    [evidence] = [e for e in found.evidence if e.fact == "upstreams.unverified"]
    assert [o.line for o in evidence.origins] == [15]
    assert found.message
    assert "proxy_ssl_verify off at " in found.message
    assert "the default" not in found.message
    assert found.remedy
    assert "proxy_ssl_name " in found.remedy
    default = finding(block(lint("MTLS720-fail.conf", form), "MTLS720-fail.conf"), "MTLS720")
    assert default.message
    assert "proxy_ssl_verify off, the default" in default.message
