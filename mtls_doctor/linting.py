"""The whole lint: an nginx configuration in, findings per server block out (each pointing at file:line)."""

from __future__ import annotations

import gc
from collections import Counter
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from datetime import datetime
from functools import partial
from pathlib import Path

from mtls_doctor.engine.catalogue import Catalogue, load_catalogue
from mtls_doctor.engine.evaluate import evaluate
from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.ranking import Ranked, ordered_findings, rank
from mtls_doctor.engine.schema import Rule, Scope
from mtls_doctor.engine.vocabulary import Severity, Status
from mtls_doctor.exit_status import ExitStatus
from mtls_doctor.facts.block import FileAccess, block_settings
from mtls_doctor.facts.lint import BlockContext, LintFacts, nginx_facts, parse_error, server_facts
from mtls_doctor.facts.model import Facts
from mtls_doctor.facts.observers import Observers
from mtls_doctor.facts.server import facts_without_client, server_model
from mtls_doctor.inputs import ServerSettings
from mtls_doctor.nginx import EffectiveConfig, NginxConfig, ServerBlock, effective_settings, read_config
from mtls_doctor.nginx.build import DEFAULT_BUILD
from mtls_doctor.openssl.generations import generation_of
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import Unknown

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

    @property
    def findings(self) -> tuple[Finding, ...]:
        """Every finding of every server block."""
        return tuple(f for s in self.servers for f in s.findings)

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
        relevant = [f for f in self.findings if SEVERITY_RANK[f.rule.severity] >= bar]
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
) -> LintReport:
    """Read and lint a configuration. ConfigError (exit 2) for one that cannot be read.

    ``nginx``: a version ("1.24.0") or pasted ``nginx -V`` output; None assumes Debian 12's nginx 1.22.1.
    ``read_files``: read the certificate/CA/CRL files the config names; by default only for a config read from disk.
    """
    catalogue = catalogue or load_catalogue(rules_dirs)
    config = read_config(source, text=text, prefix=prefix, allow_outside_prefix=allow_outside)
    model = effective_settings(config, nginx=nginx if nginx is not None else DEFAULT_BUILD)
    files = FileAccess(read_files=config.on_disk if read_files is None else read_files, allow_outside=allow_outside)
    return lint_model(model, files, catalogue, version_assumed=nginx is None, now=now)


def lint_model(
    model: EffectiveConfig, files: FileAccess, catalogue: Catalogue, *, version_assumed: bool, now: datetime
) -> LintReport:
    """Lint every server block of an effective configuration; ``now`` is the clock CRLs are judged at."""
    lint_rules = catalogue.of_scope(Scope.LINT)
    server_rules = catalogue.of_scope(Scope.SERVER)
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
                startup_error=parse_error(server, nginx),
            )
            trust = observe.run(
                "the trust-store facts", "server", partial(server_model, settings, files.loader, at=now)
            )
            if not isinstance(trust, Unknown):
                reasons.update(trust.reasons)
            servers.append(
                lint_server(
                    server,
                    facts,
                    settings=settings,
                    trust=trust if isinstance(trust, Unknown) else facts_without_client(trust, at=now),
                    reasons=reasons,
                    rules=(lint_rules, server_rules),
                    internal_errors=tuple(observe.errors),
                )
            )
    return LintReport(config=model.config, model=model, servers=tuple(servers), version_assumed=version_assumed)


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
    return ServerLint(
        server=server,
        facts=facts,
        settings=settings,
        trust=trust,
        reasons=reasons,
        internal_errors=internal_errors,
        findings=tuple(ordered_findings(findings)),
        tree=rank(findings),
    )
