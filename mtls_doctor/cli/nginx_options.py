"""Which server-side options a `check` invocation set explicitly (they cannot be combined with --nginx)."""

from __future__ import annotations

import click

SERVER_OPTIONS = (
    "ca", "trusted", "crl", "depth", "verify_client", "seclevel", "tls", "openssl", "ocsp", "ocsp_responder",
)  # fmt: skip


def server_settings_given(ctx: click.Context) -> list[str]:
    """The server-side options given on the command line (not defaulted), as their flags."""
    given = []
    for name in SERVER_OPTIONS:
        if ctx.get_parameter_source(name) is click.core.ParameterSource.COMMANDLINE:
            given.append("--" + name.replace("_", "-"))
    return given
