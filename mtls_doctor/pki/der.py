"""Minimal DER reading: the length of the first TLV, enough to pull a certificate out of OpenSSL's aux formats;
and a short, readable reason out of cryptography's parse errors."""

from __future__ import annotations

import re
import warnings

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm

INPUT_WARNINGS = (
    r"Parsed a serial number which wasn't positive",
    r"PKCS#12 bundle could not be parsed as DER, falling back to parsing as BER",
    r"PKCS#7 certificates could not be parsed as DER, falling back to parsing as BER",
)
"""cryptography's warnings about the *input* (a zero or negative serial number, BER instead of DER), which it still
reads. Python would print them on stderr, breaking the one-line error and cluttering the report; OpenSSL (and so
nginx) reads these files too. Whether they matter is for the diagnosis to say, not for a library warning. Only these
are silenced: warnings about mtls-doctor's own use of cryptography still show."""

READ_ERRORS: tuple[type[Exception], ...] = (
    ValueError,
    UnsupportedAlgorithm,
    x509.InvalidVersion,
    x509.DuplicateExtension,
    x509.UnsupportedGeneralNameType,
)
"""What cryptography raises for certificates and CRLs it cannot read: not only ValueError (an X.509 version out of
range is ``InvalidVersion``, a repeated extension ``DuplicateExtension``, none of them a ValueError)."""

for _message in INPUT_WARNINGS:
    warnings.filterwarnings("ignore", message=_message)

# Patterns compiled (and cached by re) on the first parse error, not on every start.
_PARSE_ERROR = r"ParseError \{ kind: (\w+)"
_LOCATION = r"location: \[([^\]]*)\]"


def first_tlv_length(data: bytes) -> int | None:
    """Total length (header + content) of the first DER element of ``data``; None when it does not fit."""
    if len(data) < 2:
        return None
    first = data[1]
    if first < 0x80:
        total = 2 + first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or len(data) < 2 + count:
            return None
        total = 2 + count + int.from_bytes(data[2 : 2 + count], "big")
    return total if total <= len(data) else None


def reason(exc: BaseException) -> str:
    """cryptography's message for ``exc`` in a few words, for the end of a one-line error.

    Its ASN.1 errors are Rust debug output (``error parsing asn1 value: ParseError { kind: ShortData { needed: 288
    } }``); they become ``malformed DER: ShortData``, with the location when there is one. Other messages keep
    their first sentence, without the FAQ link.
    """
    text = str(exc)
    kind = re.search(_PARSE_ERROR, text)
    if kind:
        where = re.search(_LOCATION, text)
        parts = [p.strip().strip('"') for p in where.group(1).split(",")] if where else []
        at = f" in {'.'.join(p for p in parts if p)}" if any(parts) else ""
        return f"malformed DER: {kind.group(1)}{at}"
    first = re.split(r"\. |\.$| See https?://", text, maxsplit=1)[0].strip()
    return (first or type(exc).__name__)[:120]


RSASSA_PSS_OID = x509.ObjectIdentifier("1.2.840.113549.1.1.10")
"""id-RSASSA-PSS as a key's algorithm (RFC 4055): cryptography reads such a key as plain RSA."""
RSA_PSS_KEY_ALG = bytes.fromhex("300b06092a864886f70d01010a")
"""The key AlgorithmIdentifier id-RSASSA-PSS without parameters (RFC 4055 §3.1), as `openssl genpkey -algorithm
RSA-PSS` writes it. cryptography reads such a key as a plain RSA key, and writes it back as rsaEncryption."""


def children(encoded: bytes) -> list[bytes]:
    """The encoded children of the DER SEQUENCE ``encoded`` (well-formed DER that we made or that parsed)."""
    _, start, end = _header(encoded, 0)
    out = []
    pos = start
    while pos < end:
        _, _content, stop = _header(encoded, pos)
        out.append(encoded[pos:stop])
        pos = stop
    return out


def tlv(tag: int, content: bytes) -> bytes:
    """One DER TLV."""
    n = len(content)
    if n < 0x80:
        return bytes([tag, n]) + content
    size = n.to_bytes((n.bit_length() + 7) // 8, "big")
    return bytes([tag, 0x80 | len(size)]) + size + content


def relabel_pkcs8(pkcs8: bytes, algorithm: bytes) -> bytes:
    """The PKCS#8 PrivateKeyInfo ``pkcs8`` with its privateKeyAlgorithm replaced by ``algorithm`` (RFC 5208 §5:
    version, privateKeyAlgorithm, privateKey): an RSA key made an RSA-PSS key again."""
    parts = children(pkcs8)
    parts[1] = algorithm
    return tlv(0x30, b"".join(parts))


def _header(encoded: bytes, pos: int) -> tuple[int, int, int]:
    tag, first = encoded[pos], encoded[pos + 1]
    if first < 0x80:
        return tag, pos + 2, pos + 2 + first
    count = first & 0x7F
    length = int.from_bytes(encoded[pos + 2 : pos + 2 + count], "big")
    return tag, pos + 2 + count, pos + 2 + count + length
