"""Where a report goes: stdout, or ``--output FILE``; and the JSON error document for ``--format json``.

A file that cannot be written is an unusable input like any other: one line naming it, exit 2.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

import click

_F = TypeVar("_F", bound=Callable[..., Any])


def output_option(function: _F) -> _F:
    """``--output FILE``: write the report there instead of stdout."""
    return click.option("--output", "-o", "output", metavar="FILE", help="Write the report to FILE instead of stdout.")(
        function
    )


def emit(text: str, output: str | None) -> None:
    """Write the report to stdout, or to ``output`` (InputError when it cannot be written)."""
    if output is None:
        sys.stdout.write(text)
        return
    from mtls_doctor.errors import InputError  # noqa: PLC0415

    try:
        with open(output, "w", encoding="utf-8") as handle:
            handle.write(text)
    except OSError as exc:
        raise InputError(output, f"cannot write the report: {exc.strerror or exc}") from None


def json_requested(args: Sequence[str]) -> bool:
    """The command line asks for ``--format json`` (either spelling)."""
    return any(
        a == "--format=json" or (a == "--format" and i + 1 < len(args) and args[i + 1] == "json")
        for i, a in enumerate(args)
    )


def error_document(kind: str, message: str, exit_code: int) -> str:
    """What ``--format json`` prints on stdout when there is no report: CI consumers never parse an empty stdout."""
    from mtls_doctor.untrusted import json_text  # noqa: PLC0415

    document = {"schema_version": 1, "error": {"kind": kind, "message": message, "exit_code": exit_code}}
    import json  # noqa: PLC0415 - 2 ms of start-up, needed only for an error document

    return json_text(json.dumps(document, ensure_ascii=False)) + "\n"


def command_argv(name: str) -> list[str]:
    """This run's command line from the command's name on (what a report prints as its equivalent command)."""
    args = [a for a in sys.argv[1:] if a != "--traceback"]
    return args[args.index(name) :] if name in args else [name]


def print_or_write(document: Any, output: str | None) -> None:
    """A console Document on stdout (rich on a terminal), or as plain text in ``output``."""
    from mtls_doctor.render.document import print_document  # noqa: PLC0415

    if output is None:
        print_document(document)
        return
    import io  # noqa: PLC0415

    buffer = io.StringIO()
    print_document(document, buffer)
    emit(buffer.getvalue(), output)
