"""`mtls-doctor inspect FILE...`: what is in a file: certificates in order, purposes, validity, keys, CRLs."""

from __future__ import annotations

import sys
from datetime import UTC, datetime

import click

from mtls_doctor.cli.options import password_source


@click.command()
@click.argument("files", nargs=-1, required=True, metavar="FILE...")
@click.option("--password-file", metavar="FILE", help="File whose first line is the key or PKCS#12 password.")
@click.option("--format", "fmt", type=click.Choice(["console", "json"]), default="console", show_default=True)
@click.option(
    "--all", "show_all", is_flag=True, help="Show every entry of a large file, not its summary (JSON: always)."
)
def inspect(files: tuple[str, ...], password_file: str | None, fmt: str, show_all: bool) -> int:
    """Show what certificate, key and CRL files hold, in order, without printing any key material."""
    from mtls_doctor.facts.files import inspect_file  # noqa: PLC0415

    now = datetime.now(UTC)
    passwords = password_source(password_file)
    items = [inspect_file(path, passwords) for path in files]
    if fmt == "json":
        import json  # noqa: PLC0415

        from mtls_doctor.render.inspection import inspection_document  # noqa: PLC0415
        from mtls_doctor.untrusted import json_text  # noqa: PLC0415

        document = json.dumps(inspection_document(items, now=now), indent=2, ensure_ascii=False)
        sys.stdout.write(json_text(document) + "\n")
    else:
        from mtls_doctor.render.document import print_document  # noqa: PLC0415
        from mtls_doctor.render.inspection import inspection_text  # noqa: PLC0415

        print_document(inspection_text(items, now=now, show_all=show_all))
    return 0


COMMANDS = [inspect]
