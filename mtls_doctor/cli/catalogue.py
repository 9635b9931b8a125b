"""`mtls-doctor rules` (the catalogue, or the runbook) and `mtls-doctor explain THING`."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from mtls_doctor.cli.options import rules_option
from mtls_doctor.untrusted import quoted, shown_lines


@click.command()
@click.option(
    "--format", "fmt", type=click.Choice(["console", "markdown", "json"]), default="console", show_default=True
)
@rules_option
def rules(fmt: str, rules_dirs: tuple[str, ...]) -> int:
    """List the rule catalogue; --format markdown prints the whole support runbook."""
    from mtls_doctor.engine.catalogue import load_catalogue  # noqa: PLC0415

    catalogue = load_catalogue([Path(d) for d in rules_dirs])
    if fmt == "markdown":
        from mtls_doctor.render.runbook import runbook_markdown  # noqa: PLC0415

        sys.stdout.write(shown_lines(runbook_markdown(catalogue)))
    elif fmt == "json":
        import json  # noqa: PLC0415

        from mtls_doctor.render.runbook import catalogue_document, retired_document  # noqa: PLC0415

        document = {"schema_version": 1, "rules": catalogue_document(catalogue), "retired": retired_document(catalogue)}
        sys.stdout.write(json.dumps(document, indent=2) + "\n")
    else:
        from mtls_doctor.render.document import Document, Rows, print_document  # noqa: PLC0415

        rows = tuple((f"{r.id} {r.name}", f"{r.severity.value:9} {r.title}") for r in catalogue.rules)
        print_document(Document([Rows(rows, indent=0)]))
    return 0


@click.command()
@click.argument("thing", nargs=-1, required=True)
@rules_option
def explain(thing: tuple[str, ...], rules_dirs: tuple[str, ...]) -> int:
    """Explain a rule id, a verify error (21, X509_V_ERR_...) or a pasted error line (any client or server).

    \b
    Examples:
      mtls-doctor explain MTLS301
      mtls-doctor explain 21
      mtls-doctor explain "client SSL certificate verify error: (26:unsuitable certificate purpose)"
      mtls-doctor explain "unknown ca"
      mtls-doctor explain "alert 48"     (a bare number is a verify error; an alert number says "alert")
      mtls-doctor explain "Received fatal alert: certificate_required"
    """
    from mtls_doctor.engine.catalogue import load_catalogue  # noqa: PLC0415
    from mtls_doctor.explain import explain as lookup  # noqa: PLC0415
    from mtls_doctor.render.runbook import rule_markdown  # noqa: PLC0415

    text = " ".join(thing)
    catalogue = load_catalogue([Path(d) for d in rules_dirs])
    found = lookup(text, catalogue)
    if found is None:
        click.echo(
            f"mtls-doctor: nothing known about {quoted(text)} "
            "(try a rule id, a verify error number, an error or log line)",
            err=True,
        )
        return 2
    out = [f"# {found.summary}", ""]
    if len(found.rules) == 1:
        out.append(rule_markdown(found.rules[0]))
    elif found.rules:
        out += ["Rules that explain it (`mtls-doctor explain <id>` for one):", ""]
        out += [f"- {r.id} {r.name}: {r.title}" for r in found.rules]
        out.append("")
    else:
        out += ["No rule of the catalogue accounts for it.", ""]
    sys.stdout.write(shown_lines("\n".join(out)) + "\n")
    return 0


COMMANDS = [rules, explain]
