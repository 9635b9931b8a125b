"""`mtls-doctor check`: will nginx accept this client, and if not, why and how to fix it."""

from __future__ import annotations

import enum
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, TypeVar

import click

from mtls_doctor.cli.options import (
    interactive,
    issuers_option,
    nginx_version_options,
    password_source,
    read_nginx_version,
    rules_option,
)
from mtls_doctor.cli.output import command_argv, emit, output_option, print_or_write
from mtls_doctor.cli.probe import live_options
from mtls_doctor.inputs import DEBIAN_DEFAULT_SECLEVEL, NGINX_DEFAULT_VERIFY_DEPTH, Inputs
from mtls_doctor.vocabulary import ClientModel, OcspMode, VerifyClient

if TYPE_CHECKING:
    from mtls_doctor.diagnosis import Report
    from mtls_doctor.linting import ServerLint
    from mtls_doctor.probe.handshake import Observation

_F = TypeVar("_F", bound=Callable[..., Any])


def _setting(flag: str, kind: click.ParamType[Any], default: object, text: str) -> Callable[[_F], _F]:
    """An option standing for one nginx directive of the server, its default shown."""
    return click.option(flag, type=kind, default=default, show_default=True, help=text)


def _one_of(values: type[enum.Enum]) -> click.Choice[str]:
    """The values of a closed set, as the directive spells them."""
    return click.Choice([m.value for m in values])


@click.command()
@click.option(
    "--cert", metavar="FILE", help="Client certificate (PEM, DER, PKCS#7, PKCS#12); leaf first, then its chain."
)
@click.option("--key", metavar="FILE", help="Client private key (PEM, DER, encrypted PKCS#8 or legacy PEM).")
@click.option("--chain", metavar="FILE", help="Extra certificates the client sends after its cert file.")
@issuers_option("a missing intermediate or CRL", "the inputs' directories")
@click.option("--password-file", metavar="FILE", help="File whose first line is the key or PKCS#12 password.")
@click.option("--ca", metavar="FILE", help="The server's ssl_client_certificate (trusted and advertised).")
@click.option("--trusted", metavar="FILE", help="The server's ssl_trusted_certificate (trusted, not advertised).")
@click.option("--crl", metavar="FILE", multiple=True, help="The server's ssl_crl (repeatable).")
@_setting(
    "--depth",
    click.IntRange(0, 100),
    NGINX_DEFAULT_VERIFY_DEPTH,
    "ssl_verify_depth (nginx's default is 1: one intermediate).",
)
@_setting("--verify-client", _one_of(VerifyClient), "on", "ssl_verify_client.")
@_setting(
    "--seclevel",
    click.IntRange(0, 5),
    DEBIAN_DEFAULT_SECLEVEL,
    "The server's OpenSSL security level (ssl_ciphers ...:@SECLEVEL=n).",
)
@_setting(
    "--ocsp",
    _one_of(OcspMode),
    "off",
    "ssl_ocsp: OCSP checks of the chain (on) or of the client certificate (leaf). No responder is contacted.",
)
@click.option("--ocsp-responder", metavar="URL", help="ssl_ocsp_responder (asked instead of the certificates' own).")
@click.option("--at", "at_text", metavar="TIME", help="The server's clock: 2026-01-31, 2026-01-31T12:00:00Z, +2d, -3h.")
@click.option("--tls", type=click.Choice(["1.2", "1.3"]), default="1.3", show_default=True, help="Highest TLS version.")
@click.option(
    "--openssl",
    type=click.Choice(["1.0", "1.1", "3", "4"]),
    default="3",
    show_default=True,
    help="The OpenSSL generation nginx is linked with.",
)
@click.option("--nginx", "nginx_conf", metavar="CONF|-", help="Take the server side from this nginx configuration.")
@click.option("--server", "server_name", metavar="NAME", help="With --nginx: the server block nginx routes NAME to.")
@click.option("--listen", "listen_port", type=click.IntRange(1, 65535), metavar="PORT", help="With --nginx: the port.")
@click.option("--prefix", metavar="DIR", help="With --nginx: nginx's conf prefix (relative paths resolve there).")
@nginx_version_options
@click.option("--read-files", is_flag=True, help="With a pasted or nginx -T config: its files are on this machine.")
@click.option("--allow-outside", is_flag=True, help="With --nginx: read files outside the configuration's directory.")
@click.option(
    "--connect", metavar="HOST[:PORT]", help="Also probe this live server (only it) and diagnose what it does."
)
@click.option("--server-ca", metavar="FILE", help="With --connect: the CA the SERVER's certificate is checked against.")
@live_options
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["console", "json", "markdown", "html", "sarif"]),
    default="console",
    show_default=True,
    help="markdown: a report for a ticket; html: one self-contained page; sarif: for code scanning.",
)
@output_option
@click.option("--all", "show_all", is_flag=True, help="Also list the rules that passed or did not apply.")
@rules_option
def check(
    cert: str | None,
    key: str | None,
    chain: str | None,
    issuers: tuple[str, ...],
    password_file: str | None,
    ca: str | None,
    trusted: str | None,
    crl: tuple[str, ...],
    depth: int,
    verify_client: str,
    seclevel: int,
    ocsp: str,
    ocsp_responder: str | None,
    at_text: str | None,
    tls: str,
    openssl: str,
    nginx_conf: str | None,
    server_name: str | None,
    listen_port: int | None,
    prefix: str | None,
    nginx_version: str | None,
    nginx_v: str | None,
    read_files: bool,
    allow_outside: bool,
    connect: str | None,
    server_ca: str | None,
    fmt: str,
    output: str | None,
    show_all: bool,
    rules_dirs: tuple[str, ...],
    **live: Any,
) -> int:
    """Diagnose a client certificate against a server's trust settings, offline.

    Runs an in-memory TLS handshake against an OpenSSL server configured the way nginx configures it, and
    explains the result: the verdict nginx gives, the error it logs, the root causes and their fixes.
    """
    from pathlib import Path  # noqa: PLC0415

    from mtls_doctor.clock import parse_time  # noqa: PLC0415
    from mtls_doctor.diagnosis import diagnose  # noqa: PLC0415
    from mtls_doctor.openssl.generations import OpenSSLGeneration  # noqa: PLC0415

    if not (cert or ca or trusted or nginx_conf or connect):
        raise click.UsageError("give the client's --cert (and --key), the server's --ca or --nginx, or both")
    now = datetime.now(UTC)
    try:
        at = parse_time(at_text, now=now) if at_text else None
    except ValueError as exc:
        raise click.BadParameter(str(exc), param_hint="--at") from None
    inputs = Inputs(
        cert=cert,
        key=key,
        chain=chain,
        ca=ca,
        trusted=trusted,
        crls=crl,
        verify_client=VerifyClient(verify_client),
        depth=depth,
        seclevel=seclevel,
        at=at,
        max_tls=f"TLSv{tls}",
        openssl=OpenSSLGeneration(openssl),
        issuers=issuers,
        password_file=password_file,
        ocsp=OcspMode(ocsp),
        ocsp_responder=ocsp_responder,
        client=ClientModel(live["client_name"]),
    )
    rules_paths = [Path(d) for d in rules_dirs]
    passwords = password_source(password_file)

    def with_nginx(given_inputs: Inputs, observation: Observation | None) -> Report:
        from mtls_doctor.cli.nginx_options import server_settings_given  # noqa: PLC0415
        from mtls_doctor.engine.catalogue import load_catalogue  # noqa: PLC0415
        from mtls_doctor.serverblock import check_nginx  # noqa: PLC0415

        source = nginx_conf or "-"
        given = server_settings_given(click.get_current_context())
        if given:
            raise click.UsageError(
                f"--nginx takes the server's settings from the configuration: drop {', '.join(given)}"
            )
        return check_nginx(
            given_inputs,
            source,
            now=now,
            passwords=passwords,
            catalogue=load_catalogue(rules_paths),
            text=sys.stdin.buffer.read() if nginx_conf == "-" else None,
            prefix=Path(prefix) if prefix else None,
            nginx=read_nginx_version(nginx_version, nginx_v),
            read_files=read_files,
            allow_outside=allow_outside,
            server_name=server_name,
            port=listen_port,
            ask=_ask if interactive() else None,
            observation=observation,
        )

    if connect:
        from mtls_doctor.cli.probe import build_request, show  # noqa: PLC0415
        from mtls_doctor.engine.catalogue import load_catalogue  # noqa: PLC0415
        from mtls_doctor.live import connect_report  # noqa: PLC0415

        if not nginx_conf and (ca or trusted or crl):
            raise click.UsageError(
                "--connect learns the server's trust settings from the server (or --nginx): drop --ca, --trusted, --crl"
            )
        request = build_request(connect, server_ca=server_ca, inputs=inputs, passwords=passwords, **live)
        report = connect_report(
            inputs,
            request,
            now=lambda: datetime.now(UTC),
            passwords=passwords,
            catalogue=load_catalogue(rules_paths),
            with_config=with_nginx if nginx_conf else None,
        )
        if fmt != "sarif":
            show(report, request, inputs, fmt=fmt, show_all=show_all, output=output)
            return int(report.exit_status)
    elif nginx_conf:
        report = with_nginx(inputs, None)
    else:
        report = diagnose(inputs, now=now, passwords=passwords, rules_dirs=rules_paths)
    if fmt == "json":
        from mtls_doctor.render.json_report import report_json  # noqa: PLC0415

        emit(report_json(report, show_all=show_all), output)
    elif fmt in ("markdown", "html", "sarif"):
        from mtls_doctor.render import check_formats  # noqa: PLC0415

        argv = command_argv("check")
        if fmt == "markdown":
            emit(check_formats.check_markdown(report, argv, show_all=show_all), output)
        elif fmt == "html":
            emit(check_formats.check_html(report, argv, show_all=show_all), output)
        else:
            emit(check_formats.check_sarif(report), output)
    else:
        from mtls_doctor.render.console import report_document  # noqa: PLC0415

        print_or_write(report_document(report, show_all=show_all), output)
    return int(report.exit_status)


def _ask(candidates: list[ServerLint]) -> ServerLint:
    """Let the person at the terminal pick the server block."""
    import questionary  # noqa: PLC0415 - 120 ms of start-up: only when someone is asked

    choices = [questionary.Choice(str(c.server), value=c) for c in candidates]
    question = questionary.select("Which server block should the client be checked against?", choices=choices)
    chosen: ServerLint = question.unsafe_ask()
    return chosen


COMMANDS = [check]
