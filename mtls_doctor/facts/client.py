"""What the client holds and what curl would do with it: the leaf, what it sends, whether its key fits."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mtls_doctor.facts import seclevel
from mtls_doctor.facts.certificate import public_key_facts
from mtls_doctor.facts.model import Cert, CertFile, ClientFacts, ClientRefusal, KeyFacts, KeyTypeNotOffered
from mtls_doctor.openssl.generations import OpenSSLGeneration
from mtls_doctor.pki.certs import CertBundle
from mtls_doctor.pki.keys import LoadedKey
from mtls_doctor.record import Record, replace
from mtls_doctor.untrusted import shell_word, shown
from mtls_doctor.vocabulary import ClientModel, FileFormat, KeyType


class ClientParts(Record):
    """The parsed client inputs with their facts, kept together for the twin and the path builder."""

    facts: ClientFacts
    chain: tuple[x509.Certificate, ...]
    """What the client sends, leaf first."""
    key: LoadedKey | None
    leaf_for_twin: tuple[x509.Certificate, ...] | None
    """The chain a correctly configured client would send (the key's certificate first), when it can be known."""
    order: tuple[int, ...]
    """Positions in the client's files of ``leaf_for_twin`` (file order when the key matches nothing)."""


def client_parts(
    cert_file: CertFile,
    bundle: CertBundle,
    chain_file: CertFile | None,
    chain_bundle: CertBundle | None,
    key: LoadedKey | None,
    *,
    model: ClientModel = ClientModel.CURL,
    protocol: str = "TLSv1.3",
    openssl: OpenSSLGeneration = OpenSSLGeneration.V3,
) -> ClientParts:
    """Facts about the client's credentials, as curl (and nginx reading the same file) would take them.

    curl passes --cert to SSL_CTX_use_certificate_chain_file: the first PEM block is the client certificate and
    every further block goes out as its chain; --key must hold that first certificate's key (nginx-behaviour §7).
    The leaf analysed is the certificate the key belongs to, so a misordered bundle is diagnosed for what it would
    do once reordered; ``leaf_not_first`` reports the order itself. ``unrelated_sent`` is filled in by the caller,
    once the path is known.
    """
    certs = [c.cert for c in bundle.certs] + ([c.cert for c in chain_bundle.certs] if chain_bundle else [])
    facts = list(cert_file.certs) + (list(chain_file.certs) if chain_file else [])
    leaf, leaf_facts = certs[0], facts[0]
    key_facts: KeyFacts | None = None
    matches_index: int | None = None
    if key is not None:
        spki = key.key.public_key().public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
        matches_index = next((i for i, c in enumerate(certs) if _spki(c) == spki), None)
        key_facts = KeyFacts(
            origin=key.origin,
            public=public_key_facts(key.key.public_key(), pss=key.pss),
            encrypted=key.encrypted,
            matches_leaf=matches_index == 0,
            matches=facts[matches_index] if matches_index is not None else None,
        )
    leaf_not_first = (matches_index is not None and matches_index > 0) or (
        key is None and _issued_another(leaf, certs[1:])
    )
    der = bundle.format is FileFormat.DER
    first = matches_index or 0
    refusal = None
    if model.refuses_weak_credentials and (key is None or matches_index is not None):
        # curl loads the cert file as its chain: the key's certificate first once the bundle is in order.
        refusal = security_level_refusal([facts[first], *(f for i, f in enumerate(facts) if i != first)], CURL_LEVEL)
        if refusal is not None and refusal.error == _CA_KEY_TOO_SMALL[0]:
            ca = next(c for c, f in zip(certs, facts, strict=True) if f is refusal.cert)
            refusal = replace(refusal, ca_rekey=ca_rekey_commands(ca))
    presentation_error = _presentation_error(bundle, key, key_facts, der=der, refusal=refusal, model=model)
    order = (first, *(i for i in range(len(certs)) if i != first))
    fixed = tuple(certs[i] for i in order) if matches_index is not None or key is None else None
    seen: set[bytes] = set()
    duplicates = []
    for cert, cf in zip(certs, facts, strict=True):
        der_bytes = cert.public_bytes(serialization.Encoding.DER)
        if der_bytes in seen:
            duplicates.append(cf)
        seen.add(der_bytes)
    return ClientParts(
        facts=ClientFacts(
            cert_file=cert_file,
            chain_file=chain_file,
            leaf=facts[first],
            first_in_file=leaf_facts,
            sent=tuple(facts),
            key=key_facts,
            leaf_not_first=leaf_not_first,
            cert_file_is_der=der,
            unrelated_sent=(),
            duplicate_sent=tuple(duplicates),
            presentation_error=presentation_error,
            model=model,
            refusal=refusal,
            key_type_not_offered=key_type_not_offered(facts[first], protocol, openssl),
        ),
        chain=tuple(certs),
        key=key,
        leaf_for_twin=fixed,
        order=order,
    )


def _spki(cert: x509.Certificate) -> bytes:
    return cert.public_key().public_bytes(serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo)


def _issued_another(first: x509.Certificate, rest: list[x509.Certificate]) -> bool:
    """The first certificate is the issuer of a later one: the bundle is ordered root-first."""
    return any(c.issuer == first.subject and c.subject != first.subject for c in rest)


def _presentation_error(
    bundle: CertBundle,
    key: LoadedKey | None,
    key_facts: KeyFacts | None,
    *,
    der: bool,
    refusal: ClientRefusal | None,
    model: ClientModel,
) -> str | None:
    """What the client prints instead of connecting (curl: exit 58), or None when it can present the certificate.
    s_client reads a DER certificate (it guesses the format) and sends any key its level 0 allows."""
    if der and model is ClientModel.CURL:
        return (
            f"curl: (58) could not load PEM client certificate from {bundle.path}, OpenSSL error "
            "error:0480006C:PEM routines::no start line, (no key found, wrong pass phrase, or wrong file format?)"
        )
    if key is not None and key_facts is not None and not key_facts.matches_leaf:
        return f"curl: (58) unable to set private key file: '{key.origin.source}' type PEM"
    if refusal is not None and model is ClientModel.OPENSSL:
        return (
            f"openssl s_client refuses to use {bundle.path}: OpenSSL error "
            f"error:{refusal.openssl_error}:SSL routines::{refusal.error}"
        )
    if refusal is not None:
        return (
            f"curl: (58) could not load PEM client certificate from {bundle.path}, OpenSSL error "
            f"error:{refusal.openssl_error}:SSL routines::{refusal.error}, (no key found, wrong pass phrase, or wrong "
            "file format?)"
        )
    return None


CURL_LEVEL = 2
"""curl keeps OpenSSL's default security level, 2 on Debian 12 (openssl.cnf sets none: the build default), and
``--ciphers DEFAULT:@SECLEVEL=0`` does not lower it for the local check (nginx-behaviour.md §7, observed)."""

# OpenSSL 3 packs ERR_LIB_SSL (20) << 23 with the reason (include/openssl/sslerr.h): SSL_R_EE_KEY_TOO_SMALL 399,
# SSL_R_CA_KEY_TOO_SMALL 397, SSL_R_CA_MD_TOO_WEAK 398. curl 7.88.1 printed exactly these (observed).
_SSL_LIB = 20 << 23
_EE_KEY_TOO_SMALL = ("ee key too small", f"{_SSL_LIB | 399:08X}")
_CA_KEY_TOO_SMALL = ("ca key too small", f"{_SSL_LIB | 397:08X}")
_CA_MD_TOO_WEAK = ("ca md too weak", f"{_SSL_LIB | 398:08X}")


def security_level_refusal(chain: list[Cert], level: int) -> ClientRefusal | None:
    """The first certificate of ``chain`` (leaf first, then what the client sends) that an OpenSSL client at
    ``level`` refuses to load, as SSL_CTX_use_certificate_chain_file checks them (ssl_security_cert,
    ssl/t1_lib.c): each certificate's key (``ee key too small`` for the leaf, ``ca key too small`` for the
    others), then its signature digest unless it is self-signed (``ca md too weak``, for the leaf too)."""
    need = seclevel.min_bits(level)
    for i, cert in enumerate(chain):
        if seclevel.key_too_weak(cert.key, level):
            error, code = _EE_KEY_TOO_SMALL if i == 0 else _CA_KEY_TOO_SMALL
            because = f"its key is {cert.key}, {cert.key.security_bits} bits of security; level {level} needs {need}"
            return ClientRefusal(cert=cert, error=error, openssl_error=code, because=because, level=level)
        if not cert.self_signed and seclevel.digest_too_weak(cert, level):
            error, code = _CA_MD_TOO_WEAK
            because = f"it is signed with {cert.signature_algorithm}; level {level} needs a {need}-bit digest"
            return ClientRefusal(cert=cert, error=error, openssl_error=code, because=because, level=level)
    return None


# The ECDSA curves whose TLS 1.3 signature algorithms OpenSSL 1.1.1 and 3.0 offer by default (ssl/t1_lib.c,
# tls12_sigalgs: ecdsa_secp256r1_sha256, ecdsa_secp384r1_sha384, ecdsa_secp521r1_sha512; RFC 8446 §4.2.3 binds
# each to its curve). OpenSSL 3.2 added the brainpool ones of RFC 8734 (V4 here); nginx 1.22.1 / OpenSSL 3.0.19
# offered none (observed: empty Certificate).
_TLS13_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})
_TLS13_CURVES_32 = _TLS13_CURVES | {"brainpoolP256r1", "brainpoolP384r1", "brainpoolP512r1"}
_TLS13_TYPES = frozenset({KeyType.RSA, KeyType.RSA_PSS, KeyType.ED25519, KeyType.ED448})
# TLS 1.2: the server checks the client certificate's curve against its own groups (tls1_check_group_id, "wrong
# curve"); OpenSSL's default groups name these curves (x25519 and x448 are not certificate curves).
_TLS12_CURVES = frozenset({"secp256r1", "secp384r1", "secp521r1"})


def key_type_not_offered(cert: Cert, protocol: str, openssl: OpenSSLGeneration) -> KeyTypeNotOffered | None:
    """Whether nginx's OpenSSL offers nothing for the key of the client certificate ``cert`` over ``protocol`` (the
    client's OpenSSL checks the CertificateRequest's signature algorithms, tls_choose_sigalg; the server checks the
    curve in TLS 1.2)."""
    key = cert.key
    if protocol == "TLSv1.3":
        curves = _TLS13_CURVES_32 if openssl is OpenSSLGeneration.V4 else _TLS13_CURVES
        if key.type in _TLS13_TYPES or (key.type is KeyType.EC and key.curve in curves):
            return None
        accepts = f"RSA, RSA-PSS, Ed25519, Ed448 and ECDSA on {', '.join(sorted(curves))}"
        return KeyTypeNotOffered(cert=cert, key=key, protocol=protocol, empty_certificate=True, server_accepts=accepts)
    if key.type is KeyType.EC and key.curve not in _TLS12_CURVES:
        accepts = f"ECDSA keys on {', '.join(sorted(_TLS12_CURVES))} (and RSA, DSA)"
        return KeyTypeNotOffered(cert=cert, key=key, protocol=protocol, empty_certificate=False, server_accepts=accepts)
    return None


def subj_argument(name: x509.Name) -> str:
    """``name`` as ``openssl req -subj`` takes it (``/O=Example/CN=Issuing CA``; ``+`` joins the attributes of one
    RDN; ``/``, ``+`` and ``\\`` in values escaped with a backslash), most significant RDN first."""

    def value(v: str | bytes) -> str:
        text = v if isinstance(v, str) else v.decode(errors="replace")
        return text.replace("\\", "\\\\").replace("/", "\\/").replace("+", "\\+")

    rdns = ["+".join(f"{a.rfc4514_attribute_name}={value(a.value)}" for a in rdn) for rdn in name.rdns]
    return "".join(f"/{rdn}" for rdn in rdns) or "/"


def ca_rekey_commands(ca: x509.Certificate) -> str:
    """The re-keying of a CA whose key the client refuses: a new P-256 key and a CSR with the CA's subject (run by
    its owner), and, as comments, the step that is its issuer's (signing the CSR as a CA certificate)."""
    subject = shown(ca.subject.rfc4514_string())
    issuer = shown(ca.issuer.rfc4514_string())
    return "\n".join(
        (
            f"# the refused key is the CA's, {subject}: its owner re-keys it, its issuer ({issuer}) re-issues its",
            "# certificate, and every certificate under it is re-issued (this client's below). A new P-256 key and",
            "# a CSR with the CA's subject:",
            "openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca-new.key -out ca-new.csr "
            f"-subj {shell_word(subj_argument(ca.subject))}",
            f"# the CA's issuer ({issuer}) signs the CA's CSR as a CA certificate; a CA of your own does it with its",
            "# certificate (root-ca.pem here) and key (root-ca.key):",
            "#   printf 'basicConstraints = critical, CA:true\\nkeyUsage = critical, keyCertSign, cRLSign\\n' "
            "> ca-new.ext",
            "#   openssl x509 -req -in ca-new.csr -CA root-ca.pem -CAkey root-ca.key -CAcreateserial -days 1825 "
            "-extfile ca-new.ext -out ca-new.pem",
            "# ca-new.pem and ca-new.key are then the issuing-ca.pem and issuing-ca.key that sign the client's CSR",
            "# below, and the client sends ca-new.pem in place of the refused CA certificate",
        )
    )
