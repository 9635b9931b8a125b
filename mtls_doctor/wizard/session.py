"""One wizard session: the questions, the same pipeline as ``check``, the verdict, then the menu (explain a finding,
re-check after a fix, save a report, print the equivalent command, quit)."""

from __future__ import annotations

import shlex
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING

from mtls_doctor.diagnosis import Report
from mtls_doctor.engine.catalogue import Catalogue, load_catalogue
from mtls_doctor.engine.vocabulary import Status
from mtls_doctor.errors import InputError
from mtls_doctor.inputs import Inputs
from mtls_doctor.untrusted import shown
from mtls_doctor.wizard.asker import Asker, OutOfQuestionsError, password_prompt
from mtls_doctor.wizard.flow import Plan, gather
from mtls_doctor.wizard.probe import LiveCheck
from mtls_doctor.wizard.symptoms import FILTERS_BY_CA_NAMES, Branch, classify

if TYPE_CHECKING:
    from mtls_doctor.linting import ServerLint
    from mtls_doctor.probe.handshake import Observation

_NAMES_RULES = frozenset({"MTLS407", "MTLS702"})


def run(asker: Asker, out: IO[str] | None = None, *, live: LiveCheck | None = None) -> int:
    """The whole session; its exit status is the last check's (0 when only an explanation was given). ``live``:
    the probe run when the person names a server (None: such an answer cannot be probed, and says so)."""
    out = out or sys.stdout
    catalogue = load_catalogue()
    plan = gather(asker, catalogue)
    say = _Say(out)
    if plan.branch is Branch.EXPLAINED:
        say(f"! {plan.meaning}")
        say("No client-certificate check applies to it. Equivalent command:")
        say(f"  mtls-doctor explain {shlex.quote(plan.pasted or '')}")
        return 0
    report = _check(plan, asker, catalogue, say, live)
    status = int(report.exit_status) if report is not None else 2
    while True:
        action = asker.select("Next:", _menu(report), counted=False)
        if action == "quit":
            return status
        if action == "command":
            say(equivalent_command(plan))
        elif action == "explain" and report is not None:
            _explain(asker, report, say)
        elif action == "save" and report is not None:
            _save(asker, plan, report, say)
        elif action == "recheck":
            report = _check(plan, asker, catalogue, say, live)
            status = int(report.exit_status) if report is not None else 2


class _Say:
    """Lines to the person, every one through the sanitiser (names from certificates, pasted text)."""

    def __init__(self, out: IO[str]) -> None:
        self.out = out

    def __call__(self, line: str) -> None:
        self.out.write(shown(line) + "\n")
        self.out.flush()


def _check(plan: Plan, asker: Asker, catalogue: Catalogue, say: _Say, live: LiveCheck | None) -> Report | None:
    """The check pipeline on the answers (``check --connect`` when a server was named), its console report, and
    what the symptom adds to it."""
    from mtls_doctor.pki.passwords import Passwords  # noqa: PLC0415
    from mtls_doctor.render.console import report_document  # noqa: PLC0415
    from mtls_doctor.render.document import print_document  # noqa: PLC0415
    from mtls_doctor.vocabulary import ClientModel  # noqa: PLC0415

    def refused() -> None:
        say("! no question left for the key's password: run the equivalent command with --password-file FILE")

    passwords = Passwords(prompt=password_prompt(asker, refused))
    now = datetime.now(UTC)
    client = ClientModel(plan.client) if plan.client in {m.value for m in ClientModel} else ClientModel.CURL
    ca = None if plan.server_is_nginx else plan.server
    inputs = Inputs(cert=plan.cert, key=plan.key, chain=plan.chain, ca=ca, client=client)
    nginx = plan.server if plan.server_is_nginx else None
    if not (plan.cert or plan.server or plan.server_text or plan.connect):
        say("mtls-doctor: nothing to check: give the client's certificate or the server's configuration")
        return None

    def with_nginx(given: Inputs, observation: Observation | None) -> Report:
        from mtls_doctor.serverblock import check_nginx  # noqa: PLC0415

        text = plan.server_text.encode() if plan.server_text is not None else None
        # A pasted configuration's files are read here (check's --read-files): the person answering is at the
        # machine whose files they name, and without them nothing but "not read" could be said.
        return check_nginx(
            given, nginx or "-", now=now, passwords=passwords, catalogue=catalogue, text=text,
            read_files=text is not None, ask=_block_chooser(asker), observation=observation,
        )  # fmt: skip

    configured = nginx is not None or plan.server_text is not None
    if plan.connect and live is None:
        say(f"(wizard: this session has no live probe: {plan.connect} is not contacted, the check is offline)")
    try:
        if plan.connect and live is not None:
            report = live(
                inputs, plan.connect, passwords=passwords, catalogue=catalogue,
                with_config=with_nginx if configured else None, out=say.out,
            )  # fmt: skip
        elif configured:
            report = with_nginx(inputs, None)
        else:
            from mtls_doctor.diagnosis import diagnose  # noqa: PLC0415

            report = diagnose(inputs, now=now, passwords=passwords, catalogue=catalogue)
    except InputError as exc:
        say(f"mtls-doctor: {exc}")
        return None
    if not (plan.connect and live is not None):
        print_document(report_document(report), say.out)  # the verdict first, as check prints it
    for note in plan.notes:
        say(f"(wizard: {note})")
    _symptom_notes(plan, report, catalogue, say)
    return report


def _block_chooser(asker: Asker) -> Callable[[list[ServerLint]], ServerLint]:
    """Several server blocks verify clients: the person picks one (a counted question; when none is left, check's
    one line lists them and the equivalent command takes --server NAME)."""

    def choose(candidates: list[ServerLint]) -> ServerLint:
        names = ", ".join(str(c.server) for c in candidates)
        try:
            chosen: ServerLint = asker.select(
                "Which server block will the client reach?", [(str(c.server), c) for c in candidates]
            )
        except OutOfQuestionsError:
            raise InputError("the configuration", f"several server blocks verify clients: {names}") from None
        return chosen

    return choose


def _symptom_notes(plan: Plan, report: Report, catalogue: Catalogue, say: _Say) -> None:
    """What the symptom the person saw adds: its meaning, the log line's, and the client's CA-name filtering."""
    if plan.meaning:
        say(f"What you pasted means: {plan.meaning}")
    if plan.log_line:
        _, meaning = classify(plan.log_line, catalogue)
        say(f"The log line means: {meaning or 'nothing the catalogue knows'}")
    if plan.client:
        failing = {f.rule.id for f in report.findings if f.status is Status.FAIL}
        if plan.client in FILTERS_BY_CA_NAMES:
            if failing & _NAMES_RULES:
                say(
                    "This is why nothing arrives: this client chooses its certificate by the CA names the server "
                    f"advertises, and yours reaches none of them ({', '.join(sorted(failing & _NAMES_RULES))})."
                )
            else:
                say("This client filters by the advertised CA names; your chain reaches one of them.")
        else:
            say("This client sends its certificate whatever CA names the server advertises.")


def _menu(report: Report | None) -> list[tuple[str, str]]:
    choices = []
    if report is not None and any(f.status is Status.FAIL for f in report.findings):
        choices.append(("Explain a finding", "explain"))
    choices.append(("Re-check (after a fix)", "recheck"))
    if report is not None:
        choices.append(("Save a report (Markdown)", "save"))
    choices += [("Print the equivalent command", "command"), ("Quit", "quit")]
    return choices


def _explain(asker: Asker, report: Report, say: _Say) -> None:
    from mtls_doctor.render.runbook import rule_markdown  # noqa: PLC0415

    failing = [f for f in report.findings if f.status is Status.FAIL]
    chosen = asker.select("Which finding?", [(f"{f.rule.id} {f.rule.name}", f.rule) for f in failing], counted=False)
    say(rule_markdown(chosen))


def _save(asker: Asker, plan: Plan, report: Report, say: _Say) -> None:
    from mtls_doctor.render.check_formats import check_markdown  # noqa: PLC0415

    target = asker.path("Save the report as:", counted=False) or "mtls-doctor-report.md"
    argv = equivalent_words(plan)[1:]
    try:
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(check_markdown(report, argv))
    except OSError as exc:
        say(f"mtls-doctor: {target}: cannot write the report: {exc.strerror or exc}")
        return
    say(f"Saved {target}")


def equivalent_command(plan: Plan) -> str:
    """The non-interactive command that runs the same check (never a password: --password-file names a file); a
    pasted configuration is read from stdin (``--nginx -``), said so by the redirection."""
    line = " ".join(shlex.quote(w) for w in equivalent_words(plan))
    return line + " < the-configuration-you-pasted.conf" if plan.server_text is not None and not plan.server else line


def equivalent_words(plan: Plan) -> list[str]:
    """The words of the equivalent command."""
    words = ["mtls-doctor", "check"]
    for flag, value in (("--cert", plan.cert), ("--key", plan.key), ("--chain", plan.chain)):
        if value:
            words += [flag, value]
    if plan.connect:
        words += ["--connect", plan.connect]
    if plan.server:
        words += ["--nginx" if plan.server_is_nginx else "--ca", plan.server]
    elif plan.server_text is not None:
        words += ["--nginx", "-", "--read-files"]
    return words
