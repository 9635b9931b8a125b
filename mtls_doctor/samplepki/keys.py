"""Deterministic test keys: derived from a seed so the sample PKI is reproducible byte for byte.

These keys are public test material. Never use this module for anything else.
"""

from __future__ import annotations

import hashlib
import math
import random

from cryptography.hazmat.primitives.asymmetric import dsa, ec, rsa

SampleKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey | dsa.DSAPrivateKey

_CURVES: dict[str, type[ec.EllipticCurve]] = {
    "ec-p256": ec.SECP256R1,
    "ec-p384": ec.SECP384R1,
    "ec-p521": ec.SECP521R1,
    "ec-brainpoolP256r1": ec.BrainpoolP256R1,
    "ec-secp256k1": ec.SECP256K1,
}
KEY_TYPES = (*_CURVES, "rsa-1024", "rsa-2048", "rsa-pss-2048", "dsa-2048")
"""Every key type a sample certificate can have. ``rsa-pss-2048`` is an RSA key whose certificate and key file say
id-RSASSA-PSS (RFC 4055): issue.py and write.py relabel it, the numbers are an RSA key's."""

# One fixed DSA group (2048-bit p, 256-bit q; generated once with cryptography's dsa.generate_parameters): DSA keys
# share domain parameters, and searching for a p at every build would cost seconds. g = 2^((p-1)/q) mod p.
_DSA_P = int(
    "8cf5fd7dce725460e569fc9ec250bbd2792a74840d6a12de5697707f4eea5c14cdfe3cb63acd5b2f4fee4d20a22ec502"
    "3dc11b4be81a44a7ea7fb0b00d3ae6e1b7223c06d2e9d304138446731a8d17a528858227846896e85e090bd677e59b96"
    "ccc2c93456098f8ae77b510f4889ac9b886b27c4ab3f6b87941de94b1ec1f078de1d8e26f4f9fedb331cf78b105e4fca"
    "26fc68d0555a67715a12a9cf66e7503d8090cfd5f8154c9cf6cde8cc78a309f7efac034060e902aaea165094d66f7f62"
    "910d92398e3aa26a920ad2117a139820a5999886bc259fd9d2f274c56d9ff72b991b39887d1c8b7bcafa84f40f9d93c0"
    "510de6532a3a1b681e914f75ac8c61f3",
    16,
)
_DSA_Q = int("e206b1bc8b3bc8e11f2878c39215a3242517f7e86aa60fd7e595aa3814d7c29b", 16)
_DSA_G = pow(2, (_DSA_P - 1) // _DSA_Q, _DSA_P)
_SMALL_PRIMES = [p for p in range(3, 2000, 2) if all(p % d for d in range(3, math.isqrt(p) + 1, 2))]


def derive_key(kind: str, seed: str) -> SampleKey:
    """The key of type ``kind`` (one of KEY_TYPES) for ``seed``."""
    digest = hashlib.sha512(f"mtls-doctor sample_pki/{kind}/{seed}".encode()).digest()
    if kind in _CURVES:
        # 31 bytes stay below the group order of P-256 and P-384; +1 avoids the zero scalar.
        return ec.derive_private_key(int.from_bytes(digest[:31], "big") + 1, _CURVES[kind]())
    if kind.startswith("rsa-"):
        return _rsa(int(kind.rsplit("-", 1)[1]), digest)
    if kind == "dsa-2048":
        x = int.from_bytes(digest[:31], "big") + 1  # below q (256 bits)
        params = dsa.DSAParameterNumbers(_DSA_P, _DSA_Q, _DSA_G)
        return dsa.DSAPrivateNumbers(x, dsa.DSAPublicNumbers(pow(_DSA_G, x, _DSA_P), params)).private_key()
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
