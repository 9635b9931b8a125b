"""One certificate → its Cert facts: names, validity, key, extensions, exactly as OpenSSL will judge them."""

from __future__ import annotations

import ipaddress
import math
from typing import TYPE_CHECKING, TypeVar

from cryptography import x509
from cryptography.exceptions import InvalidSignature, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import dsa, ec, ed448, ed25519, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, ExtensionOID, NameOID

from mtls_doctor.facts.model import Cert, NameConstraints, PublicKey
from mtls_doctor.pki.der import RSASSA_PSS_OID
from mtls_doctor.vocabulary import KeyType, Origin

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.types import PublicKeyTypes

_E = TypeVar("_E", bound=x509.ExtensionType)
_Extensions = dict[str, x509.Extension[x509.ExtensionType]]

_EKU_NAMES = {
    ExtendedKeyUsageOID.SERVER_AUTH: "serverAuth",
    ExtendedKeyUsageOID.CLIENT_AUTH: "clientAuth",
    ExtendedKeyUsageOID.CODE_SIGNING: "codeSigning",
    ExtendedKeyUsageOID.EMAIL_PROTECTION: "emailProtection",
    ExtendedKeyUsageOID.TIME_STAMPING: "timeStamping",
    ExtendedKeyUsageOID.OCSP_SIGNING: "OCSPSigning",
    ExtendedKeyUsageOID.ANY_EXTENDED_KEY_USAGE: "anyExtendedKeyUsage",
    ExtendedKeyUsageOID.IPSEC_IKE: "ipsecIKE",
    ExtendedKeyUsageOID.SMARTCARD_LOGON: "msSmartcardLogin",
    ExtendedKeyUsageOID.KERBEROS_PKINIT_KDC: "pkInitKDC",
}

NS_CERT_TYPE_OID = x509.ObjectIdentifier("2.16.840.1.113730.1.1")
# Bit order of the Netscape nsCertType BIT STRING (OpenSSL crypto/x509/v3_bitst.c, ns_cert_type_table).
_NS_BITS = ("client", "server", "email", "objsign", "reserved", "sslCA", "emailCA", "objCA")

# The extensions OpenSSL knows how to process; any other extension marked critical makes verification fail
# with X509_V_ERR_UNHANDLED_CRITICAL_EXTENSION (34). OpenSSL crypto/x509/v3_purp.c, X509_supported_extension().
_OPENSSL_SUPPORTED = frozenset(
    {
        "2.16.840.1.113730.1.1",  # nsCertType
        "2.5.29.15",  # keyUsage
        "2.5.29.17",  # subjectAltName
        "2.5.29.19",  # basicConstraints
        "2.5.29.32",  # certificatePolicies
        "2.5.29.37",  # extendedKeyUsage
        "1.3.6.1.5.5.7.1.7",  # sbgp-ipAddrBlock (RFC 3779)
        "1.3.6.1.5.5.7.1.8",  # sbgp-autonomousSysNum (RFC 3779)
        "2.5.29.36",  # policyConstraints
        "1.3.6.1.5.5.7.1.14",  # proxyCertInfo
        "2.5.29.30",  # nameConstraints
        "2.5.29.33",  # policyMappings
        "2.5.29.54",  # inhibitAnyPolicy
    }
)

# Organisations that run public (Web PKI) CAs. Their TLS certificates are server certificates; since 2025-26 most
# no longer include clientAuth at all (Let's Encrypt, DigiCert, Sectigo announced the removal).
_PUBLIC_CA_ORGS = (
    "let's encrypt",
    "digicert",
    "sectigo",
    "comodo",
    "globalsign",
    "godaddy",
    "go daddy",
    "starfield",
    "amazon",
    "google trust services",
    "entrust",
    "zerossl",
    "buypass",
    "certum",
    "ssl corporation",
    "microsoft corporation",
    "identrust",
    "actalis",
    "harica",
    "cloudflare",
    "internet security research group",  # ISRG: the roots above Let's Encrypt
)


def describe(cert: x509.Certificate, origin: Origin) -> Cert:
    """Return the facts of ``cert``. Never raises on a parseable certificate, however odd its extensions."""
    exts = {ext.oid.dotted_string: ext for ext in cert.extensions}
    bc = _value(exts, ExtensionOID.BASIC_CONSTRAINTS, x509.BasicConstraints)
    aki = _value(exts, ExtensionOID.AUTHORITY_KEY_IDENTIFIER, x509.AuthorityKeyIdentifier)
    ski = _value(exts, ExtensionOID.SUBJECT_KEY_IDENTIFIER, x509.SubjectKeyIdentifier)
    san = _value(exts, ExtensionOID.SUBJECT_ALTERNATIVE_NAME, x509.SubjectAlternativeName)
    nc = _value(exts, ExtensionOID.NAME_CONSTRAINTS, x509.NameConstraints)
    self_issued = cert.subject == cert.issuer
    return Cert(
        origin=origin,
        subject=cert.subject.rfc4514_string(),
        issuer=cert.issuer.rfc4514_string(),
        serial=serial_hex(cert.serial_number),
        sha256=cert.fingerprint(hashes.SHA256()).hex(":").upper(),
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        key=public_key_facts(cert.public_key(), pss=cert.public_key_algorithm_oid == RSASSA_PSS_OID),
        version=1 if cert.version is x509.Version.v1 else 3,
        signature_algorithm=signature_name(cert),
        signature_hash=_signature_hash(cert),
        self_issued=self_issued,
        self_signed=self_issued and is_issued_by(cert, cert),
        basic_constraints=bc is not None,
        is_ca=bc.ca if bc is not None else None,
        path_length=bc.path_length if bc is not None else None,
        key_usage=_key_usage(exts),
        eku=_eku(exts),
        ns_cert_type=_ns_cert_type(exts),
        subject_key_id=ski.digest.hex(":").upper() if ski is not None else None,
        authority_key_id=aki.key_identifier.hex(":").upper() if aki is not None and aki.key_identifier else None,
        san=tuple(general_name(n) for n in san) if san is not None else (),
        name_constraints=(
            NameConstraints(
                permitted=tuple(general_name(n) for n in nc.permitted_subtrees or ()),
                excluded=tuple(general_name(n) for n in nc.excluded_subtrees or ()),
            )
            if nc is not None
            else None
        ),
        unknown_critical_extensions=tuple(
            oid for oid, ext in exts.items() if ext.critical and oid not in _OPENSSL_SUPPORTED
        ),
        public_ca_issued=_public_ca(cert.issuer),
        public_ca_named=_public_ca(cert.subject),
        ocsp_urls=_ocsp_urls(exts),
    )


def _ocsp_urls(exts: _Extensions) -> tuple[str, ...]:
    aia = _value(exts, ExtensionOID.AUTHORITY_INFORMATION_ACCESS, x509.AuthorityInformationAccess)
    if aia is None:
        return ()
    return tuple(
        d.access_location.value
        for d in aia
        if d.access_method == x509.oid.AuthorityInformationAccessOID.OCSP
        and isinstance(d.access_location, x509.UniformResourceIdentifier)
    )


def serial_hex(serial: int) -> str:
    """The serial as ``openssl x509 -serial`` prints it: upper-case hex, an even number of digits."""
    text = f"{serial:X}"
    return text if len(text) % 2 == 0 else "0" + text


def is_issued_by(cert: x509.Certificate, issuer: x509.Certificate) -> bool:
    """True when ``issuer``'s name matches and its key verifies ``cert``'s signature, whatever the digest.

    cryptography's verify_directly_issued_by refuses SHA-1 signatures; OpenSSL checks them (and reports the weak
    digest separately, as error 68), so the signature is verified here with the primitives.
    """
    return cert.issuer == issuer.subject and signature_verifies(cert, issuer.public_key())


def signature_verifies(cert: x509.Certificate, key: PublicKeyTypes) -> bool:
    """``key`` verifies ``cert``'s signature (RSA PKCS#1 v1.5 or PSS, ECDSA, DSA, EdDSA; SHA-1 included)."""
    try:
        algorithm = cert.signature_hash_algorithm
        params = cert.signature_algorithm_parameters
        data, signature = cert.tbs_certificate_bytes, cert.signature
        if isinstance(key, rsa.RSAPublicKey) and algorithm is not None and not isinstance(params, ec.ECDSA):
            key.verify(signature, data, params, algorithm)  # type: ignore[arg-type]
        elif isinstance(key, ec.EllipticCurvePublicKey) and algorithm is not None:
            key.verify(signature, data, ec.ECDSA(algorithm))
        elif isinstance(key, dsa.DSAPublicKey) and algorithm is not None:
            key.verify(signature, data, algorithm)
        elif isinstance(key, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
            key.verify(signature, data)
        else:
            return False
    except (InvalidSignature, UnsupportedAlgorithm, ValueError, TypeError):
        return False
    return True


def public_key_facts(key: PublicKeyTypes, *, pss: bool = False) -> PublicKey:
    """Type, size and OpenSSL security bits of a public key; ``pss``: its SubjectPublicKeyInfo says RSA-PSS."""
    if isinstance(key, rsa.RSAPublicKey):
        kind = KeyType.RSA_PSS if pss else KeyType.RSA
        return PublicKey(type=kind, bits=key.key_size, curve=None, security_bits=ifc_security_bits(key.key_size))
    if isinstance(key, dsa.DSAPublicKey):
        return PublicKey(type=KeyType.DSA, bits=key.key_size, curve=None, security_bits=ifc_security_bits(key.key_size))
    if isinstance(key, ec.EllipticCurvePublicKey):
        return PublicKey(type=KeyType.EC, bits=key.key_size, curve=key.curve.name, security_bits=ec_security_bits(key))
    if isinstance(key, ed25519.Ed25519PublicKey):
        return PublicKey(type=KeyType.ED25519, bits=256, curve=None, security_bits=128)
    if isinstance(key, ed448.Ed448PublicKey):
        return PublicKey(type=KeyType.ED448, bits=456, curve=None, security_bits=224)
    return PublicKey(type=KeyType.OTHER, bits=0, curve=None, security_bits=0)


def ec_security_bits(key: ec.EllipticCurvePublicKey) -> int:
    """OpenSSL's security bits of an EC key (crypto/ec/ec_key.c, ec_security_bits): from the group order's size,
    in steps: 512+ bits 256 (so P-521 is 256, not 260), 384+ 192, 256+ 128, 224+ 112, 160+ 80, else half."""
    # The group orders of the named curves are as long as their field (the cofactor is 1 for all of them).
    order_bits = key.curve.group_order.bit_length()
    for bits, strength in ((512, 256), (384, 192), (256, 128), (224, 112), (160, 80)):
        if order_bits >= bits:
            return strength
    return order_bits // 2


def ifc_security_bits(n: int) -> int:
    """Security bits of an RSA/DSA modulus as OpenSSL computes them (crypto/rsa/rsa_lib.c, NIST SP 800-56B)."""
    for bits, strength in ((15360, 256), (7680, 192), (3072, 128), (2048, 112), (1024, 80)):
        if n >= bits:
            return strength
    if n < 8:
        return 0
    # Below 1024 bits OpenSSL evaluates the GNFS cost formula; only its being < 80 matters here.
    x = n * math.log(2)
    return max(0, int((1.923 * math.cbrt(x) * math.cbrt(math.log(x)) ** 2 - 4.69) / math.log(2)))


def general_name(name: x509.GeneralName) -> str:
    """A general name in OpenSSL's notation (``DNS:a.example``, ``IP Address:10.0.0.1``, ``DirName:...``)."""
    if isinstance(name, x509.DNSName):
        return f"DNS:{name.value}"
    if isinstance(name, x509.RFC822Name):
        return f"email:{name.value}"
    if isinstance(name, x509.UniformResourceIdentifier):
        return f"URI:{name.value}"
    if isinstance(name, x509.IPAddress):
        value = name.value
        if isinstance(value, ipaddress.IPv4Network | ipaddress.IPv6Network):
            return f"IP:{value.network_address}/{value.netmask}"
        return f"IP Address:{value}"
    if isinstance(name, x509.DirectoryName):
        return f"DirName:{name.value.rfc4514_string()}"
    if isinstance(name, x509.RegisteredID):
        return f"Registered ID:{name.value.dotted_string}"
    if isinstance(name, x509.OtherName):
        return f"othername:{name.type_id.dotted_string}"
    return str(name)


def _value(exts: _Extensions, oid: x509.ObjectIdentifier, kind: type[_E]) -> _E | None:
    ext = exts.get(oid.dotted_string)
    if ext is None or not isinstance(ext.value, kind):
        return None
    return ext.value


def signature_name(cert: x509.Certificate) -> str:
    """OpenSSL's name of the signature algorithm (``ecdsa-with-SHA256``), or its dotted OID when unnamed."""
    oid = cert.signature_algorithm_oid
    name = oid._name  # noqa: SLF001 - cryptography keeps OpenSSL's names only here
    return name if name != "Unknown OID" else oid.dotted_string


def _signature_hash(cert: x509.Certificate) -> str | None:
    try:
        algorithm = cert.signature_hash_algorithm
    except UnsupportedAlgorithm:
        return "unknown"
    return algorithm.name if algorithm is not None else None


def _key_usage(exts: _Extensions) -> frozenset[str] | None:
    ku = _value(exts, ExtensionOID.KEY_USAGE, x509.KeyUsage)
    if ku is None:
        return None
    names = {
        "digitalSignature": ku.digital_signature,
        "nonRepudiation": ku.content_commitment,
        "keyEncipherment": ku.key_encipherment,
        "dataEncipherment": ku.data_encipherment,
        "keyAgreement": ku.key_agreement,
        "keyCertSign": ku.key_cert_sign,
        "cRLSign": ku.crl_sign,
    }
    if ku.key_agreement:
        names["encipherOnly"] = ku.encipher_only
        names["decipherOnly"] = ku.decipher_only
    return frozenset(name for name, on in names.items() if on)


def _eku(exts: _Extensions) -> frozenset[str] | None:
    eku = _value(exts, ExtensionOID.EXTENDED_KEY_USAGE, x509.ExtendedKeyUsage)
    if eku is None:
        return None
    return frozenset(_EKU_NAMES.get(oid, oid.dotted_string) for oid in eku)


def _ns_cert_type(exts: _Extensions) -> frozenset[str] | None:
    ext = exts.get(NS_CERT_TYPE_OID.dotted_string)
    if ext is None or not isinstance(ext.value, x509.UnrecognizedExtension):
        return None
    der = ext.value.value
    # DER BIT STRING: tag 0x03, length, unused-bits count, then the bits (first byte holds bits 0-7).
    if len(der) < 4 or der[0] != 0x03:
        return frozenset()
    first = der[3]
    return frozenset(name for i, name in enumerate(_NS_BITS) if first & (0x80 >> i))


def _public_ca(name: x509.Name) -> bool:
    orgs = [str(a.value).lower() for a in name.get_attributes_for_oid(NameOID.ORGANIZATION_NAME)]
    return any(org.startswith(known) for org in orgs for known in _PUBLIC_CA_ORGS)
