"""OpenSSL security levels (SSL_CTX_set_security_level): what a level demands of keys and signature digests."""

from __future__ import annotations

from mtls_doctor.facts.model import Cert, PublicKey

# Minimum security bits per level: OpenSSL ssl/ssl_cert.c, ssl_security_default_callback (minbits_table).
_MIN_BITS = (0, 80, 112, 128, 192, 256)
HIGHEST_LEVEL = len(_MIN_BITS) - 1
"""What passes this level passes every level."""

# Security bits of a signature digest as OpenSSL 3.0 rates them for X509_get_signature_info (collision resistance:
# SHA-1 counts 63-64 bits, MD5 39); crypto/x509/x509_set.c, ossl_x509_init_sig_info.
_DIGEST_BITS = {"md5": 39, "sha1": 64, "sha224": 112, "sha256": 128, "sha384": 192, "sha512": 256, "sha3-256": 128}


def min_bits(level: int) -> int:
    """Minimum key/digest strength at ``level`` (0-5)."""
    return _MIN_BITS[max(0, min(level, 5))]


def key_too_weak(key: PublicKey, level: int) -> bool:
    """The key is below what ``level`` demands (EE key → 66, CA key → 67)."""
    return key.security_bits < min_bits(level)


def digest_too_weak(cert: Cert, level: int) -> bool:
    """``cert``'s signature digest is below what ``level`` demands (68). Ed25519/Ed448 carry no separate digest."""
    if cert.signature_hash is None:
        return False
    bits = _DIGEST_BITS.get(cert.signature_hash, 0)
    return bits < min_bits(level)
