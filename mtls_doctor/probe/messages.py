"""The handshake as the client saw it: every handshake message and alert (OpenSSL's message callback, decrypted in
TLS 1.3), and the parsers of the two messages that matter for client certificates.

Wire formats: CertificateRequest RFC 5246 §7.4.4 (TLS 1.2) and RFC 8446 §4.3.2 (TLS 1.3); Certificate RFC 5246
§7.4.2 and RFC 8446 §4.4.2. An EMPTY Certificate is 7 bytes in TLS 1.2 and 8 in TLS 1.3 (probe-and-wizard.md §A3).
Everything here reads bytes a server sent: it raises ValueError on anything malformed, never anything else.
"""

from __future__ import annotations

import contextlib
import struct
import time
from typing import Any, Final

from mtls_doctor.openssl.alerts import ALERTS
from mtls_doctor.record import Record

HANDSHAKE_NAMES: Final = {
    0: "HelloRequest", 1: "ClientHello", 2: "ServerHello", 4: "NewSessionTicket", 5: "EndOfEarlyData",
    8: "EncryptedExtensions", 11: "Certificate", 12: "ServerKeyExchange", 13: "CertificateRequest",
    14: "ServerHelloDone", 15: "CertificateVerify", 16: "ClientKeyExchange", 20: "Finished", 24: "KeyUpdate",
}  # fmt: skip

SIGNATURE_SCHEMES: Final = {
    0x0201: "rsa_pkcs1_sha1", 0x0202: "dsa_sha1", 0x0203: "ecdsa_sha1", 0x0301: "rsa_pkcs1_sha224",
    0x0302: "dsa_sha224", 0x0303: "ecdsa_sha224", 0x0401: "rsa_pkcs1_sha256", 0x0402: "dsa_sha256",
    0x0403: "ecdsa_secp256r1_sha256", 0x0501: "rsa_pkcs1_sha384", 0x0502: "dsa_sha384",
    0x0503: "ecdsa_secp384r1_sha384", 0x0601: "rsa_pkcs1_sha512", 0x0602: "dsa_sha512",
    0x0603: "ecdsa_secp521r1_sha512", 0x0804: "rsa_pss_rsae_sha256", 0x0805: "rsa_pss_rsae_sha384",
    0x0806: "rsa_pss_rsae_sha512", 0x0807: "ed25519", 0x0808: "ed448", 0x0809: "rsa_pss_pss_sha256",
    0x080A: "rsa_pss_pss_sha384", 0x080B: "rsa_pss_pss_sha512", 0x081A: "ecdsa_brainpoolP256r1tls13_sha256",
    0x081B: "ecdsa_brainpoolP384r1tls13_sha384", 0x081C: "ecdsa_brainpoolP512r1tls13_sha512",
    0x0904: "mldsa44", 0x0905: "mldsa65", 0x0906: "mldsa87",
}  # fmt: skip
"""IANA TLS SignatureScheme registry (the same list as OpenSSL's s_cb.c)."""

CERTIFICATE_TYPES: Final = {
    1: "rsa_sign", 2: "dss_sign", 3: "rsa_fixed_dh", 4: "dss_fixed_dh", 64: "ecdsa_sign", 65: "rsa_fixed_ecdh",
    66: "ecdsa_fixed_ecdh",
}  # fmt: skip
"""TLS ClientCertificateType (RFC 5246 §7.4.4, RFC 8422 §5.5)."""

SIGNATURE_KEY_TYPES: Final = {"rsa": "rsa", "ecdsa": "ec", "dsa": "dsa", "ed25519": "ed25519", "ed448": "ed448"}
"""The key type a signature scheme signs with, by the scheme's name prefix (rsa_pss_pss: an RSA-PSS key)."""

_HANDSHAKE, _ALERT, _CCS = 22, 21, 20


class Message(Record):
    """One handshake message or alert, as sent (``sent``) or received."""

    at_ms: float
    sent: bool
    kind: str
    """``handshake``, ``alert``, ``ccs``."""
    name: str
    body: bytes = b""
    alert: int | None = None
    fatal: bool = False


class Trace:
    """Collects messages from OpenSSL's message callback. Never raises (it runs inside a C callback)."""

    def __init__(self) -> None:
        self.start = time.monotonic()
        self.messages: list[Message] = []

    def add(self, write_p: int, content_type: int, data: bytes) -> None:
        """One callback: content type 22 handshake (type, 3-byte length, body), 21 alert (level, description),
        20 ChangeCipherSpec; 256 (record header) and 257 (TLS 1.3 inner type) are ignored, as s_cb.c does."""
        ms = (time.monotonic() - self.start) * 1000
        sent = bool(write_p)
        if content_type == _HANDSHAKE and len(data) >= 4:
            name = HANDSHAKE_NAMES.get(data[0], f"handshake type {data[0]}")
            self.messages.append(Message(at_ms=ms, sent=sent, kind="handshake", name=name, body=data[4:]))
        elif content_type == _ALERT and len(data) == 2:
            name = ALERTS.get(data[1], "unassigned")
            self.messages.append(
                Message(at_ms=ms, sent=sent, kind="alert", name=name, alert=data[1], fatal=data[0] == 2)
            )
        elif content_type == _CCS:
            self.messages.append(Message(at_ms=ms, sent=sent, kind="ccs", name="ChangeCipherSpec"))

    def find(self, *, sent: bool, name: str) -> Message | None:
        """The first such message."""
        return next((m for m in self.messages if m.sent is sent and m.name == name), None)

    def alerts_received(self) -> list[Message]:
        """Alerts from the server, close_notify excluded."""
        return [m for m in self.messages if m.kind == "alert" and not m.sent and m.alert != 0]


def install(ctx: Any, trace: Trace) -> object:
    """Install ``trace`` as the message callback of ``ctx`` (before any Connection is made from it: pyOpenSSL 25.1+
    warns on later changes). The returned callback object must be kept alive as long as the context is used."""
    from OpenSSL._util import ffi, lib  # noqa: PLC0415 - private: the cffi binding pyOpenSSL itself uses

    @ffi.callback("void(int, int, int, void *, size_t, SSL *, void *)")  # type: ignore[untyped-decorator]
    def callback(write_p: int, _version: int, content_type: int, buf: Any, length: int, _ssl: Any, _arg: Any) -> None:
        with contextlib.suppress(Exception):  # an exception must never cross the C boundary
            trace.add(write_p, content_type, bytes(ffi.buffer(buf, length)))

    lib.SSL_CTX_set_msg_callback(ctx._context, callback)  # noqa: SLF001
    return callback


class _Reader:
    def __init__(self, data: bytes) -> None:
        self.data, self.i = data, 0

    def take(self, n: int) -> bytes:
        if self.i + n > len(self.data):
            raise ValueError("truncated message")
        out = self.data[self.i : self.i + n]
        self.i += n
        return out

    def number(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def vector(self, length_bytes: int) -> bytes:
        return self.take(self.number(length_bytes))

    def done(self) -> bool:
        return self.i >= len(self.data)


class CertificateRequest(Record):
    """What the server asked of the client certificate."""

    ca_names_der: tuple[bytes, ...]
    """The acceptable CA names (DER DistinguishedNames), in the server's order."""
    signature_algorithms: tuple[str, ...]
    signature_algorithms_cert: tuple[str, ...] | None
    """TLS 1.3's signature_algorithms_cert extension, when sent."""
    certificate_types: tuple[str, ...] | None
    """TLS 1.2 only (the field does not exist in TLS 1.3)."""


def _schemes(raw: bytes) -> tuple[str, ...]:
    if len(raw) % 2:
        raise ValueError("odd-length signature algorithm list")
    return tuple(SIGNATURE_SCHEMES.get(v, f"0x{v:04x}") for (v,) in struct.iter_unpack(">H", raw))


def _names(raw: bytes) -> tuple[bytes, ...]:
    reader, out = _Reader(raw), []
    while not reader.done():
        out.append(reader.vector(2))
    return tuple(out)


def parse_certificate_request(body: bytes, *, tls13: bool) -> CertificateRequest:
    """The CertificateRequest of either TLS version."""
    reader = _Reader(body)
    if not tls13:
        types = tuple(CERTIFICATE_TYPES.get(t, f"type {t}") for t in reader.vector(1))
        algorithms = _schemes(reader.vector(2))
        names = _names(reader.vector(2))
        return CertificateRequest(
            ca_names_der=names, signature_algorithms=algorithms, signature_algorithms_cert=None, certificate_types=types
        )
    reader.vector(1)  # certificate_request_context
    extensions = _Reader(reader.vector(2))
    algorithms = ()
    cert_algorithms: tuple[str, ...] | None = None
    names = ()
    while not extensions.done():
        kind, data = extensions.number(2), extensions.vector(2)
        if kind == 13:  # signature_algorithms
            algorithms = _schemes(_Reader(data).vector(2))
        elif kind == 50:  # signature_algorithms_cert
            cert_algorithms = _schemes(_Reader(data).vector(2))
        elif kind == 47:  # certificate_authorities
            names = _names(_Reader(data).vector(2))
    return CertificateRequest(
        ca_names_der=names, signature_algorithms=algorithms, signature_algorithms_cert=cert_algorithms,
        certificate_types=None,
    )  # fmt: skip


def certificate_count(body: bytes, *, tls13: bool) -> int:
    """How many certificates a Certificate message carries (0: the EMPTY Certificate)."""
    reader = _Reader(body)
    if tls13:
        reader.vector(1)  # certificate_request_context
    entries, count = _Reader(reader.vector(3)), 0
    while not entries.done():
        entries.vector(3)
        if tls13:
            entries.vector(2)  # the entry's extensions
        count += 1
    return count


def key_types_allowed(algorithms: tuple[str, ...]) -> frozenset[str]:
    """The key types (KeyType values) the signature algorithms can sign with."""
    found = set()
    for name in algorithms:
        for prefix, key_type in SIGNATURE_KEY_TYPES.items():
            if name.startswith(prefix):
                found.add(key_type)
    return frozenset(found)
