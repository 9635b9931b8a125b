"""RFC 5280 §4.2.1.10 name constraints, as OpenSSL applies them (crypto/x509/v3_ncons.c, NAME_CONSTRAINTS_check)."""

from __future__ import annotations

from cryptography import x509
from cryptography.x509.oid import NameOID

from mtls_doctor.facts.model import NameConstraints


def constrained_names(cert: x509.Certificate, *, include_cn: bool) -> list[str]:
    """The names of ``cert`` that name constraints apply to, in OpenSSL notation.

    The subject DN always counts (as DirName). SAN entries count. With ``include_cn`` and no DNS SAN, a
    hostname-like CN is checked against DNS constraints too, as OpenSSL 1.1.0+ does for the leaf (v3_ncons.c,
    cn2dnsid; observed with nginx 1.22).
    """
    names = [f"DirName:{cert.subject.rfc4514_string()}"] if len(cert.subject) else []
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    except x509.ExtensionNotFound:
        san = None
    dns = [f"DNS:{n}" for n in san.get_values_for_type(x509.DNSName)] if san else []
    names += dns
    if san:
        names += [f"email:{n}" for n in san.get_values_for_type(x509.RFC822Name)]
        names += [f"URI:{n}" for n in san.get_values_for_type(x509.UniformResourceIdentifier)]
    if include_cn and not dns:
        for cn in cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME):
            value = str(cn.value)
            if _hostname_like(value):
                names.append(f"DNS:{value.lower()}")
    return names


def violation(name: str, nc: NameConstraints) -> bool | None:
    """True: ``name`` falls in an excluded subtree; False: outside every permitted subtree of its type;
    None: allowed."""
    kind, _, value = name.partition(":")
    for sub in nc.excluded:
        if _same_kind(kind, sub) and _within(kind, value, sub.partition(":")[2]):
            return True
    permitted = [s for s in nc.permitted if _same_kind(kind, s)]
    if permitted and not any(_within(kind, value, s.partition(":")[2]) for s in permitted):
        return False
    return None


def _same_kind(kind: str, subtree: str) -> bool:
    return subtree.partition(":")[0] == kind


def _within(kind: str, value: str, base: str) -> bool:
    if kind == "DNS":
        value, base = value.lower().rstrip("."), base.lower().rstrip(".")
        return not base or value == base or value.endswith("." + base.lstrip("."))
    if kind == "email":
        value, base = value.lower(), base.lower()
        if "@" in base:
            return value == base
        domain = value.rpartition("@")[2]
        return domain.endswith(base) if base.startswith(".") else domain == base
    if kind == "URI":
        host = value.split("://", 1)[-1].split("/", 1)[0].split(":", 1)[0].lower()
        base = base.lower()
        return host.endswith(base) if base.startswith(".") else host == base
    if kind == "DirName":
        # A DN is within a subtree when the subtree's RDNs are a prefix of the DN's RDNs (most significant first).
        name_rdns = list(reversed(x509.Name.from_rfc4514_string(value).rdns))
        base_rdns = list(reversed(x509.Name.from_rfc4514_string(base).rdns))
        return name_rdns[: len(base_rdns)] == base_rdns
    return False


def _hostname_like(value: str) -> bool:
    labels = value.split(".")
    return len(labels) > 1 and all(
        label and all(c.isalnum() or c == "-" for c in label) and not label.startswith("-") for label in labels
    )
