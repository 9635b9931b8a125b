"""CRLs as ``ssl_crl`` makes OpenSSL use them: X509_V_FLAG_CRL_CHECK|X509_V_FLAG_CRL_CHECK_ALL.

With CRL_CHECK_ALL every certificate of the path, the trust anchor included, is looked up in the CRL of its issuer
(crypto/x509/x509_vfy.c, check_revocation). So each CA of the path must have a CRL, or nginx logs 3 — observed with
nginx 1.22: root -> issuing -> leaf needs the root's CRL and the issuing CA's CRL.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from datetime import datetime
from pathlib import Path

from cryptography import x509

from mtls_doctor.facts.certificate import is_issued_by
from mtls_doctor.facts.chain import Node
from mtls_doctor.facts.model import Cert, Crl, RevocationFacts
from mtls_doctor.facts.nearby import FoundCrl, find_crl
from mtls_doctor.pki.crls import LoadedCrl
from mtls_doctor.untrusted import shell_word, shown


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


def missing_crl_commands(
    cas: Iterable[Cert],
    known: Sequence[Node],
    *,
    target: str | None,
    places: Sequence[Path],
    skip: Iterable[Path] = (),
    at: datetime,
) -> str | None:
    """The shell lines that append to the ssl_crl file ``target`` the CRL of each of ``cas`` (CAs without one; their
    certificates are among ``known``): the CA's current CRL found in ``places`` (nearby.find_crl: issuer name and
    signature checked with the CA's key), else a placeholder file, said to be one, with how to get it (``openssl ca
    -gencrl`` for one's own CA, or the CA's distribution point as the certificates it issued name it: printed as
    text, never contacted). None when ``cas`` is empty or there is no ssl_crl file."""
    cas = list(cas)
    if not cas or target is None:
        return None
    by_sha = {n.facts.sha256: n for n in known}
    skip = list(skip)
    into = shell_word(target)
    lines: list[str] = []
    taken: set[str] = set()
    for ca in cas:
        node = by_sha.get(ca.sha256)
        found = find_crl(node.cert, places, at=at, skip=skip) if node is not None else None
        name = shown(ca.subject)
        if found is not None:
            lines.append(f"# the CRL of {name}, found at {shown(str(found.path))}:{found.line} (signed by its key)")
            lines.append(f"{_append(found)} >> {into}")
            continue
        stand_in = _stand_in(ca, taken)
        urls = _distribution_points(node.cert, known) if node is not None else ()
        lines.append(f"# no current CRL of {name} was found near the inputs (--issuers DIR looks elsewhere):")
        lines.append(f"# {stand_in} stands for it. A CA of your own makes it with")
        lines.append(f"#   openssl ca -gencrl -config {stand_in.removesuffix('-crl.pem')}.cnf -out {stand_in}")
        if urls:
            where = ", ".join(shown(u) for u in urls)
            lines.append(f"# else its CRL distribution point, as the certificates it issued name it: {where}")
            lines.append("# (mtls-doctor never contacts it; fetch it yourself; a DER CRL converts with")
            lines.append(f"#   openssl crl -inform DER -in ca.crl -out {stand_in})")
        else:
            lines.append("# else ask its owner for it (the certificates it issued name no CRL distribution point)")
        lines.append(f"cat {stand_in} >> {into}")
    return "\n".join(lines)


def _append(found: FoundCrl) -> str:
    """The command that writes exactly the found CRL, in PEM, to its standard output."""
    source = shell_word(str(found.path))
    if found.der:
        return f"openssl crl -inform DER -in {source}"
    if found.alone:
        return f"cat {source}"
    return f"sed -n '{found.line},{found.end_line}p' {source}"


def _stand_in(ca: Cert, taken: set[str]) -> str:
    """A placeholder file name made of the CA's common name (letters, digits and dashes only: it is run by a shell)."""
    cn = re.search(r"(?:^|,)CN=((?:[^,\\]|\\.)*)", ca.subject)
    slug = re.sub(r"[^a-z0-9]+", "-", (cn.group(1) if cn else "").lower()).strip("-")[:40].strip("-") or "ca"
    name, n = f"{slug}-crl.pem", 2
    while name in taken:
        name, n = f"{slug}-{n}-crl.pem", n + 1
    taken.add(name)
    return name


def _distribution_points(ca: x509.Certificate, known: Sequence[Node]) -> tuple[str, ...]:
    """The CRL distribution point URLs of the certificates ``ca`` issued (a CA's CRL is named by its children)."""
    urls: list[str] = []
    for node in known:
        cert = node.cert
        if cert == ca or cert.issuer != ca.subject or not is_issued_by(cert, ca):
            continue
        try:
            points = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
        except (x509.ExtensionNotFound, ValueError):
            continue
        for point in points:
            for general in point.full_name or ():
                if isinstance(general, x509.UniformResourceIdentifier):
                    urls.append(general.value)
    return tuple(dict.fromkeys(urls))
