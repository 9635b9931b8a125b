"""`mtls-doctor sample-pki DIR` (the scenario PKI, to experiment with) and `mtls-doctor demo` (the seed case)."""

from __future__ import annotations

import os
import shlex
import sys
from datetime import UTC, datetime
from pathlib import Path

import click

from mtls_doctor.errors import InputError
from mtls_doctor.untrusted import shown


@click.command("sample-pki")
@click.argument("directory", metavar="DIR")
@click.option("--list", "list_only", is_flag=True, help="Only list the scenarios.")
def sample_pki(directory: str, list_only: bool) -> int:
    """Write the sample PKI (one-defect scenarios, each ready for `mtls-doctor check`) into DIR.

    The keys are derived from public names: test material only.
    """
    from mtls_doctor.samplepki.inputs import check_command, scenario_inputs  # noqa: PLC0415
    from mtls_doctor.samplepki.manifest import default_manifest_path, load_manifest  # noqa: PLC0415
    from mtls_doctor.samplepki.write import render, write  # noqa: PLC0415

    manifest_path = default_manifest_path()
    manifest = load_manifest(manifest_path)
    if list_only:
        for sc in manifest.scenarios.values():
            click.echo(f"{sc.name:45} {sc.description}")
        return 0
    dest = Path(directory)
    if dest.exists() and not dest.is_dir():
        raise InputError(directory, "exists and is not a directory")
    if dest.is_dir() and any(dest.iterdir()) and not (dest / "MANIFEST.toml").is_file():
        raise InputError(directory, "is not empty (give a new or empty directory)")
    files = render(manifest, manifest_path.read_bytes())
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:  # under a regular file, on a read-only file system, no permission
        raise InputError(directory, f"cannot be created ({exc.strerror or exc})") from None
    try:
        write(dest, files)
    except OSError as exc:  # the disk filled up, a file of the same name is read-only
        raise InputError(str(exc.filename or directory), f"cannot be written ({exc.strerror or exc})") from None
    seed = manifest.scenarios["seed-missing-intermediate"]
    # The directory is the user's text: quoted for the shell, so the commands shown run as written.
    shown_dest = shown(shlex.quote(directory))
    click.echo(f"wrote {len(files)} files, {len(manifest.scenarios)} scenarios, to {shown_dest}")
    click.echo("each directory under scenarios/ is one defect; for example the seed case:")
    click.echo(f"  cd {shown_dest} && {check_command(scenario_inputs(Path('.'), seed))}")
    click.echo(f"list them with: mtls-doctor sample-pki --list {shown_dest}")
    return 0


@click.command()
def demo() -> int:
    """Reproduce the seed case (a client certificate from an intermediate CA, nginx answering 400) and its fix."""
    import tempfile  # noqa: PLC0415

    from mtls_doctor.diagnosis import diagnose  # noqa: PLC0415
    from mtls_doctor.pki.passwords import Passwords  # noqa: PLC0415
    from mtls_doctor.record import replace  # noqa: PLC0415
    from mtls_doctor.render.console import report_document  # noqa: PLC0415
    from mtls_doctor.render.document import Document, Pre, Span, para, print_document  # noqa: PLC0415
    from mtls_doctor.samplepki.inputs import check_command, scenario_inputs  # noqa: PLC0415
    from mtls_doctor.samplepki.manifest import default_manifest_path, load_manifest  # noqa: PLC0415
    from mtls_doctor.samplepki.write import render, write  # noqa: PLC0415

    manifest_path = default_manifest_path()
    manifest = load_manifest(manifest_path)
    now = datetime.now(UTC)
    with tempfile.TemporaryDirectory(prefix="mtls-doctor-demo-") as tmp:
        # Work from inside the sample PKI so that paths (and the fix commands built from them) read
        # scenarios/<name>/client.pem, as they would after `mtls-doctor sample-pki DIR && cd DIR`.
        write(Path(tmp), render(manifest, manifest_path.read_bytes()))
        previous = Path.cwd()
        os.chdir(tmp)
        root = Path()
        steps = (
            (
                "seed-missing-intermediate",
                "The seed case: alice's certificate was issued by an intermediate CA. nginx has ssl_verify_client on, "
                "the default ssl_verify_depth 1, and trusts only the root (ssl_client_certificate). The client sends "
                'its certificate alone, and every request gets 400 "The SSL certificate error".',
            ),
            (
                "seed-missing-intermediate-depth-2",
                "The popular advice, ssl_verify_depth 2, changes nothing: the intermediate is still nowhere.",
            ),
            (
                "good-chain",
                "The fix, as the first step printed it: the client sends its intermediate after its certificate "
                "(scenarios/good-chain/client.pem is exactly scenarios/seed-missing-intermediate/client.pem followed "
                "by certs/client-issuing.pem).",
            ),
            (
                "leaf-eku-serverauth",
                "The seed case's other root cause: a certificate made with a server profile (EKU serverAuth only).",
            ),
        )
        worst = 0
        for name, story in steps:
            # The sample PKI keeps its CA certificates in certs/, as an openssl-ca directory keeps them apart from
            # the client's files: --issuers lets the fix name the intermediate's file.
            inputs = replace(scenario_inputs(root, manifest.scenarios[name]), issuers=(str(root / "certs"),))
            intro = Document(
                [
                    para(Span(f"━━ {name} ━━", "bold")),
                    para(story),
                    Pre(f"$ {check_command(inputs, relative_to=root)}", "dim"),
                ]
            )
            print_document(intro)
            report = diagnose(inputs, now=now, passwords=Passwords())
            print_document(report_document(report))
            print_document(Document([para("")]))
            worst = max(worst, int(report.exit_status) if name == "good-chain" else 0)
        os.chdir(previous)
    print_document(
        Document(
            [
                para("Run it on your own files: mtls-doctor check --cert client.pem --key client.key --ca ca.pem"),
                para("or write every scenario to experiment with: mtls-doctor sample-pki DIR"),
            ]
        )
    )
    sys.stdout.flush()
    return worst


COMMANDS = [sample_pki, demo]
