"""CRLs as ``ssl_crl`` makes OpenSSL use them: X509_V_FLAG_CRL_CHECK|X509_V_FLAG_CRL_CHECK_ALL.

With CRL_CHECK_ALL every certificate of the path, the trust anchor included, is looked up in the CRL of its issuer
(crypto/x509/x509_vfy.c, check_revocation). So each CA of the path must have a CRL, or nginx logs 3 — observed with
nginx 1.22: root -> issuing -> leaf needs the root's CRL and the issuing CA's CRL.
"""

from __future__ import annotations

from datetime import datetime

from cryptography import x509

from mtls_doctor.facts.chain import Node
from mtls_doctor.facts.model import Cert, Crl, RevocationFacts
from mtls_doctor.pki.crls import LoadedCrl


def describe_crl(loaded: LoadedCrl, candidates: list[Node]) -> tuple[Crl, Node | None]:
    """The CRL's facts, its signature checked with the key of the CA whose name it carries (if known)."""
    crl = loaded.crl
    issuer = next((n for n in candidates if n.cert.subject == crl.issuer and _signed_by(crl, n)), None)
    if issuer is None:
        issuer = next((n for n in candidates if n.cert.subject == crl.issuer), None)
    valid = _signed_by(crl, issuer) if issuer is not None else None
    facts = Crl(
        origin=loaded.origin,
        issuer=crl.issuer.rfc4514_string(),
        this_update=crl.last_update_utc,
        next_update=crl.next_update_utc,
        revoked_count=len(crl),
        issuer_cert=issuer.facts if issuer else None,
        signature_valid=valid,
    )
    return facts, issuer


def revocation_facts(path: list[Node], crls: list[tuple[Crl, LoadedCrl]], *, at: datetime) -> RevocationFacts:
    """Judge the configured CRLs against the certificates of ``path`` (leaf first)."""
    cas: list[Node] = []
    checked: list[tuple[Node, Node]] = []
    for i, node in enumerate(path):
        issuer = path[i + 1] if i + 1 < len(path) else (node if node.facts.self_signed else None)
        if issuer is None:
            continue  # the top's issuer is missing: that, not a CRL, is what fails
        checked.append((node, issuer))
        if issuer not in cas:
            cas.append(issuer)
    by_ca = {ca.cert.subject.public_bytes(): [c for c in crls if c[1].crl.issuer == ca.cert.subject] for ca in cas}
    used = [c for group in by_ca.values() for c in group]
    revoked: list[Cert] = []
    for node, issuer in checked:
        for _facts, loaded in by_ca[issuer.cert.subject.public_bytes()]:
            if loaded.crl.get_revoked_certificate_by_serial_number(node.cert.serial_number) is not None:
                revoked.append(node.facts)
                break
    return RevocationFacts(
        cas_without_crl=tuple(ca.facts for ca in cas if not by_ca[ca.cert.subject.public_bytes()]),
        expired_crls=tuple(f for f, _ in used if f.next_update is not None and at > f.next_update),
        not_yet_valid_crls=tuple(f for f, _ in used if at < f.this_update),
        badly_signed_crls=tuple(f for f, _ in used if f.signature_valid is False),
        revoked=tuple(revoked),
        unused_crls=tuple(f for f, c in crls if all(c is not u[1] for u in used)),
    )


def _signed_by(crl: x509.CertificateRevocationList, node: Node) -> bool:
    try:
        return crl.is_signature_valid(node.cert.public_key())  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False
