"""What the client holds and what curl would do with it: the leaf, what it sends, whether its key fits."""

from __future__ import annotations

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from mtls_doctor.facts.certificate import public_key_facts
from mtls_doctor.facts.model import CertFile, ClientFacts, KeyFacts
from mtls_doctor.pki.certs import CertBundle
from mtls_doctor.pki.keys import LoadedKey
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import FileFormat


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
            public=public_key_facts(key.key.public_key()),
            encrypted=key.encrypted,
            matches_leaf=matches_index == 0,
            matches=facts[matches_index] if matches_index is not None else None,
        )
    leaf_not_first = (matches_index is not None and matches_index > 0) or (
        key is None and _issued_another(leaf, certs[1:])
    )
    der = bundle.format is FileFormat.DER
    presentation_error = _presentation_error(bundle, key, key_facts, der)
    first = matches_index or 0
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


def _presentation_error(bundle: CertBundle, key: LoadedKey | None, key_facts: KeyFacts | None, der: bool) -> str | None:
    """What curl prints (exit 58) instead of connecting, or None when it can present the certificate."""
    if der:
        return (
            f"curl: (58) could not load PEM client certificate from {bundle.path}, OpenSSL error "
            "error:0480006C:PEM routines::no start line, (no key found, wrong pass phrase, or wrong file format?)"
        )
    if key is not None and key_facts is not None and not key_facts.matches_leaf:
        return f"curl: (58) unable to set private key file: '{key.origin.source}' type PEM"
    return None
