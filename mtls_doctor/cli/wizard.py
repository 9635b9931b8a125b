"""`mtls-doctor wizard` (and `mtls-doctor` alone on a terminal): symptom first, a few questions, the verdict."""

from __future__ import annotations

import click

from mtls_doctor.cli.options import interactive

NO_TERMINAL = (
    "mtls-doctor: the wizard asks questions and needs a terminal (stdin and stdout); without one run "
    "mtls-doctor check --cert CLIENT.pem --key CLIENT.key --ca CA.pem (or --nginx nginx.conf), "
    'or mtls-doctor explain "<what you see>"'
)


@click.command()
def wizard() -> int:
    """Ask what you see, then check: at most five questions from the symptom to the verdict."""
    # questionary reads piped stdin as answers: never prompt without a terminal (knowledge §D3).
    if not interactive():
        click.echo(NO_TERMINAL, err=True)
        return 2
    from mtls_doctor.cli.probe import live_check  # noqa: PLC0415
    from mtls_doctor.wizard.asker import Asker  # noqa: PLC0415
    from mtls_doctor.wizard.session import run  # noqa: PLC0415

    return run(Asker(), live=live_check)


COMMANDS = [wizard]
