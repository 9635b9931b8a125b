"""The command line. Only click is imported at start-up; a command's module, and what it needs, when it runs.

Errors reach the user as one line: unusable input exits 2 (naming the input), a crash exits 4 (with --traceback
for the details), Ctrl-C exits 130. Never a traceback unless asked for. Each line is printed through
``untrusted.shown`` and ``bounded``: it may quote an argument, a file name or a value read from a file, of any length.
"""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

import click

from mtls_doctor import __version__
from mtls_doctor.cli.options import interactive
from mtls_doctor.exit_status import ExitStatus
from mtls_doctor.gcpause import no_collection_at_exit, paused_gc
from mtls_doctor.untrusted import bounded, shown

EPILOG = """Exit codes: 0 nothing blocking · 1 blocking findings · 2 usage or unusable input ·
3 incomplete (facts missing, nothing blocking) · 4 internal error · 130 interrupted."""


COMMANDS = {
    "check": "check",
    "demo": "samples",
    "explain": "catalogue",
    "inspect": "inspect",
    "lint": "lint",
    "probe": "probe",
    "rules": "catalogue",
    "sample-pki": "samples",
    "wizard": "wizard",
}
"""Each command and the module of mtls_doctor.cli that defines it (in its COMMANDS), imported only when used."""


class _Group(click.Group):
    """Turns every failure into one line and the documented exit code; loads a command's module when it runs."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        module_name = COMMANDS.get(cmd_name)
        if module_name is None:
            return None
        commands: list[click.Command] = importlib.import_module(f"mtls_doctor.cli.{module_name}").COMMANDS
        return next(c for c in commands if c.name == cmd_name)

    def main(  # type: ignore[override]
        self, args: Sequence[str] | None = None, prog_name: str | None = None, **extra: Any
    ) -> NoReturn:
        argv = list(sys.argv[1:] if args is None else args)
        traceback = "--traceback" in argv
        json_out = _json_requested(argv)
        if args is None:  # the process's own command line: the process ends with the command
            no_collection_at_exit()
        try:
            with paused_gc():
                rv = super().main(args, prog_name, standalone_mode=False, **extra)
        except click.exceptions.Abort:
            click.echo("mtls-doctor: interrupted", err=True)
            sys.exit(ExitStatus.INTERRUPTED)
        except click.ClickException as exc:
            # One line, like every other error: click's own show() prints Usage/Try/Error on three.
            message = bounded(shown(" ".join(exc.format_message().split())))
            _error_json(json_out, "usage", message, ExitStatus.USAGE)
            click.echo(f"mtls-doctor: {message} (see --help)", err=True)
            sys.exit(ExitStatus.USAGE)
        except click.exceptions.Exit as exc:
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("mtls-doctor: interrupted", err=True)
            sys.exit(ExitStatus.INTERRUPTED)
        except Exception as exc:
            from mtls_doctor.engine.schema import RuleError  # noqa: PLC0415
            from mtls_doctor.errors import InputError  # noqa: PLC0415

            if isinstance(exc, InputError | RuleError):
                reported = isinstance(exc, InputError) and exc.reported
                _error_json(json_out and not reported, "input", bounded(shown(str(exc))), ExitStatus.USAGE)
                click.echo(f"mtls-doctor: {bounded(shown(str(exc)))}", err=True)
                sys.exit(ExitStatus.USAGE)
            if traceback:
                raise
            message = f"internal error: {type(exc).__name__}: {bounded(shown(str(exc)))}"
            _error_json(json_out, "internal", message, ExitStatus.INTERNAL_ERROR)
            click.echo(f"mtls-doctor: {message} (run again with --traceback and report it)", err=True)
            sys.exit(ExitStatus.INTERNAL_ERROR)
        sys.exit(rv if isinstance(rv, int) else ExitStatus.OK)


def _json_requested(argv: list[str]) -> bool:
    from mtls_doctor.cli.output import json_requested  # noqa: PLC0415

    return json_requested(argv)


def _error_json(wanted: bool, kind: str, message: str, status: ExitStatus) -> None:
    """With --format json, the error as a JSON document on stdout too (the one line still goes to stderr)."""
    if wanted:
        from mtls_doctor.cli.output import error_document  # noqa: PLC0415

        sys.stdout.write(error_document(kind, message, int(status)))
        sys.stdout.flush()


@click.group(cls=_Group, epilog=EPILOG, invoke_without_command=True)
@click.version_option(__version__, prog_name="mtls-doctor")
@click.option("--traceback", is_flag=True, help="Show the Python traceback of an internal error.")
@click.pass_context
def main(ctx: click.Context, traceback: bool) -> int:
    """Find why mutual TLS fails (nginx 400 "The SSL certificate error", unknown ca, ...) and how to fix it."""
    if ctx.invoked_subcommand is None:
        if interactive():  # on a terminal, no command: the wizard asks instead (issue 11)
            from mtls_doctor.cli.wizard import wizard  # noqa: PLC0415

            status: int = ctx.invoke(wizard)
            return status
        click.echo(ctx.get_help())
        click.echo("\nmtls-doctor: no command given (and no terminal to ask on)", err=True)
        return ExitStatus.USAGE
    return ExitStatus.OK
