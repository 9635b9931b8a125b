"""`mtls-doctor lint CONF|-`: every mTLS mistake in an nginx configuration, each pointing at file:line."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from mtls_doctor.cli.options import issuers_option, nginx_version_options, read_nginx_version, rules_option
from mtls_doctor.cli.output import command_argv, emit, output_option, print_or_write

FAIL_ON = ("blocking", "degraded", "advisory", "info", "never")


@click.command()
@click.argument("conf", metavar="CONF|-")
@click.option("--prefix", metavar="DIR", help="nginx's conf prefix: where relative includes and files resolve.")
@nginx_version_options
@click.option(
    "--read-files/--no-read-files",
    default=None,
    help="Read the certificate/CA/CRL files the config names (default: only for a config file read from disk).",
)
@click.option("--allow-outside", is_flag=True, help="Also read files outside the configuration's directory.")
@issuers_option("a missing root or CRL", "the directories of the server's files")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["console", "json", "sarif", "markdown", "html"]),
    default="console",
    show_default=True,
)
@output_option
@click.option(
    "--fail-on",
    type=click.Choice(FAIL_ON),
    default="blocking",
    show_default=True,
    help="Exit 1 when a finding at this severity or above fails.",
)
@click.option(
    "--all", "show_all", is_flag=True, help="Also list the rules that passed, did not apply or could not run."
)
@rules_option
def lint(
    conf: str,
    prefix: str | None,
    nginx_version: str | None,
    nginx_v: str | None,
    read_files: bool | None,
    allow_outside: bool,
    issuers: tuple[str, ...],
    fmt: str,
    output: str | None,
    fail_on: str,
    show_all: bool,
    rules_dirs: tuple[str, ...],
) -> int:
    """Lint an nginx configuration for mutual-TLS mistakes: a file, - for stdin, an `nginx -T` dump, or a bare
    `server { }` block.

    \b
    Examples:
      mtls-doctor lint /etc/nginx/nginx.conf
      nginx -T 2>&1 | mtls-doctor lint - --read-files
      mtls-doctor lint site.conf --format sarif > mtls.sarif
    """
    from pathlib import Path  # noqa: PLC0415

    from mtls_doctor.engine.vocabulary import Severity  # noqa: PLC0415
    from mtls_doctor.linting import lint_config  # noqa: PLC0415

    text = sys.stdin.buffer.read() if conf == "-" else None
    report = lint_config(
        conf,
        now=datetime.now(UTC),
        text=text,
        prefix=Path(prefix) if prefix else None,
        nginx=read_nginx_version(nginx_version, nginx_v),
        read_files=read_files,
        allow_outside=allow_outside,
        rules_dirs=[Path(d) for d in rules_dirs],
        parse_errors_as_findings=fmt != "console",
        issuers=[Path(p) for p in issuers],
    )
    if fmt == "json":
        from mtls_doctor.render.lint_report import lint_json  # noqa: PLC0415

        emit(lint_json(report, show_all=show_all), output)
    elif fmt == "sarif":
        from mtls_doctor.render.lint_report import lint_sarif  # noqa: PLC0415

        emit(lint_sarif(report), output)
    elif fmt in ("markdown", "html"):
        from mtls_doctor.render.lint_report import lint_text  # noqa: PLC0415
        from mtls_doctor.render.ticket import document_html, document_markdown  # noqa: PLC0415

        render = document_markdown if fmt == "markdown" else document_html
        emit(render(lint_text(report, show_all=show_all), title="mtls-doctor lint", argv=command_argv("lint")), output)
    else:
        from mtls_doctor.render.lint_report import lint_text  # noqa: PLC0415

        print_or_write(lint_text(report, show_all=show_all), output)
    if report.parse_error is not None:
        # The one line on stderr and exit 2, after the document that holds it as a finding (so no error document).
        report.parse_error.reported = fmt != "console"
        raise report.parse_error
    return int(report.exit_status(None if fail_on == "never" else Severity(fail_on)))


COMMANDS = [lint]
