"""What is in a file (`mtls-doctor inspect`): certificates in order, a private key (described, never shown), CRLs."""

from __future__ import annotations

from mtls_doctor.facts.certificate import describe, is_issued_by, public_key_facts
from mtls_doctor.facts.model import CertFile, CrlFile, PublicKey
from mtls_doctor.facts.revocation import describe_crl
from mtls_doctor.pki.certs import CertBundle, load_cert_file
from mtls_doctor.pki.crls import load_crl_file
from mtls_doctor.pki.files import Content, content_of, read_input
from mtls_doctor.pki.keys import load_key_file
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import Record
from mtls_doctor.vocabulary import Origin


class KeyFile(Record):
    """A private key file: what kind of key, whether it is encrypted. Its content is never kept in facts."""

    path: str
    origin: Origin
    public: PublicKey
    encrypted: bool


class BundleOrder(Record):
    """How the certificates of a bundle link up, in file order."""

    issued_by_next: tuple[bool, ...]
    """For each certificate but the last: the next one in the file issued it."""
    leaf_first: bool
    """The first certificate is an end entity (or the bundle is a single certificate)."""


class InspectedCerts(Record):
    """A certificate file and how its certificates link."""

    file: CertFile
    order: BundleOrder


Inspected = InspectedCerts | KeyFile | CrlFile


def inspect_file(path: str, passwords: Passwords) -> Inspected:
    """Read ``path`` as whatever it holds: certificates, a private key or CRLs; InputError when none of these."""
    content = content_of(read_input(path, what="certificate, key or CRL"))
    if content is Content.PRIVATE_KEY:
        key = load_key_file(path, passwords)
        return KeyFile(
            path=path,
            origin=key.origin,
            public=public_key_facts(key.key.public_key(), pss=key.pss),
            encrypted=key.encrypted,
        )
    if content is Content.CRL:
        crls = load_crl_file(path)
        return CrlFile(
            origin=Origin(source=path),
            path=path,
            crls=tuple(describe_crl(c, [])[0] for c in crls.crls),
            stray=crls.stray,
            format=crls.format,
        )
    return _certs(load_cert_file(path, what="certificate", passwords=passwords))


def _certs(bundle: CertBundle) -> InspectedCerts:
    facts = tuple(describe(c.cert, c.origin) for c in bundle.certs)
    certs = [c.cert for c in bundle.certs]
    links = tuple(is_issued_by(certs[i], certs[i + 1]) for i in range(len(certs) - 1))
    return InspectedCerts(
        file=CertFile(
            path=bundle.path,
            format=bundle.format,
            certs=facts,
            stray=bundle.stray,
            private_keys_inside=len(bundle.key_blocks) + (1 if bundle.pkcs12_key else 0),
        ),
        order=BundleOrder(issued_by_next=links, leaf_first=len(facts) == 1 or facts[0].is_ca is not True),
    )
