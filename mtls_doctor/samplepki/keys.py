"""Deterministic test keys: derived from a seed so the sample PKI is reproducible byte for byte.

These keys are public test material. Never use this module for anything else.
"""

from __future__ import annotations

import hashlib
import math
import random

from cryptography.hazmat.primitives.asymmetric import ec, rsa

SampleKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey

_CURVES = {"ec-p256": ec.SECP256R1, "ec-p384": ec.SECP384R1}
_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, math.isqrt(p) + 1, 2))]


def derive_key(kind: str, seed: str) -> SampleKey:
    """The key of type ``kind`` (``ec-p256``, ``ec-p384``, ``rsa-1024``, ``rsa-2048``) for ``seed``."""
    digest = hashlib.sha512(f"mtls-doctor sample_pki/{kind}/{seed}".encode()).digest()
    if kind in _CURVES:
        # 31 bytes stay below the group order of P-256 and P-384; +1 avoids the zero scalar.
        return ec.derive_private_key(int.from_bytes(digest[:31], "big") + 1, _CURVES[kind]())
    if kind.startswith("rsa-"):
        return _rsa(int(kind.removeprefix("rsa-")), digest)
    msg = f"unknown key type {kind!r}"
    raise ValueError(msg)


def _rsa(bits: int, seed: bytes) -> rsa.RSAPrivateKey:
    rng = random.Random(seed)  # noqa: S311 - reproducible test keys, deliberately not secret
    e = 65537
    while True:
        p, q = _prime(bits // 2, rng), _prime(bits - bits // 2, rng)
        n = p * q
        phi = (p - 1) * (q - 1)
        if p == q or n.bit_length() != bits or math.gcd(e, phi) != 1:
            continue
        d = pow(e, -1, phi)
        return rsa.RSAPrivateNumbers(
            p=p, q=q, d=d, dmp1=d % (p - 1), dmq1=d % (q - 1), iqmp=pow(q, -1, p),
            public_numbers=rsa.RSAPublicNumbers(e, n),
        ).private_key()  # fmt: skip


def _prime(bits: int, rng: random.Random) -> int:
    while True:
        # The top two bits set make the product of two such primes exactly 2*bits long.
        candidate = rng.getrandbits(bits) | (3 << (bits - 2)) | 1
        if any(candidate % p == 0 for p in _SMALL_PRIMES):
            continue
        if _probably_prime(candidate, rng):
            return candidate


def _probably_prime(n: int, rng: random.Random, rounds: int = 40) -> bool:
    d, s = n - 1, 0
    while d % 2 == 0:
        d, s = d // 2, s + 1
    for _ in range(rounds):
        x = pow(rng.randrange(2, n - 2), d, n)
        if x in (1, n - 1):
            continue
        for _ in range(s - 1):
            x = pow(x, 2, n)
            if x == n - 1:
                break
        else:
            return False
    return True
