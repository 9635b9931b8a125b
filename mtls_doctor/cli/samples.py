"""`mtls-doctor sample-pki DIR` (the scenario PKI, to experiment with) and `mtls-doctor demo` (the seed case)."""

from __future__ import annotations

import shlex
from collections.abc import Callable
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
@click.option("--keep", metavar="DIR", help="Leave the files in DIR (new or empty): every command shown re-runs there.")
@click.option("--no-nginx", is_flag=True, help="Serve with the server twin even when nginx is installed.")
def demo(keep: str | None, no_nginx: bool) -> int:
    """Play the seed case on 127.0.0.1: the failing request, the diagnosis, the fix, the passing request.

    A real nginx serves it when one is installed, else the server twin on a socket (said so). Under 10 seconds;
    nothing is left running.
    """
    from mtls_doctor.demo.play import play  # noqa: PLC0415

    def say(line: str) -> None:
        click.echo(shown(line))

    return play(Path(keep) if keep else None, say, use_nginx=not no_nginx, live=_live_step)


def _live_step(root: Path, target: str, command: str, say: Callable[[str], None]) -> None:
    """``command`` (``mtls-doctor check --connect TARGET --cert … --key …``) run in-process from ``root``, its output
    said line by line: the same text the command prints when run again from ``demo --keep DIR``."""
    import io  # noqa: PLC0415
    import os  # noqa: PLC0415
    import shlex  # noqa: PLC0415

    from mtls_doctor.cli.probe import live_check  # noqa: PLC0415
    from mtls_doctor.engine.catalogue import load_catalogue  # noqa: PLC0415
    from mtls_doctor.inputs import Inputs  # noqa: PLC0415
    from mtls_doctor.pki.passwords import Passwords  # noqa: PLC0415

    argv = shlex.split(command)
    inputs = Inputs(cert=argv[argv.index("--cert") + 1], key=argv[argv.index("--key") + 1])
    buffer = io.StringIO()
    previous = Path.cwd()
    os.chdir(root)  # the paths of the report read as the command was typed, from the demo's directory
    try:
        live_check(inputs, target, passwords=Passwords(), catalogue=load_catalogue(), with_config=None, out=buffer)
    finally:
        os.chdir(previous)
    for line in buffer.getvalue().splitlines():
        say(line)


COMMANDS = [sample_pki, demo]
