"""Splitting PEM text into blocks and everything between them, with line numbers: nothing is dropped silently."""

from __future__ import annotations

import re

from mtls_doctor.errors import InputError
from mtls_doctor.record import Record

# RFC 7468 labels; OpenSSL also accepts leading whitespace on the encapsulation lines, and (3.0) a UTF-8 byte-order
# mark right before the first BEGIN, as Windows editors write it.
_BOM = b"\xef\xbb\xbf"
_BEGIN = re.compile(rb"^(?:\xef\xbb\xbf)?[ \t]*-----BEGIN ([A-Z0-9 #]+)-----[ \t]*\r?$", re.MULTILINE)
_END = re.compile(rb"^[ \t]*-----END ([A-Z0-9 #]+)-----[ \t]*\r?$", re.MULTILINE)

CERT_LABELS = frozenset({"CERTIFICATE", "X509 CERTIFICATE", "TRUSTED CERTIFICATE"})
KEY_LABELS = frozenset({"PRIVATE KEY", "ENCRYPTED PRIVATE KEY", "RSA PRIVATE KEY", "EC PRIVATE KEY", "DSA PRIVATE KEY"})
CRL_LABELS = frozenset({"X509 CRL"})

_BLANK = b" \t\r\n\xef\xbb\xbf"

_KINDS = {
    "CERTIFICATE REQUEST": "certificate request",
    "NEW CERTIFICATE REQUEST": "certificate request",
    "PUBLIC KEY": "public key",
    "RSA PUBLIC KEY": "public key",
    "OPENSSH PRIVATE KEY": "OpenSSH private key",
    "EC PARAMETERS": "EC parameters",
    "PKCS7": "PKCS#7 bundle",
    "X509 CRL": "CRL",
}


class PemBlock(Record):
    """One ``-----BEGIN X-----`` ... ``-----END X-----`` block, its bytes exactly as written."""

    label: str
    data: bytes
    line: int
    """1-based line of the BEGIN line."""
    position: int
    """1-based position among the file's blocks."""

    @property
    def kind(self) -> str:
        """What a person would call this block."""
        if self.label in KEY_LABELS:
            return "private key"
        if self.label in CERT_LABELS:
            return "certificate"
        return _KINDS.get(self.label, f"'{self.label}' block")


def with_article(kind: str) -> str:
    """``kind`` (a ``PemBlock.kind``) as it reads after "holds": "a private key", "an 'X' block", "EC parameters"."""
    if kind.endswith("parameters") or kind == "text":
        return kind
    first = next((c for c in kind if c.isalpha()), "")
    return f"an {kind}" if first in "aeiouAEIOU" else f"a {kind}"


class Gap(Record):
    """Non-blank text between (or around) PEM blocks."""

    line: int
    lines: int


class PemFile(Record):
    """A PEM file split into its blocks and the text around them."""

    blocks: tuple[PemBlock, ...]
    gaps: tuple[Gap, ...]


def split_pem(data: bytes, *, source: str) -> PemFile:
    """Split PEM ``data`` into blocks and gaps.

    A BEGIN line without its END (a truncated file) or with a mismatched END is an InputError naming the line:
    OpenSSL refuses such files, so guessing would hide the real problem.
    """
    blocks: list[PemBlock] = []
    gaps: list[Gap] = []
    pos = 0
    line = 1
    while True:
        begin = _BEGIN.search(data, pos)
        gap_end = begin.start() if begin else len(data)
        _note_gap(data, pos, gap_end, line, gaps)
        if begin is None:
            break
        begin_line = line + data.count(b"\n", pos, begin.start())
        label = begin.group(1).decode("ascii")
        end = _END.search(data, begin.end())
        nxt = _BEGIN.search(data, begin.end())
        if end is None or (nxt is not None and nxt.start() < end.start()):
            raise InputError(
                source, f"PEM block '{label}' starting here has no END line (truncated file?)", line=begin_line
            )
        end_label = end.group(1).decode("ascii")
        if end_label != label:
            raise InputError(source, f"PEM block 'BEGIN {label}' is closed by 'END {end_label}'", line=begin_line)
        start = begin.start() + (len(_BOM) if data.startswith(_BOM, begin.start()) else 0)
        blocks.append(
            PemBlock(label=label, data=data[start : end.end()] + b"\n", line=begin_line, position=len(blocks) + 1)
        )
        pos = end.end()
        line = begin_line + data.count(b"\n", begin.start(), pos)
    return PemFile(blocks=tuple(blocks), gaps=tuple(gaps))


def _note_gap(data: bytes, start: int, end: int, line: int, gaps: list[Gap]) -> None:
    lines = data[start:end].split(b"\n")
    # A UTF-8 byte-order mark and blank lines are not content worth reporting.
    filled = [i for i, text in enumerate(lines) if text.strip(_BLANK)]
    if filled:
        gaps.append(Gap(line=line + filled[0], lines=filled[-1] - filled[0] + 1))
