"""Reading a user's file: size limit, clear one-line errors, and a first look at what the bytes are."""

from __future__ import annotations

import enum
import os
import re
import stat

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


def stat_input(path: str, *, what: str) -> os.stat_result:
    """``path``'s status, once it is known to be a file we can read; InputError naming the file otherwise.

    Refused before anything opens it: a missing file, a directory, and anything that is not a regular file (a
    named pipe, whose ``open`` blocks until someone writes to it; a socket; a device such as ``/dev/zero``). A pipe
    the shell hands over as a descriptor (``<(pass show key)`` is ``/dev/fd/63``) is already open, and is allowed.
    """
    try:
        st = os.stat(path)
    except FileNotFoundError:
        raise InputError(path, f"no such file (expected {_a(what)} file)") from None
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    except ValueError:  # an embedded NUL byte: no such name can exist
        raise InputError(path, f"no such file (expected {_a(what)} file)") from None
    if stat.S_ISDIR(st.st_mode):
        raise InputError(path, f"is a directory, not {_a(what)} file")
    if not (stat.S_ISREG(st.st_mode) or (stat.S_ISFIFO(st.st_mode) and re.fullmatch(_DESCRIPTOR, path))):
        raise InputError(path, f"is not a regular file ({special_kind(st.st_mode)}; give {_a(what)} file)")
    return st


_DESCRIPTOR = r"/dev/fd/\d+|/proc/self/fd/\d+|/dev/stdin"
"""Paths naming a descriptor this process was given (process substitution, ``/dev/stdin``)."""


def special_kind(mode: int) -> str:
    """What a file that is not a regular file is, for "is not a regular file (a named pipe)"."""
    if stat.S_ISDIR(mode):
        return "a directory"
    if stat.S_ISFIFO(mode):
        return "a named pipe"
    if stat.S_ISSOCK(mode):
        return "a socket"
    return "a device" if stat.S_ISCHR(mode) or stat.S_ISBLK(mode) else "not a file"


def read_input(path: str, *, what: str) -> bytes:
    """Return the bytes of ``path``; raise InputError naming the file for anything that stops us reading it.

    Never hangs: ``stat_input`` refuses what is not a regular file (but a pipe from the shell), and at most 10 MB
    (+1 byte) is read from anything (a growing file, a pipe). A pipe is read as usual, once.
    """
    st = stat_input(path, what=what)
    if st.st_size > MAX_INPUT_BYTES:
        raise InputError(path, f"is {st.st_size / 1048576:.1f} MB; {_a(what)} file is never that large (limit 10 MB)")
    try:
        if stat.S_ISREG(st.st_mode):
            with open(path, "rb") as f:
                # Read at most one byte past the limit: a file that grows cannot make us read forever.
                data = f.read(MAX_INPUT_BYTES + 1)
        else:
            data = _read_special(path, (path, st.st_dev, st.st_ino))
    except PermissionError:
        raise InputError(path, "permission denied") from None
    except OSError as exc:
        raise InputError(path, f"cannot read: {exc.strerror or exc}") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InputError(path, f"is larger than 10 MB; {_a(what)} file is never that large")
    return data


_PIPES_READ: dict[tuple[str, int, int], bytes] = {}
"""What each pipe gave, by path and inode: a pipe can be read once, and
`inspect <(cat a.pem)` reads its file twice (a first look, then the reader). The inode tells a new pipe that reuses
a file descriptor number (``/dev/fd/63``) from the old one. Only files within the size limit are kept."""


def _read_special(path: str, identity: tuple[str, int, int]) -> bytes:
    """Read a pipe: open without blocking (should its writer be gone, ``open`` would block forever), then read in
    blocking mode up to the limit. A second read of the same pipe gives what the first one got."""
    if identity in _PIPES_READ:
        return _PIPES_READ[identity]
    fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
    try:
        os.set_blocking(fd, True)
        chunks: list[bytes] = []
        size = 0
        while size <= MAX_INPUT_BYTES:
            chunk = os.read(fd, min(1 << 20, MAX_INPUT_BYTES + 1 - size))
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    if len(data) <= MAX_INPUT_BYTES:
        _PIPES_READ[identity] = data
    return data


def _a(what: str) -> str:
    return f"an {what}" if what[:1].lower() in "aeio" else f"a {what}"


def binary_problem(data: bytes, not_what: str) -> str:
    """The problem of ``data`` that is neither PEM nor DER, for a message: "is binary data that is not ``not_what``".

    UTF-16 text (a PEM file re-saved by a Windows tool) gets its own words, since the fix is to save it again.
    """
    if data[:2] in (b"\xff\xfe", b"\xfe\xff"):
        return "is UTF-16 text, which OpenSSL cannot read: save it again as ASCII (PEM is plain ASCII text)"
    return f"is binary data that is not {not_what}"


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


class Content(enum.Enum):
    """What a file mainly holds."""

    CERTIFICATES = "certificates"
    PRIVATE_KEY = "private key"
    CRL = "CRL"
    UNKNOWN = "unknown"


def content_of(data: bytes) -> Content:
    """Certificates win over keys and CRLs (a cert+key PEM is a certificate file to curl); PKCS#12 and unknown DER
    count as certificates so the certificate reader gives the precise error."""
    from cryptography import x509  # noqa: PLC0415 - keep `files` import-light
    from cryptography.exceptions import UnsupportedAlgorithm  # noqa: PLC0415
    from cryptography.hazmat.primitives import serialization  # noqa: PLC0415

    from mtls_doctor.pki.der import READ_ERRORS  # noqa: PLC0415

    encoding = sniff(data)
    if encoding is Encoding.PEM:
        labels = set(re.findall(rb"-----BEGIN ([A-Z0-9 #]+)-----", data))
        if labels & {b"CERTIFICATE", b"X509 CERTIFICATE", b"TRUSTED CERTIFICATE", b"PKCS7"}:
            return Content.CERTIFICATES
        if any(label.endswith(b"PRIVATE KEY") for label in labels):
            return Content.PRIVATE_KEY
        return Content.CRL if b"X509 CRL" in labels else Content.UNKNOWN
    if encoding is Encoding.DER:
        try:
            x509.load_der_x509_crl(data)
        except x509.InvalidVersion:
            return Content.CRL  # shaped like a CRL: the CRL reader says what is wrong with it
        except READ_ERRORS:
            pass
        else:
            return Content.CRL
        try:
            serialization.load_der_private_key(data, None)
        except (TypeError, UnsupportedAlgorithm):
            return Content.PRIVATE_KEY  # encrypted, or of a kind the key reader names
        except ValueError:
            return Content.CERTIFICATES
        return Content.PRIVATE_KEY
    return Content.UNKNOWN
