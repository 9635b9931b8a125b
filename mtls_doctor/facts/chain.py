"""The certification path nginx's OpenSSL builds from the client's leaf, and everything wrong along it.

Built as OpenSSL 3.0's build_chain (crypto/x509/x509_vfy.c) does: for the current top, an issuer is looked for in the
trust store first, then among the certificates the client sent; once a certificate came from the trust store, only
the trust store is searched above it (so an intermediate in ssl_client_certificate without its root fails with 2,
even when the client sends the root). A candidate issuer must match by name, by AKI/SKI when both are present, and by
key type; its signature is checked afterwards (a same-name, other-key CA without key ids gives 7).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from cryptography import x509
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa

from mtls_doctor.facts import names, seclevel
from mtls_doctor.facts.certificate import is_issued_by, signature_name
from mtls_doctor.facts.model import Cert, NameViolation, PathFacts
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import CertSource


class Node(Record):
    """A certificate together with its facts and where the server finds it."""

    cert: x509.Certificate
    facts: Cert
    source: CertSource


def build_path(
    leaf: Node,
    sent: list[Node],
    store: list[Node],
    *,
    at: datetime,
    depth: int,
    level: int,
    advertised: tuple[str, ...],
) -> PathFacts:
    """Build and judge the path from ``leaf``; ``sent`` are the other certificates the client sends;
    ``advertised`` are the CA names the server sends in its CertificateRequest."""
    path = [leaf]
    in_store = {n.cert for n in store}
    anchored = leaf.facts.self_signed and leaf.cert in in_store
    issuer_missing: str | None = None
    namesake: Node | None = None
    while not anchored and not path[-1].facts.self_signed:
        top = path[-1]
        pools = [store] if top.source is not CertSource.SENT else [store, sent]
        issuer = next_issuer(path, pools, at=at)
        if issuer is None:
            issuer_missing = top.facts.issuer
            namesake = next((c for c in (*store, *sent) if _namesake(top.cert, c)), None)
            break
        path.append(issuer)
        anchored = issuer.source is not CertSource.SENT and issuer.facts.self_signed
    top = path[-1]
    untrusted_self_signed = top.facts.self_signed and not anchored
    anchor = top if anchored else None
    body = path[:-1] if anchored else path
    intermediates = body[1:]
    certs = [n.facts for n in path]
    leaf_f = leaf.facts
    overflow = len(intermediates) > depth and anchored
    violations = _name_violations(path)
    return PathFacts(
        certs=tuple(certs),
        sources=tuple(n.source for n in path),
        anchor=anchor.facts if anchor else None,
        top=top.facts,
        intermediates=tuple(n.facts for n in intermediates),
        intermediate_count=len(intermediates),
        depth_exceeded=overflow,
        # OpenSSL stops building at depth+1 and reports the certificate it stopped at: from the store → 2, sent → 20.
        depth_overflow_in_store=overflow and body[depth + 1].source is not CertSource.SENT,
        issuer_missing=issuer_missing,
        issuer_found=None,  # looked for on disk by the gatherer: building the path does no I/O
        leaf_issuer_missing=issuer_missing is not None and len(path) == 1,
        untrusted_root_sent=top.facts if untrusted_self_signed and len(path) > 1 else None,
        self_signed_leaf_untrusted=untrusted_self_signed and len(path) == 1,
        leaf_in_trust_store=not leaf_f.self_signed and leaf.cert in in_store,
        store_intermediate_without_root=(
            top.facts if issuer_missing is not None and top.source is not CertSource.SENT else None
        ),
        namesake_issuer=namesake.facts if namesake else None,
        namesake_with_key_ids=bool(namesake and top.facts.authority_key_id and namesake.facts.subject_key_id),
        signature_failures=tuple(
            path[i].facts for i in range(len(path) - 1) if not is_issued_by(path[i].cert, path[i + 1].cert)
        ),
        leaf_expired=at > leaf_f.not_after,
        leaf_not_yet_valid=at < leaf_f.not_before,
        leaf_days_left=(leaf_f.not_after - at).days,
        expired_intermediates=tuple(n.facts for n in intermediates if at > n.facts.not_after),
        not_yet_valid_intermediates=tuple(n.facts for n in intermediates if at < n.facts.not_before),
        anchor_expired=anchor is not None and at > anchor.facts.not_after,
        anchor_not_yet_valid=anchor is not None and at < anchor.facts.not_before,
        leaf_purpose_ok=leaf_purpose_ok(leaf_f),
        intermediates_without_clientauth=tuple(
            n.facts for n in intermediates if n.facts.eku is not None and "clientAuth" not in n.facts.eku
        ),
        intermediates_not_ca=tuple(n.facts for n in intermediates if n.facts.is_ca is False),
        intermediates_without_basic_constraints=tuple(
            n.facts for n in intermediates if not n.facts.basic_constraints and n.facts.version != 1
        ),
        intermediates_v1=tuple(n.facts for n in intermediates if n.facts.version == 1),
        cas_without_keycertsign=tuple(
            n.facts
            for n in path[1:]
            if n.facts.key_usage is not None and "keyCertSign" not in n.facts.key_usage and n.facts.is_ca is not False
        ),
        pathlen_exceeded_by=_pathlen_exceeded(path),
        weak_leaf_key=seclevel.key_too_weak(leaf_f.key, level),
        weak_ca_keys=tuple(n.facts for n in path[1:] if seclevel.key_too_weak(n.facts.key, level)),
        weak_leaf_digest=seclevel.digest_too_weak(leaf_f, level),
        weak_digest_intermediates=tuple(n.facts for n in intermediates if seclevel.digest_too_weak(n.facts, level)),
        unknown_critical_intermediates=tuple(n.facts for n in intermediates if n.facts.unknown_critical_extensions),
        anchor_without_clientauth=(
            anchor is not None and anchor.facts.eku is not None and "clientAuth" not in anchor.facts.eku
        ),
        sent_matches_advertised=(any(n.facts.issuer in advertised for n in (leaf, *sent)) if advertised else None),
        name_violations_permitted=violations[0],
        name_violations_excluded=violations[1],
    )


def next_issuer(path: Sequence[Node], pools: Sequence[Sequence[Node]], *, at: datetime) -> Node | None:
    """The issuer of ``path``'s top that OpenSSL's lookup takes: the first pool that has one wins; within a pool,
    a candidate must match by name, AKI/SKI and key type, and one valid at ``at`` is preferred. A certificate
    already on ``path`` is never taken again (a loop of cross-signed CAs ends)."""
    top = path[-1].cert
    return next((c for pool in pools for c in _candidates(top, pool, at) if c not in path), None)


def climb(start: Node, store: Sequence[Node], *, at: datetime) -> tuple[list[Node], bool]:
    """From ``start`` up through the issuers ``store`` holds, the way build_path walks the trust store (the same
    lookup: name, AKI/SKI, key type): the certificates met, ``start`` first, and whether a self-signed one ends it
    (False: an issuer is missing from ``store``, so every client under ``start`` fails with 2)."""
    path = [start]
    while not path[-1].facts.self_signed:
        issuer = next_issuer(path, [store], at=at)
        if issuer is None:
            return path, False
        path.append(issuer)
    return path, True


def leaf_purpose_ok(leaf: Cert) -> bool:
    """OpenSSL's ssl_client purpose for the leaf (crypto/x509/v3_purp.c, check_purpose_ssl_client).

    EKU, when present, must list clientAuth (anyExtendedKeyUsage does not count); nsCertType, when present, must have
    the client bit; keyUsage, when present, must allow digitalSignature or keyAgreement.
    """
    if leaf.eku is not None and "clientAuth" not in leaf.eku:
        return False
    if leaf.ns_cert_type is not None and "client" not in leaf.ns_cert_type:
        return False
    return not (leaf.key_usage is not None and not leaf.key_usage & {"digitalSignature", "keyAgreement"})


def _candidates(cert: x509.Certificate, pool: Sequence[Node], at: datetime) -> list[Node]:
    """Possible issuers of ``cert`` in ``pool``, best first: OpenSSL prefers one valid at ``at``."""
    found = [n for n in pool if n.cert != cert and _likely_issued(cert, n)]
    return sorted(found, key=lambda n: not (n.facts.not_before <= at <= n.facts.not_after))


def _likely_issued(cert: x509.Certificate, issuer: Node) -> bool:
    """X509_check_issued without the signature: name, AKID against SKID, key type against signature algorithm."""
    if cert.issuer != issuer.cert.subject:
        return False
    aki = _key_id(cert, x509.AuthorityKeyIdentifier)
    ski = _key_id(issuer.cert, x509.SubjectKeyIdentifier)
    if aki is not None and ski is not None and aki != ski:
        return False
    return _key_fits_signature(cert, issuer.cert)


def _namesake(cert: x509.Certificate, other: Node) -> bool:
    """``other`` carries the name of ``cert``'s issuer but is not its issuer (a re-keyed or replaced CA)."""
    return cert.issuer == other.cert.subject and other.cert != cert and not is_issued_by(cert, other.cert)


def _key_id(
    cert: x509.Certificate, kind: type[x509.AuthorityKeyIdentifier | x509.SubjectKeyIdentifier]
) -> bytes | None:
    try:
        value = cert.extensions.get_extension_for_class(kind).value
    except x509.ExtensionNotFound:
        return None
    if isinstance(value, x509.AuthorityKeyIdentifier):
        return value.key_identifier
    return value.digest


_SIGNATURE_KEY_TYPES = (
    ("RSA", rsa.RSAPublicKey),
    ("ecdsa", ec.EllipticCurvePublicKey),
    ("dsa", dsa.DSAPublicKey),
    ("ed25519", ed25519.Ed25519PublicKey),
    ("ed448", ed448.Ed448PublicKey),
)


def _key_fits_signature(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    name = signature_name(cert).lower()
    key = issuer.public_key()
    for marker, kind in _SIGNATURE_KEY_TYPES:
        if marker.lower() in name:
            return isinstance(key, kind)
    return True


def _pathlen_exceeded(path: list[Node]) -> tuple[Cert, ...]:
    """CAs whose pathLenConstraint is smaller than the number of CAs below them (self-issued ones do not count)."""
    out = []
    for i in range(1, len(path)):
        limit = path[i].facts.path_length
        if limit is None:
            continue
        below = sum(1 for n in path[1:i] if not n.facts.self_issued)
        if below > limit:
            out.append(path[i].facts)
    return tuple(out)


def _name_violations(path: list[Node]) -> tuple[tuple[NameViolation, ...], tuple[NameViolation, ...]]:
    """The violations of permitted, then of excluded subtrees."""
    permitted: list[NameViolation] = []
    excluded: list[NameViolation] = []
    for j in range(1, len(path)):
        nc = path[j].facts.name_constraints
        if nc is None:
            continue
        for i in range(j):
            if i and path[i].facts.self_issued:
                continue
            # The CN-as-hostname check applies to the leaf only (x509_vfy.c, check_name_constraints).
            for name in names.constrained_names(path[i].cert, include_cn=i == 0):
                verdict = names.violation(name, nc)
                if verdict is None:
                    continue
                v = NameViolation(cert=path[i].facts, constrained_by=path[j].facts, name=name, excluded=verdict)
                (excluded if verdict else permitted).append(v)
    return tuple(permitted), tuple(excluded)
