"""`mtls-doctor probe HOST[:PORT]...`: a guided live handshake (what s_client shows, explained), and the options
`check --connect` shares. Connects to the targets named and nowhere else."""

from __future__ import annotations

import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from mtls_doctor.cli.options import password_source, rules_option
from mtls_doctor.cli.output import output_option
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import ClientModel

if TYPE_CHECKING:
    from mtls_doctor.diagnosis import Report
    from mtls_doctor.engine.catalogue import Catalogue
    from mtls_doctor.inputs import Inputs
    from mtls_doctor.pki.passwords import Passwords
    from mtls_doctor.probe.handshake import Observation, Request

_F = TypeVar("_F", bound=Callable[..., Any])

CLIENTS = [m.value for m in ClientModel]


def live_options(func: _F) -> _F:
    """The options of a live probe (shared by `probe` and `check --connect`)."""
    options = [
        click.option("--sni", metavar="NAME", help="The SNI name sent (default: the host, unless it is an address)."),
        click.option(
            "--host-header", metavar="HOST", help="The HTTP Host header (default: the SNI name, else the host)."
        ),
        click.option("--path", "url_path", default="/", show_default=True, help="The path requested."),
        click.option("--tls1_2", "tls1_2", is_flag=True, help="Offer TLS 1.2 at most."),
        click.option("--tls1_3", "tls1_3", is_flag=True, help="Offer TLS 1.3 only."),
        click.option(
            "--timeout", type=click.FloatRange(0.1, 600), default=10.0, show_default=True,
            help="One deadline for the whole attempt (seconds).",
        ),
        click.option(
            "--client", "client_name", type=click.Choice(CLIENTS), default="curl", show_default=True,
            help="The client: curl and openssl refuse weak keys and SHA-1 chains, s_client-seclevel0 sends them; "
            "go, java and browser send nothing when no advertised CA name issued the chain.",
        ),
    ]  # fmt: skip
    for option in reversed(options):
        func = option(func)
    return func


def build_request(
    target: str,
    *,
    server_ca: str | None,
    inputs: Inputs,
    passwords: Any,
    credentials: tuple[tuple[Any, ...], Any] | None = None,
    **live: Any,
) -> Request:
    """The probe's request; UsageError for a bad target or contradicting options; InputError for unusable files.
    ``live``: the values of ``live_options``; ``credentials``: the client's chain and key, when already read (the
    same for every target of a probe)."""
    sni: str | None = live["sni"]
    host_header: str | None = live["host_header"]
    url_path: str = live["url_path"]
    tls1_2: bool = live["tls1_2"]
    tls1_3: bool = live["tls1_3"]
    import ipaddress  # noqa: PLC0415

    from mtls_doctor.live import client_credentials  # noqa: PLC0415
    from mtls_doctor.probe.handshake import Request, resolve_target  # noqa: PLC0415

    if tls1_2 and tls1_3:
        raise click.UsageError("--tls1_2 and --tls1_3 exclude each other")
    if not url_path.startswith("/") or any(c.isspace() or ord(c) < 0x20 for c in url_path):
        raise click.BadParameter("must start with / and hold no spaces or control characters", param_hint="--path")
    for value, flag in ((sni, "--sni"), (host_header, "--host-header")):
        if value is not None and (not value or any(c.isspace() or ord(c) < 0x21 or ord(c) > 0x7E for c in value)):
            raise click.BadParameter("must be a host name (printable ASCII, no spaces)", param_hint=flag)
    try:
        host, port = resolve_target(target)
    except ValueError as exc:
        raise click.BadParameter(f"{exc}", param_hint="HOST[:PORT]") from None
    try:
        ipaddress.ip_address(host)
        default_sni = None  # RFC 6066 §3: no literal addresses in SNI
    except ValueError:
        default_sni = host
    chosen_sni = sni if sni is not None else default_sni
    chain, key = credentials if credentials is not None else client_credentials(inputs, passwords)
    return Request(
        host=host,
        port=port,
        sni=chosen_sni,
        host_header=host_header or chosen_sni or (f"[{host}]" if ":" in host else host),
        path=url_path,
        server_ca=server_ca,
        chain=chain,
        key=key,
        client=ClientModel(live["client_name"]),
        max_tls="TLSv1.2" if tls1_2 else None,
        min_tls="TLSv1.3" if tls1_3 else None,
        timeout=live["timeout"],
    )


PROBE_MARKS = {"ok": "✓ ", "bad": "✗ ", "warn": "! ", "info": "  ", "head": ""}


def show(
    report: Report,
    request: Request,
    inputs: Inputs,
    *,
    fmt: str,
    show_all: bool,
    output: str | None = None,
    out: IO[str] | None = None,
) -> None:
    """Print one probe (to ``out``, default stdout; or into the file ``output``): the narration, the equivalent
    commands and the diagnosis (console), the JSON report, or a report for a ticket (markdown, html: the diagnosis,
    then the handshake step by step, then the commands)."""
    from mtls_doctor.cli.output import command_argv, emit  # noqa: PLC0415

    if fmt == "json":
        from mtls_doctor.render.json_report import report_json  # noqa: PLC0415

        document = report_json(report, show_all=show_all)
        if out is not None and output is None:
            out.write(document)
        else:
            emit(document, output)
        return
    if fmt in ("markdown", "html") or output is not None:
        from mtls_doctor.cli.output import print_or_write  # noqa: PLC0415
        from mtls_doctor.probe.commands import curl, s_client  # noqa: PLC0415
        from mtls_doctor.probe.narrate import steps  # noqa: PLC0415
        from mtls_doctor.render.console import report_document  # noqa: PLC0415
        from mtls_doctor.render.document import Blank, Span, para  # noqa: PLC0415
        from mtls_doctor.render.ticket import document_html, document_markdown  # noqa: PLC0415

        doc = report_document(report, show_all=show_all)
        if report.observation is not None:
            narrated = steps(report.observation, report.facts.probe, now=report.facts.clock.local_now)
            doc.add(Blank(), para(Span("The handshake, step by step", "bold")))
            doc.add(*(para(Span(PROBE_MARKS[style] + text)) for style, text in narrated))
        commands = [s_client(request, inputs), curl(request, inputs)]
        if fmt == "console":  # written to a file: the same text as on a terminal, in plain
            doc.add(Blank(), para(Span("The same attempt, by hand:", "bold")), *(para("  " + c) for c in commands))
            print_or_write(doc, output)
            return
        render = document_markdown if fmt == "markdown" else document_html
        argv = command_argv("check" if "--connect" in command_argv("check") else "probe")
        emit(render(doc, title="mtls-doctor probe", argv=argv, commands=commands), output)
        return
    from mtls_doctor.probe.commands import curl, s_client  # noqa: PLC0415
    from mtls_doctor.probe.narrate import print_steps, steps  # noqa: PLC0415
    from mtls_doctor.render.console import report_document  # noqa: PLC0415
    from mtls_doctor.render.document import print_document  # noqa: PLC0415
    from mtls_doctor.untrusted import shown_lines  # noqa: PLC0415

    if report.observation is None:  # every report of a probe has its observation
        raise click.ClickException("internal error: the probe's observation is missing")
    print_steps(steps(report.observation, report.facts.probe, now=report.facts.clock.local_now), out)
    click.echo("\nThe same attempt, by hand:", file=out)
    click.echo("  " + shown_lines(s_client(request, inputs)), file=out)
    click.echo("  " + shown_lines(curl(request, inputs)) + "\n", file=out)
    print_document(report_document(report, show_all=show_all), out)


def live_check(
    inputs: Inputs,
    target: str,
    *,
    passwords: Passwords,
    catalogue: Catalogue,
    with_config: Callable[[Inputs, Observation], Report] | None,
    out: IO[str],
) -> Report:
    """``check --connect TARGET`` (with ``--nginx`` when ``with_config`` is given) at the options' defaults, for
    the wizard: the same request, probe, diagnosis and console output, on ``out``. Only ``target`` is contacted.
    InputError (one line) for a target or a file that cannot be used."""
    from mtls_doctor.errors import InputError  # noqa: PLC0415
    from mtls_doctor.live import connect_report  # noqa: PLC0415

    defaults: dict[str, Any] = {"sni": None, "host_header": None, "url_path": "/", "tls1_2": False, "tls1_3": False}
    try:
        request = build_request(
            target, server_ca=None, inputs=inputs, passwords=passwords, timeout=10.0,
            client_name=inputs.client.value, **defaults,
        )  # fmt: skip
    except click.ClickException as exc:
        raise InputError(target, exc.format_message()) from None
    report = connect_report(
        inputs, request, now=lambda: datetime.now(UTC), passwords=passwords, catalogue=catalogue,
        with_config=with_config,
    )  # fmt: skip
    show(report, request, inputs, fmt="console", show_all=False, out=out)
    return report


@click.command()
@click.argument("targets", nargs=-1, metavar="HOST[:PORT]...")
@click.option(
    "--cert", metavar="FILE", help="Client certificate (PEM, DER, PKCS#7, PKCS#12); leaf first, then its chain."
)
@click.option("--key", metavar="FILE", help="Client private key.")
@click.option("--chain", metavar="FILE", help="Extra certificates the client sends after its cert file.")
@click.option("--password-file", metavar="FILE", help="File whose first line is the key or PKCS#12 password.")
@click.option(
    "--ca",
    "server_ca",
    metavar="FILE",
    help="The CA the SERVER's certificate is checked against (default: the system store).",
)
@click.option("--targets-file", type=click.File("r"), help="A file of targets, one HOST[:PORT] a line.")
@live_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["console", "json", "markdown", "html"]),
    default="console",
    show_default=True,
    help="markdown: a report for a ticket; html: one self-contained page (one target).",
)
@output_option
@click.option("--all", "show_all", is_flag=True, help="Also list the rules that passed or did not apply.")
@rules_option
def probe(
    targets: tuple[str, ...],
    cert: str | None,
    key: str | None,
    chain: str | None,
    password_file: str | None,
    server_ca: str | None,
    targets_file: Any,
    fmt: str,
    output: str | None,
    show_all: bool,
    rules_dirs: tuple[str, ...],
    **live: Any,
) -> int:
    """Probe a live server the way an expert uses openssl s_client, and explain what it saw.

    TCP connect, ClientHello, ServerHello, the server's chain, the CertificateRequest (acceptable CA names,
    signature algorithms), what the client sent, a late TLS 1.3 alert, one HTTP request: the status, the nginx
    page, the server's clock. Several targets are probed concurrently, with one summary table.
    """
    from pathlib import Path  # noqa: PLC0415

    from mtls_doctor.engine.catalogue import load_catalogue  # noqa: PLC0415
    from mtls_doctor.inputs import Inputs  # noqa: PLC0415
    from mtls_doctor.live import client_credentials, connect_report  # noqa: PLC0415

    listed = list(targets)
    if targets_file is not None:
        listed += [line.strip() for line in targets_file if line.strip() and not line.lstrip().startswith("#")]
    if not listed:
        raise click.UsageError("name a target: HOST[:PORT], or --targets-file FILE")
    inputs = Inputs(cert=cert, key=key, chain=chain, password_file=password_file)
    passwords = password_source(password_file)
    catalogue = load_catalogue([Path(d) for d in rules_dirs])
    credentials = client_credentials(inputs, passwords)  # read once, for every target
    requests = [
        build_request(t, server_ca=server_ca, inputs=inputs, passwords=passwords, credentials=credentials, **live)
        for t in listed
    ]
    if len(requests) == 1:
        report = connect_report(
            inputs, requests[0], now=lambda: datetime.now(UTC), passwords=passwords, catalogue=catalogue
        )
        show(report, requests[0], inputs, fmt=fmt, show_all=show_all, output=output)
        return int(report.exit_status)
    if fmt in ("markdown", "html"):
        raise click.UsageError(f"--format {fmt} is a report of one target: probe the targets one at a time")
    from mtls_doctor.facts.loading import Loader  # noqa: PLC0415
    from mtls_doctor.probe.many import concurrently  # noqa: PLC0415

    loader = Loader(strict=True, passwords=passwords)  # the same files for every target (each worker has a copy)

    def summary(request: Request) -> Callable[[], TargetSummary]:
        def job() -> TargetSummary:
            report = connect_report(
                inputs, request, now=lambda: datetime.now(UTC), passwords=passwords, catalogue=catalogue, loader=loader
            )
            return target_summary(report, fmt)

        return job

    summaries = concurrently([summary(r) for r in requests])
    _summary(listed, summaries, fmt)
    return max(s.exit_status for s in summaries)


class TargetSummary(Record):
    """One target's line of a several-target probe: plain data, so that a worker process can send it back."""

    document: dict[str, Any] | None
    """The JSON report (``--format json``)."""
    cells: tuple[str, str, str, str]
    """Outcome, HTTP status, page or alert, the first failing finding (untrusted text: shown at print time)."""
    exit_status: int


def target_summary(report: Report, fmt: str) -> TargetSummary:
    """What the summary of several targets needs from one report."""
    from mtls_doctor.render.json_report import report_document  # noqa: PLC0415

    facts = report.probe_facts
    verdict = report.facts.verdict
    first = next((r.finding for r in report.tree if r.finding.status.value == "fail"), None)
    detail = (facts.page or facts.alert_meaning or facts.failure_detail or "") if facts else ""
    return TargetSummary(
        document=report_document(report) if fmt == "json" else None,
        cells=(
            verdict.outcome.value,
            str(verdict.http_status or "-"),
            detail,
            f"{first.rule.id} {first.rule.title}" if first else "-",
        ),
        exit_status=int(report.exit_status),
    )


def _summary(targets: list[str], summaries: list[TargetSummary], fmt: str) -> None:
    """One table: target, outcome, HTTP status, page or alert, the top finding."""
    import json  # noqa: PLC0415

    from mtls_doctor.render.json_report import SCHEMA_VERSION  # noqa: PLC0415
    from mtls_doctor.untrusted import json_text, shown  # noqa: PLC0415

    if fmt == "json":
        document = {"schema_version": SCHEMA_VERSION, "targets": [s.document for s in summaries]}
        # One line: json's C encoder (indent falls back to the pure-Python one, ~5 ms a target's report).
        sys.stdout.write(json_text(json.dumps(document, ensure_ascii=False)) + "\n")
        return
    from rich.console import Console  # noqa: PLC0415
    from rich.table import Table  # noqa: PLC0415
    from rich.text import Text  # noqa: PLC0415

    table = Table(title="Probed targets")
    for column in ("target", "outcome", "status", "page / alert", "first finding"):
        table.add_column(column)
    for target, one in zip(targets, summaries, strict=True):
        outcome, status, detail, first = one.cells
        table.add_row(Text(shown(target)), Text(outcome), Text(status), Text(shown(detail)[:80]), Text(shown(first)))
    Console(highlight=False).print(table)


COMMANDS = [probe]
