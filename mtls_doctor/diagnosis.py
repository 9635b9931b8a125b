"""The whole diagnosis: inputs → facts → findings → a ranked report with an exit status."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mtls_doctor.engine.catalogue import Catalogue, load_catalogue
from mtls_doctor.engine.evaluate import evaluate
from mtls_doctor.engine.findings import Finding
from mtls_doctor.engine.ranking import Ranked, annotate, defer_until_start, ordered_and_ranked
from mtls_doctor.engine.schema import Scope
from mtls_doctor.engine.vocabulary import Severity, Status
from mtls_doctor.exit_status import ExitStatus
from mtls_doctor.facts.gather import gather
from mtls_doctor.facts.loading import Loader
from mtls_doctor.facts.model import Facts, ProbeFacts
from mtls_doctor.inputs import Inputs
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import Record
from mtls_doctor.twin.result import TwinFacts
from mtls_doctor.vocabulary import Outcome

if TYPE_CHECKING:
    from mtls_doctor.linting import ServerLint  # the nginx reader is imported only by --nginx
    from mtls_doctor.probe.handshake import Observation


REFUSES_TO_START = "MTLS904"
"""The symptom rule of a server that would not start: the rules that explain it are the start-up causes."""


class Report(Record):
    """Everything a renderer needs."""

    inputs: Inputs
    facts: Facts
    block: ServerLint | None
    """With --nginx: the server block the client was judged against (its lint findings are among ``findings``)."""
    assumptions: tuple[str, ...]
    """What the verdict assumes beyond what was observed (another nginx or OpenSSL than 1.22 / 3.0)."""
    findings: tuple[Finding, ...]
    """Every finding, most useful first."""
    tree: tuple[Ranked, ...]
    """Top-level findings with the symptoms they explain folded under them."""
    internal_errors: tuple[str, ...] = ()
    """Observers that crashed: their facts are UNKNOWN with this reason, and the exit status is 4."""
    observation: Observation | None = None
    """What a live probe saw (``check --connect``)."""

    @property
    def probe_facts(self) -> ProbeFacts | None:
        """The live probe's facts, when there was one."""
        return self.facts.probe

    @property
    def counts(self) -> dict[str, int]:
        """How many findings have each status."""
        tally = Counter(f.status.value for f in self.findings)
        return {s.value: tally.get(s.value, 0) for s in Status}

    @property
    def exit_status(self) -> ExitStatus:
        """0 nothing blocking, 1 blocking, 3 incomplete, 4 a rule or an observer crashed. A live probe's answer is
        itself evidence: a client refused is blocking, and a client served meets no blocking cause, whatever the
        rules a handshake cannot feed (not evaluated) would say."""
        if self.internal_errors:
            return ExitStatus.INTERNAL_ERROR
        outcome = self.facts.verdict.outcome
        status = exit_status_of(
            self.findings,
            unknown_verdict=outcome is Outcome.UNKNOWN,
            served=self.facts.probe is not None and outcome is Outcome.ACCEPT,
        )
        if self.facts.probe is not None and outcome is Outcome.REJECT and status is not ExitStatus.INTERNAL_ERROR:
            return ExitStatus.PROBLEMS_FOUND
        return status


def exit_status_of(findings: Sequence[Finding], *, unknown_verdict: bool = False, served: bool = False) -> ExitStatus:
    """The exit status for a set of findings (precedence 4 > 1 > 3 > 0). ``served``: a live server served this
    client, so no blocking rule left not evaluated can be what blocks it."""
    if any(f.status is Status.ERROR for f in findings):
        return ExitStatus.INTERNAL_ERROR
    if any(f.status is Status.FAIL and f.severity is Severity.BLOCKING for f in findings):
        return ExitStatus.PROBLEMS_FOUND
    if unknown_verdict or (
        not served and any(f.status is Status.NOT_EVALUATED and f.severity is Severity.BLOCKING for f in findings)
    ):
        return ExitStatus.INCOMPLETE
    return ExitStatus.OK


def diagnose(
    inputs: Inputs,
    *,
    now: datetime,
    passwords: Passwords,
    catalogue: Catalogue | None = None,
    rules_dirs: Sequence[Path] = (),
    block: ServerLint | None = None,
    assumptions: tuple[str, ...] = (),
    loader: Loader | None = None,
    observation: Observation | None = None,
) -> Report:
    """Run the whole diagnosis. InputError (exit 2) escapes only for input that cannot be read at all.

    ``block``: the linted nginx server block the server's settings were taken from; its lint findings (what the
    block says beyond its trust settings) join the client's. The trust settings themselves are judged once, by the
    server rules on these facts. ``loader``: the reader that already read the server's files (each file once).
    """
    catalogue = catalogue or load_catalogue(rules_dirs)
    gathered = gather(inputs, now=now, passwords=passwords, loader=loader)
    facts = gathered.facts
    if observation is not None:
        from mtls_doctor.probe.observed import with_observation  # noqa: PLC0415 - only check --connect

        facts = with_observation(facts, observation, gathered.unknown_reasons, now=now)
    rules = catalogue.of_scope(Scope.CHECK, Scope.SERVER)
    findings = [evaluate(rule, facts, gathered.unknown_reasons) for rule in rules]
    if block is not None:
        findings += [f for f in block.findings if f.rule.scope is Scope.LINT]
    seen = facts.twin.errors_seen_codes if isinstance(facts.twin, TwinFacts) else None
    annotated = defer_until_start(annotate(findings, facts.verdict, seen), facts.verdict, REFUSES_TO_START)
    ordered, tree = ordered_and_ranked(annotated)
    return Report(
        inputs=inputs,
        facts=facts,
        block=block,
        assumptions=assumptions,
        findings=ordered,
        tree=tree,
        internal_errors=gathered.internal_errors,
        observation=observation,
    )
