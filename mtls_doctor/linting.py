"""The whole lint: an nginx configuration in, findings per server block out (each pointing at file:line)."""

from __future__ import annotations

import gc
import posixpath
import re
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path

from mtls_doctor.engine.catalogue import Catalogue, load_catalogue
from mtls_doctor.engine.evaluate import evaluate
from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.ranking import Ranked, ordered_and_ranked
from mtls_doctor.engine.schema import Rule, Scope
from mtls_doctor.engine.vocabulary import Severity, Status
from mtls_doctor.errors import ConfigError
from mtls_doctor.exit_status import ExitStatus
from mtls_doctor.facts.block import FileAccess, block_settings
from mtls_doctor.facts.lint import (
    BlockContext,
    ConfigFacts,
    LintFacts,
    NotHere,
    ParseError,
    nginx_facts,
    parse_error,
    server_facts,
)
from mtls_doctor.facts.model import Facts
from mtls_doctor.facts.observers import Observers
from mtls_doctor.facts.server import facts_without_client, server_model
from mtls_doctor.inputs import ServerSettings
from mtls_doctor.nginx import (
    ConfigForm,
    Context,
    Directive,
    EffectiveConfig,
    NginxConfig,
    ServerBlock,
    UnreadInclude,
    effective_settings,
    read_config,
)
from mtls_doctor.nginx.build import DEFAULT_BUILD
from mtls_doctor.openssl.generations import generation_of
from mtls_doctor.record import Record, replace
from mtls_doctor.vocabulary import Origin, Unknown

_MISPLACED = re.compile(r'"([a-z0-9_]+)" directive is not allowed here')
STOCK_FILES = frozenset(
    {"mime.types", "fastcgi_params", "fastcgi.conf", "scgi_params", "uwsgi_params", "koi-utf", "koi-win", "win-utf"}
)
"""The files nginx ships in its conf/ directory (nginx source, conf/): only ``types { }`` and ``*_param``
directives, nothing a rule reads, so an include of one that is not here changes no verdict."""

SEVERITY_RANK = {Severity.BLOCKING: 3, Severity.DEGRADED: 2, Severity.ADVISORY: 1, Severity.INFO: 0}


class ServerLint(Record):
    """One server block and what the lint and server rules found in it."""

    server: ServerBlock
    facts: LintFacts
    """What the block says beyond its trust settings (scope ``lint``)."""
    settings: ServerSettings
    """Its trust settings, as the one server model's source."""
    trust: Facts | Unknown
    """The block as the one server model, no client given (scope ``server``); UNKNOWN when computing it crashed."""
    reasons: dict[str, str]
    """Why facts of ``facts`` or ``trust`` are UNKNOWN."""
    internal_errors: tuple[str, ...] = ()
    """Observers that crashed on this block (their facts are UNKNOWN; the exit status is 4)."""

    @property
    def config_error(self) -> str | None:
        """nginx's refusal to start with this block's trust settings (None: it starts, or that is unknown)."""
        return None if isinstance(self.trust, Unknown) else self.trust.server.config_error

    findings: tuple[Finding, ...]
    """Most useful first."""
    tree: tuple[Ranked, ...]


class LintReport(Record):
    """Everything the lint renderers need."""

    config: NginxConfig
    model: EffectiveConfig
    servers: tuple[ServerLint, ...]
    version_assumed: bool
    config_facts: ConfigFacts
    config_findings: tuple[Finding, ...]
    """The rules of scope ``config``: about the configuration as a whole, once."""
    notes: tuple[str, ...] = ()
    """How the configuration was read and what could not be (one line each, for every output)."""
    parse_error: ConfigError | None = None
    """The configuration could not be parsed: its finding is in ``config_findings``, and nothing else ran."""

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding: the configuration's, then every server block's."""
        return self.config_findings + tuple(f for s in self.servers for f in s.findings)

    @property
    def counts(self) -> dict[str, int]:
        """How many findings have each status, over all server blocks."""
        tally = Counter(f.status.value for f in self.findings)
        return {s.value: tally.get(s.value, 0) for s in Status}

    def exit_status(self, fail_on: Severity | None) -> ExitStatus:
        """4 if a rule crashed; 1 if something at or above ``fail_on`` fails (None: never); 3 if such a rule could
        not be evaluated and nothing failed; else 0."""
        if any(f.status is Status.ERROR for f in self.findings) or any(s.internal_errors for s in self.servers):
            return ExitStatus.INTERNAL_ERROR
        if fail_on is None:
            return ExitStatus.OK
        bar = SEVERITY_RANK[fail_on]
        relevant = [f for f in self.findings if SEVERITY_RANK[f.severity] >= bar]
        if any(f.status is Status.FAIL for f in relevant):
            return ExitStatus.PROBLEMS_FOUND
        if any(f.status is Status.NOT_EVALUATED for f in relevant):
            return ExitStatus.INCOMPLETE
        return ExitStatus.OK


def lint_config(
    source: str | Path,
    *,
    now: datetime,
    text: str | bytes | None = None,
    prefix: Path | None = None,
    nginx: str | None = None,
    read_files: bool | None = None,
    allow_outside: bool = False,
    catalogue: Catalogue | None = None,
    rules_dirs: Sequence[Path] = (),
    parse_errors_as_findings: bool = False,
    issuers: Sequence[Path] = (),
) -> LintReport:
    """Read and lint a configuration. ConfigError (exit 2) for one that cannot be read.

    ``parse_errors_as_findings``: a configuration nginx would not parse (a ConfigError at a line) gives a report
    whose one finding says so (MTLS730) and whose ``parse_error`` is the error, for JSON and SARIF, instead of raising.

    ``nginx``: a version ("1.24.0") or pasted ``nginx -V`` output; None assumes Debian 12's nginx 1.22.1.
    ``read_files``: read the certificate/CA/CRL files the config names; by default only for a config read from disk.
    ``issuers``: where a fix looks for a missing root or CRL, besides the directories of the server's files.
    """
    catalogue = catalogue or load_catalogue(rules_dirs)
    pasted = text is not None or str(source) == "-"
    try:
        config = read_config(
            source,
            text=text,
            prefix=prefix,
            # pasted text whose files are read: relative names can only mean the current directory (said in a note)
            fallback_prefix=Path.cwd() if pasted and read_files else None,
            allow_outside_prefix=allow_outside,
        )
    except ConfigError as error:
        if not parse_errors_as_findings or error.line is None:
            raise
        return _parse_failure(error, catalogue)
    if nginx is None:
        nginx = config.nginx_v  # an nginx -V transcript pasted before the dump
    model = effective_settings(config, nginx=nginx if nginx is not None else DEFAULT_BUILD)
    files = FileAccess(
        read_files=config.on_disk if read_files is None else read_files,
        allow_outside=allow_outside or not config.pasted,
        missing_unknown=True,
    )
    return lint_model(model, files, catalogue, version_assumed=nginx is None, now=now, issuers=issuers)


def lint_model(
    model: EffectiveConfig,
    files: FileAccess,
    catalogue: Catalogue,
    *,
    version_assumed: bool,
    now: datetime,
    issuers: Sequence[Path] = (),
) -> LintReport:
    """Lint every server block of an effective configuration; ``now`` is the clock CRLs are judged at.

    A server block that an unread include could change (one inside it, or at the level of ``http``/``stream``
    above it; nginx's stock files excepted) has its findings ``not_evaluated``: what the file holds is not known.
    """
    lint_rules = catalogue.of_scope(Scope.LINT)
    server_rules = catalogue.of_scope(Scope.SERVER)
    unread = [u for u in model.config.unread_includes if posixpath.basename(u.name) not in STOCK_FILES]
    nginx = nginx_facts(model, assumed=version_assumed)
    context = BlockContext(model)
    generation = generation_of(model.nginx.ssl_library)
    servers = []
    with _model_not_rescanned():
        for server in model.servers:
            reasons: dict[str, str] = {}
            observe = Observers(reasons)
            facts = server_facts(server, nginx, context, observe)
            settings = block_settings(
                server,
                files,
                nginx_version=model.nginx.version,
                generation=generation,
                verify_result_checked=facts.verify_result_checked,
                certificate_forwarded=facts.certificate_forwarded,
                startup_error=parse_error(server, nginx),
            )
            trust = observe.run(
                "the trust-store facts", "server", partial(server_model, settings, files.loader, at=now)
            )
            if not isinstance(trust, Unknown):
                reasons.update(trust.reasons)
            if files.read_files and facts.creates_ssl_context:
                for path in (*server.tls.ssl_certificate.value, *server.tls.ssl_certificate_key.value):
                    files.cannot_open(path)
            linted = lint_server(
                server,
                facts,
                settings=settings,
                trust=trust
                if isinstance(trust, Unknown)
                else facts_without_client(trust, at=now, places=issuers, memo=files.loader.memo),
                reasons=reasons,
                rules=(lint_rules, server_rules),
                internal_errors=tuple(observe.errors),
            )
            servers.append(_unread_parts(linted, unread) if unread else linted)
    config_facts = _config_facts(model.config, files)
    config_findings = tuple(evaluate(rule, config_facts, {}) for rule in catalogue.of_scope(Scope.CONFIG))
    return LintReport(
        config=model.config,
        model=model,
        servers=tuple(servers),
        version_assumed=version_assumed,
        config_facts=config_facts,
        config_findings=config_findings,
        notes=_notes(model.config, files, servers),
    )


def _parse_failure(error: ConfigError, catalogue: Catalogue) -> LintReport:
    """The report of a configuration that does not parse: the one finding of MTLS730, no server block."""
    facts = ConfigFacts(
        not_here=(),
        includes_skipped=(),
        parse_error=ParseError(
            origin=Origin(source=error.source, line=error.line),
            problem=error.problem,
            misplaced=misplaced.group(1) if (misplaced := _MISPLACED.match(error.problem)) else None,
        ),
    )
    empty = NginxConfig(
        source=error.source,
        form=ConfigForm.FULL,
        prefix=None,
        on_disk=False,
        files=(),
        directives=(),
        skipped_includes=(),
        unread_includes=(),
        unknown_directives=(),
    )
    return LintReport(
        config=empty,
        model=effective_settings(empty, nginx=DEFAULT_BUILD),
        servers=(),
        version_assumed=True,
        config_facts=facts,
        config_findings=tuple(evaluate(rule, facts, {}) for rule in catalogue.of_scope(Scope.CONFIG)),
        parse_error=error,
    )


def _config_facts(config: NginxConfig, files: FileAccess) -> ConfigFacts:
    includes = tuple(NotHere(name=u.name, problem=u.reason, directive=u.directive) for u in config.unread_includes)
    named = tuple(
        NotHere(name=name, problem=why, directive=path.directive) for name, (path, why) in files.missing.items()
    )
    return ConfigFacts(not_here=includes + named, includes_skipped=includes)


def _unread_parts(linted: ServerLint, unread: Sequence[UnreadInclude]) -> ServerLint:
    """``linted`` with its verdicts withdrawn (not_evaluated) when an include it depends on was not read."""
    server = linted.server
    level = ("http",) if server.context is Context.HTTP else ("stream",)
    inside = {id(d) for d in _walk(server.directive)}
    affecting = [u for u in unread if u.context == level or id(u.directive) in inside]
    if not affecting:
        return linted
    why = tuple(
        f"include {u.name} ({u.directive.origin}) was not read here: what it holds could change this" for u in affecting
    )
    findings = [
        replace(f, status=Status.NOT_EVALUATED, message=None, remedy=None, evidence=(), unknown=why)
        if f.status in (Status.PASS, Status.FAIL)
        else f
        for f in linted.findings
    ]
    ordered, tree = ordered_and_ranked(findings)
    return replace(linted, findings=ordered, tree=tree)


def _walk(directive: Directive) -> Iterator[Directive]:
    stack = [directive]
    while stack:  # iterative: a config may nest locations 1,000 deep
        d = stack.pop()
        yield d
        stack.extend(d.block or ())


def _notes(config: NginxConfig, files: FileAccess, servers: Sequence[ServerLint]) -> tuple[str, ...]:
    notes = list(config.notes)
    notes += [f"nginx said: {m}" for m in config.nginx_messages]
    skipped = sum(1 for s in servers for f in s.findings if f.status is Status.NOT_EVALUATED)
    if skipped and "pasted" in files.not_read:
        notes.append(
            f"{skipped} rule(s) not evaluated: the files the configuration names were not read (pasted text); "
            "where they are on this machine: mtls-doctor lint - --read-files --prefix DIR (DIR: nginx.conf's directory)"
        )
    elif skipped and (files.missing or config.unread_includes):
        notes.append(
            f"{skipped} rule(s) not evaluated: files the configuration names are not on this machine (MTLS729 lists "
            "them); lint where nginx runs, or give --prefix DIR (DIR: nginx.conf's directory)"
        )
    if "outside" in files.not_read:
        notes.append(
            f"files outside the configuration's root were not read (e.g. {files.not_read['outside']}); "
            "--allow-outside reads them"
        )
    return tuple(notes)


@contextmanager
def _model_not_rescanned() -> Iterator[None]:
    """Keep the cyclic garbage collector off the objects that exist already (the configuration and its model)
    while the rules run.

    The lint allocates a few hundred objects per server block; whenever the survivors add up to a quarter of the
    objects that outlived the last full collection, CPython runs another one, which walks every object of the model
    again although none of it is garbage. At 10,000 server blocks that was half of the rules' time (about 6 s of
    12 s). ``gc.freeze()`` parks the existing objects out of the collector's sight (the lint's own objects are still
    collected as usual) and ``gc.unfreeze()`` puts them back afterwards, so nothing outlives the call. A caller that
    froze objects itself keeps its own arrangement.
    """
    if gc.get_freeze_count():
        yield
        return
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def lint_server(
    server: ServerBlock,
    facts: LintFacts,
    *,
    settings: ServerSettings,
    trust: Facts | Unknown,
    reasons: dict[str, str],
    rules: tuple[Sequence[Rule], Sequence[Rule]],
    internal_errors: tuple[str, ...] = (),
) -> ServerLint:
    """Evaluate the lint rules (``rules[0]``) on one server block, and the server rules (``rules[1]``) on its trust
    settings."""
    lint_rules, server_rules = rules
    findings = [evaluate(rule, facts, reasons) for rule in lint_rules]
    if isinstance(trust, Unknown):
        findings += [
            Finding(rule=rule, status=Status.NOT_EVALUATED, unknown=(reasons["server"],)) for rule in server_rules
        ]
    else:
        findings += [evaluate(rule, trust, reasons) for rule in server_rules]
    ordered, tree = ordered_and_ranked(findings)
    return ServerLint(
        server=server,
        facts=facts,
        settings=settings,
        trust=trust,
        reasons=reasons,
        internal_errors=internal_errors,
        findings=ordered,
        tree=tree,
    )
