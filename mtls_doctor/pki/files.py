"""Reading a user's file: size limit, clear one-line errors, and a first look at what the bytes are."""

from __future__ import annotations

import enum
from pathlib import Path

from mtls_doctor.errors import InputError

MAX_INPUT_BYTES = 10 * 1024 * 1024
"""No certificate, key or CRL file a person hands us is legitimately larger than 10 MB."""


class Encoding(enum.Enum):
    """What a file's bytes look like before any parsing."""

    PEM = "pem"
    DER = "der"
    EMPTY = "empty"
    TEXT = "text"
    BINARY = "binary"


def read_input(path: str, *, what: str) -> bytes:
    """Return the bytes of ``path``; raise InputError naming the file for anything that stops us reading it."""
    p = Path(path)
    try:
        size = p.stat().st_size
    except FileNotFoundError:
        raise InputError(path, f"no such file (expected {what})") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if p.is_dir():
        raise InputError(path, f"is a directory, not a {what} file")
    if size > MAX_INPUT_BYTES:
        raise InputError(path, f"is {size / 1048576:.1f} MB; a {what} file is never that large (limit 10 MB)")
    try:
        with p.open("rb") as f:
            # Read at most one byte past the limit: a file that grows (or a FIFO) cannot make us read forever.
            data = f.read(MAX_INPUT_BYTES + 1)
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(path, f"is larger than 10 MB; a {what} file is never that large")
    return data


def sniff(data: bytes) -> Encoding:
    """Classify bytes as PEM (a BEGIN line anywhere), DER (an ASN.1 SEQUENCE), empty, other text or binary."""
    if not data.strip():
        return Encoding.EMPTY
    if b"-----BEGIN " in data:
        return Encoding.PEM
    if data[0] == 0x30:
        return Encoding.DER
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return Encoding.BINARY
    if "\x00" in text or sum(not (c.isprintable() or c.isspace()) for c in text[:4096]) > 8:
        return Encoding.BINARY
    return Encoding.TEXT
