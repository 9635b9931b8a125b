"""Private keys: PEM (PKCS#8, encrypted PKCS#8, legacy encrypted PEM), DER, PKCS#12.

The key object stays in memory for the handshake; nothing here ever puts key material in a message.
"""

from __future__ import annotations

import base64
import re
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from mtls_doctor.errors import InputError
from mtls_doctor.pki import der
from mtls_doctor.pki.files import Encoding, binary_problem, read_input, sniff
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.pki.pem import CERT_LABELS, KEY_LABELS, PemBlock, split_pem, with_article
from mtls_doctor.pki.pfx import open_pkcs12
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import Origin

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PrivateKeyTypes
    from OpenSSL import SSL

SigningKey = (
    rsa.RSAPrivateKey
    | ec.EllipticCurvePrivateKey
    | dsa.DSAPrivateKey
    | ed25519.Ed25519PrivateKey
    | ed448.Ed448PrivateKey
)


_PROC_TYPE_ENCRYPTED = re.compile(rb"^[ \t]*Proc-Type:[ \t]*4[ \t]*,[ \t]*ENCRYPTED", re.MULTILINE)
"""The legacy encrypted PEM header (RFC 1421), however it is spaced."""


class LoadedKey(Record):
    """A private key and where it came from. ``repr`` never shows the key."""

    key: SigningKey
    origin: Origin
    encrypted: bool
    pss: bool = False
    """An unencrypted PKCS#8 key labelled id-RSASSA-PSS (cryptography reads it as plain RSA)."""

    def __repr__(self) -> str:
        return f"LoadedKey(origin={self.origin!r}, encrypted={self.encrypted})"


def load_key_file(path: str, passwords: Passwords) -> LoadedKey:
    """Read the private key of ``path`` (decrypting it if needed); InputError/PasswordError otherwise."""
    data = read_input(path, what="private key")
    encoding = sniff(data)
    if encoding is Encoding.EMPTY:
        raise InputError(path, "is empty (expected a private key)")
    if encoding is Encoding.PEM:
        pem = split_pem(data, source=path)
        keys = [b for b in pem.blocks if b.label in KEY_LABELS]
        if keys:
            return load_pem_key_block(keys[0], path, passwords)
        if any(b.label in CERT_LABELS for b in pem.blocks):
            raise InputError(path, "holds a certificate, not a private key (expected the client's key)")
        if any(b.label == "OPENSSH PRIVATE KEY" for b in pem.blocks):
            raise InputError(
                path,
                "holds an OpenSSH private key (ssh-keygen's own format), which TLS cannot use: "
                "expected -----BEGIN PRIVATE KEY----- (PKCS#8)",
            )
        if not pem.blocks:
            raise InputError(path, "holds no PEM block that can be read (expected -----BEGIN PRIVATE KEY-----)")
        kinds = " and ".join(with_article(k) for k in sorted({b.kind for b in pem.blocks}))
        raise InputError(path, f"holds {kinds}, not a private key")
    if encoding is Encoding.DER:
        return _from_der(path, data, passwords)
    if encoding is Encoding.TEXT:
        raise InputError(path, "holds no PEM block (expected -----BEGIN PRIVATE KEY-----)")
    raise InputError(path, binary_problem(data, "a private key (not PEM, DER or PKCS#12)"))


def load_pem_key_block(block: PemBlock, path: str, passwords: Passwords) -> LoadedKey:
    """Parse one PEM key block, asking for its password only when it is encrypted."""
    encrypted = block.label == "ENCRYPTED PRIVATE KEY" or _PROC_TYPE_ENCRYPTED.search(block.data) is not None
    key, encrypted = _load_pem_key(block, path, passwords, encrypted=encrypted)
    return LoadedKey(
        key=signing_key(key, path),
        origin=Origin(source=path, block=block.position, line=block.line),
        encrypted=encrypted,
        pss=block.label == "PRIVATE KEY" and _labelled_pss(block.data),
    )


def _labelled_pss(pem: bytes) -> bool:
    """The PKCS#8 PrivateKeyInfo of ``pem`` names id-RSASSA-PSS as its algorithm (RFC 5208 §5: version, then the
    AlgorithmIdentifier), as `openssl genpkey -algorithm RSA-PSS` writes it."""
    body = b"".join(line for line in pem.splitlines() if line and not line.startswith(b"-----"))
    try:
        head = base64.b64decode(body[:64], validate=False)
    except ValueError:
        return False
    # SEQUENCE header (2-4 bytes), INTEGER 0 (3 bytes), then the AlgorithmIdentifier
    return der.RSA_PSS_KEY_ALG in head[:24]


def _load_pem_key(block: PemBlock, path: str, passwords: Passwords, *, encrypted: bool) -> tuple[PrivateKeyTypes, bool]:
    """The key of ``block`` and whether it was encrypted (cryptography has the last word on that)."""
    password = None
    if encrypted:
        password = passwords.get(path)
        if password is None:
            raise passwords.missing(path, "private key")
    try:
        return serialization.load_pem_private_key(block.data, password), encrypted
    except TypeError:
        if not encrypted:
            # Encrypted although its headers did not say so in the usual way: ask for the password after all.
            return _load_pem_key(block, path, passwords, encrypted=True)
        if password == b"":
            # cryptography takes an empty password for no password at all.
            raise passwords.wrong(path, "private key") from None
        # Not encrypted after all, although it looked so: read it without the password.
        return _retry_plain(block.data, path, line=block.line), False
    except ValueError as exc:
        if encrypted and _after_decryption(exc):
            raise passwords.wrong(path, "private key", or_corrupt=not _is_wrong_password(exc)) from None
        state = "encrypted private key" if encrypted else "private key"
        why = "its base64 is corrupt" if "Unable to load PEM" in str(exc) else _reason(exc)
        raise InputError(path, f"{state} block is corrupt ({why})", line=block.line) from None
    except UnsupportedAlgorithm as exc:
        raise InputError(path, f"private key uses an unsupported algorithm ({_reason(exc)})", line=block.line) from None


def _is_wrong_password(exc: ValueError) -> bool:
    """cryptography says "Incorrect password" when the decrypted bytes are not correctly padded."""
    return "incorrect password" in str(exc).lower()


def _after_decryption(exc: ValueError) -> bool:
    """The error came from decrypting (or parsing what decryption gave): the password may be at fault.

    About one wrong password in 250 decrypts to correctly padded garbage, which cryptography then reports as
    "Could not deserialize key data", exactly as for a corrupt key: that case blames the password *or* the data.
    Errors before decryption (bad base64, a bad DEK-Info header, an unknown cipher) are the file's alone.
    """
    text = str(exc).lower()
    return "incorrect password" in text or "could not deserialize" in text


def _retry_plain(data: bytes, path: str, *, line: int | None) -> PrivateKeyTypes:
    try:
        return serialization.load_pem_private_key(data, None)
    except (TypeError, ValueError, UnsupportedAlgorithm) as exc:
        raise InputError(path, f"private key block cannot be read ({_reason(exc)})", line=line) from None


def _from_der(path: str, data: bytes, passwords: Passwords) -> LoadedKey:
    origin = Origin(source=path)
    try:
        return LoadedKey(
            key=signing_key(serialization.load_der_private_key(data, None), path), origin=origin, encrypted=False
        )
    except TypeError:
        password = passwords.get(path)
        if password is None:
            raise passwords.missing(path, "private key") from None
        try:
            key = serialization.load_der_private_key(data, password)
        except TypeError:  # an empty password counts as none
            raise passwords.wrong(path, "private key") from None
        except ValueError as exc:
            if _after_decryption(exc):
                raise passwords.wrong(path, "private key", or_corrupt=not _is_wrong_password(exc)) from None
            raise InputError(path, f"encrypted DER private key is corrupt ({_reason(exc)})") from None
        except UnsupportedAlgorithm as exc:
            raise InputError(path, f"private key uses an unsupported algorithm ({_reason(exc)})") from None
        return LoadedKey(key=signing_key(key, path), origin=origin, encrypted=True)
    except ValueError:
        pass
    except UnsupportedAlgorithm as exc:
        raise InputError(path, f"private key uses an unsupported algorithm ({_reason(exc)})") from None
    opened = open_pkcs12(path, data, passwords)
    if opened is None:
        raise InputError(path, f"{_der_kind(data)}, not a private key (expected the client's key)")
    loaded, encrypted = opened
    if loaded.key is None:
        raise InputError(path, "is a PKCS#12 file without a private key")
    return LoadedKey(key=signing_key(loaded.key, path), origin=origin, encrypted=encrypted)


def _der_kind(data: bytes) -> str:
    """What DER ``data`` that is not a key holds, as "is/holds ..." for a message."""
    for kind, load in (
        ("holds a certificate (DER)", x509.load_der_x509_certificate),
        ("holds a CRL (DER)", x509.load_der_x509_crl),
    ):
        try:
            load(data)
        except der.READ_ERRORS:
            continue
        return kind
    return "is DER data that cannot be read (corrupt or truncated?)"


def looks_like_der_key(data: bytes) -> bool:
    """True when ``data`` parses as an (unencrypted or encrypted) DER private key."""
    try:
        serialization.load_der_private_key(data, None)
    except TypeError:
        return True
    except (ValueError, UnsupportedAlgorithm):
        return False
    return True


def signing_key(key: PrivateKeyTypes, path: str) -> SigningKey:
    """``key`` as a key that can sign a TLS CertificateVerify; InputError for X25519 and the like."""
    if isinstance(key, rsa.RSAPrivateKey | ec.EllipticCurvePrivateKey | dsa.DSAPrivateKey):
        return key
    if isinstance(key, ed25519.Ed25519PrivateKey | ed448.Ed448PrivateKey):
        return key
    name = type(key).__name__.removesuffix("PrivateKey").removeprefix("_")
    raise InputError(
        path, f"holds {'an' if name[:1] in 'AEIOX' else 'a'} {name} key, which cannot sign a TLS handshake"
    )


def _reason(exc: Exception) -> str:
    # cryptography's messages can carry Rust debug output or a FAQ link: a few words only.
    return der.reason(exc)


def use_key(target: SSL.Context | SSL.Connection, key: SigningKey, leaf: x509.Certificate) -> None:
    """Give ``target`` the private key of ``leaf`` as OpenSSL must hold it: cryptography reads an RSA-PSS key
    (id-RSASSA-PSS) as plain RSA, and an rsaEncryption key does not match an RSA-PSS certificate, so the client
    would send no certificate at all. Such a key is handed over relabelled id-RSASSA-PSS, as its file said (nginx
    accepts it: observed, sample_pki scenarios rsa-pss-client*)."""
    import warnings  # noqa: PLC0415

    from OpenSSL import crypto  # noqa: PLC0415 - pyOpenSSL only where a handshake runs

    if not isinstance(key, rsa.RSAPrivateKey) or leaf.public_key_algorithm_oid != der.RSASSA_PSS_OID:
        target.use_privatekey(key)
        return
    pkcs8 = key.private_bytes(
        serialization.Encoding.DER, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    relabelled = crypto.load_privatekey(crypto.FILETYPE_ASN1, der.relabel_pkcs8(pkcs8, der.RSA_PSS_KEY_ALG))
    with warnings.catch_warnings():
        # A PKey is deprecated in pyOpenSSL 24.3+, but only a PKey keeps an RSA-PSS key's type.
        warnings.simplefilter("ignore", DeprecationWarning)
        target.use_privatekey(relabelled)
