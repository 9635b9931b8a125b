"""sample_pki/MANIFEST.toml as typed specs: the certificates, CRLs and one-defect scenarios to generate."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mtls_doctor.record import Record, replace
from mtls_doctor.vocabulary import OcspMode, Outcome, VerifyClient

MANIFEST_NAME = "MANIFEST.toml"


class ManifestError(ValueError):
    """The manifest contradicts itself (unknown issuer, unknown scenario field, ...)."""


class CertSpec(Record):
    """One certificate to issue. Fields left out take the manifest's [defaults]."""

    name: str
    cn: str
    ou: str | None
    o: str | None
    issuer: str
    """Name of the issuing certificate; the certificate's own name when self-signed."""
    key: str
    """``ec-p256``, ``ec-p384``, ``rsa-1024``, ``rsa-2048``."""
    key_seed: str
    """Keys are derived from this seed, so files are reproducible byte for byte (default: the cert name)."""
    ca: bool | None
    """basicConstraints cA; None omits the extension."""
    path_length: int | None
    key_usage: tuple[str, ...] | None
    eku: tuple[str, ...] | None
    ns_cert_type: tuple[str, ...] | None
    san: tuple[str, ...]
    permitted: tuple[str, ...]
    excluded: tuple[str, ...]
    not_before: datetime
    not_after: datetime
    signature_hash: str
    key_ids: bool
    """Include subjectKeyIdentifier / authorityKeyIdentifier (OpenSSL's default does)."""
    unknown_extension: str | None
    """Dotted OID of a private extension to add."""
    unknown_extension_critical: bool
    version: int = 3
    signature_padding: str = "pkcs1"
    """For an RSA issuer: ``pkcs1`` (PKCS#1 v1.5) or ``pss`` (RSASSA-PSS, SHA-256, salt length 0: reproducible)."""
    """X.509 version: 1 writes no version field and no extensions at all (``openssl x509 -req`` without -extfile
    used to)."""

    @property
    def self_signed(self) -> bool:
        """Issued by itself."""
        return self.issuer == self.name


class CrlSpec(Record):
    """One CRL to issue."""

    name: str
    issuer: str
    revoked: tuple[str, ...]
    this_update: datetime
    next_update: datetime
    signed_by: str | None
    """Sign with this key seed instead of the issuer's: a CRL with a bad signature."""


class Expect(Record):
    """What nginx 1.22.1 with OpenSSL 3.0.19 was observed to do (re-checked by the real-nginx tests)."""

    outcome: Outcome
    status: int | None
    verify: int | None
    """The code in ``client SSL certificate verify error: (N:...)``; None when nothing is logged."""
    reason: str | None
    permissive: Expect | None = None
    """What nginx does when a permissive client (``openssl s_client -cipher DEFAULT:@SECLEVEL=0``) sends the files a
    refusing client (curl) will not: the harness probes with both."""


class Scenario(Record):
    """A client and a server configuration with (at most) one defect between them."""

    name: str
    description: str
    client: tuple[str, ...]
    """The client's cert file, in order: curl and nginx take the first as the leaf and send the rest."""
    key: str | None
    """Whose private key the client uses (default: the first certificate's)."""
    cert_format: str
    """``pem``, ``der`` or ``pem-with-text`` (openssl -showcerts style text around the blocks)."""
    chain: tuple[str, ...]
    ca: tuple[str, ...]
    trusted: tuple[str, ...]
    crl: tuple[str, ...]
    crl_certs: tuple[str, ...]
    """Certificates written into the CRL file after its CRLs (ssl_crl loads them into the trust store too)."""
    ca_crls: tuple[str, ...]
    """CRLs written into the CA file after its certificates (nginx loads them into the trust store too)."""
    ca_format: str
    """``pem`` or ``der`` (nginx needs PEM)."""
    ca_fillers: int
    """Self-signed CA certificates with long names appended to the CA file (issue.filler_cas)."""
    crl_format: str
    verify_client: VerifyClient
    ocsp: OcspMode
    """``ssl_ocsp`` (default off)."""
    depth: int | None
    """``ssl_verify_depth``; None leaves nginx's default (1)."""
    seclevel: int | None
    """``ssl_ciphers DEFAULT:@SECLEVEL=n``; None leaves OpenSSL's default (2 on Debian)."""
    server_time: datetime | None
    """The server's clock (nginx runs under faketime; check gets --at)."""
    client_tool: str
    """The client model (``curl``, or ``s_client-seclevel0`` for certificates curl refuses to send)."""
    tls: str
    """The server's highest protocol: ``1.3`` (ssl_protocols TLSv1.2 TLSv1.3) or ``1.2`` (ssl_protocols TLSv1.2)."""
    expect: Expect
    issuers: tuple[str, ...]
    """``--issuers``: where the nearby-issuer search looks too (paths relative to the sample PKI's root)."""
    cause: str | None
    """The rule of the first root cause the diagnosis must name (tests/test_consistency.py); None when no rule
    fails."""
    tags: tuple[str, ...] = ()

    @property
    def has_client_cert(self) -> bool:
        """The client presents a certificate at all."""
        return bool(self.client)


class Manifest(Record):
    """The whole sample PKI."""

    certs: dict[str, CertSpec]
    crls: dict[str, CrlSpec]
    scenarios: dict[str, Scenario]
    server_cert: str
    """The certificate nginx serves in the tests."""


def default_manifest_path() -> Path:
    """The manifest shipped in the wheel, or sample_pki/MANIFEST.toml of a checkout."""
    shipped = Path(__file__).resolve().parents[1] / "_sample_pki" / MANIFEST_NAME
    if shipped.is_file():
        return shipped
    return Path(__file__).resolve().parents[2] / "sample_pki" / MANIFEST_NAME


def load_manifest(path: Path | None = None) -> Manifest:
    """Parse and cross-check the manifest; ManifestError names the first inconsistency."""
    path = path or default_manifest_path()
    with path.open("rb") as f:
        raw = tomllib.load(f)
    if raw.get("schema") != 1:
        raise ManifestError(f"{path}: unsupported schema {raw.get('schema')!r}")
    defaults = raw.get("defaults", {})
    certs = {name: _cert(name, spec, defaults) for name, spec in raw.get("certs", {}).items()}
    crls = {name: _crl(name, spec, defaults) for name, spec in raw.get("crls", {}).items()}
    scenarios = {name: _scenario(name, spec) for name, spec in raw.get("scenarios", {}).items()}
    manifest = Manifest(certs=certs, crls=crls, scenarios=scenarios, server_cert=raw["server_cert"])
    _check(manifest)
    return manifest


_CERT_KEYS = {
    "cn", "ou", "o", "issuer", "key", "key_seed", "ca", "path_length", "key_usage", "eku", "ns_cert_type", "san",
    "permitted", "excluded", "not_before", "not_after", "signature_hash", "key_ids", "unknown_extension",
    "unknown_extension_critical", "basic_constraints", "version", "signature_padding",
}  # fmt: skip


def _cert(name: str, spec: dict[str, Any], defaults: dict[str, Any]) -> CertSpec:
    _only(name, spec, _CERT_KEYS)
    has_bc = spec.get("basic_constraints", True)
    return CertSpec(
        name=name,
        cn=spec["cn"],
        ou=spec.get("ou"),
        o=spec.get("o", defaults.get("organization")),
        issuer=spec.get("issuer", name),
        key=spec.get("key", "ec-p256"),
        key_seed=spec.get("key_seed", name),
        ca=spec.get("ca", False) if has_bc else None,
        path_length=spec.get("path_length"),
        key_usage=_tuple(spec.get("key_usage")),
        eku=_tuple(spec.get("eku")),
        ns_cert_type=_tuple(spec.get("ns_cert_type")),
        san=tuple(spec.get("san", ())),
        permitted=tuple(spec.get("permitted", ())),
        excluded=tuple(spec.get("excluded", ())),
        not_before=_utc(spec.get("not_before", defaults["not_before"])),
        not_after=_utc(spec.get("not_after", defaults["not_after"])),
        signature_hash=spec.get("signature_hash", "sha256"),
        key_ids=spec.get("key_ids", True),
        unknown_extension=spec.get("unknown_extension"),
        unknown_extension_critical=spec.get("unknown_extension_critical", False),
        version=spec.get("version", 3),
        signature_padding=spec.get("signature_padding", "pkcs1"),
    )


def _crl(name: str, spec: dict[str, Any], defaults: dict[str, Any]) -> CrlSpec:
    _only(name, spec, {"issuer", "revoked", "this_update", "next_update", "signed_by"})
    return CrlSpec(
        name=name,
        issuer=spec["issuer"],
        revoked=tuple(spec.get("revoked", ())),
        this_update=_utc(spec.get("this_update", defaults["crl_this_update"])),
        next_update=_utc(spec.get("next_update", defaults["crl_next_update"])),
        signed_by=spec.get("signed_by"),
    )


_SCENARIO_KEYS = {
    "description", "client", "key", "cert_format", "chain", "ca", "trusted", "crl", "verify_client", "depth",
    "seclevel", "server_time", "client_tool", "expect", "tags", "ca_format", "crl_format", "crl_certs",
    "ca_crls", "ocsp", "tls", "cause", "ca_fillers", "issuers",
}  # fmt: skip
CLIENT_TOOLS = ("curl", "s_client-seclevel0")


def _scenario(name: str, spec: dict[str, Any]) -> Scenario:
    _only(name, spec, _SCENARIO_KEYS)
    expect = spec["expect"]
    _only(f"{name}.expect", expect, {"outcome", "status", "verify", "reason", "permissive"})
    permissive = expect.get("permissive")
    if permissive is not None:
        _only(f"{name}.expect.permissive", permissive, {"outcome", "status", "verify", "reason"})
    server_time = spec.get("server_time")
    return Scenario(
        name=name,
        description=" ".join(spec["description"].split()),
        client=tuple(spec.get("client", ())),
        key=spec.get("key"),
        cert_format=spec.get("cert_format", "pem"),
        chain=tuple(spec.get("chain", ())),
        ca=tuple(spec.get("ca", ())),
        trusted=tuple(spec.get("trusted", ())),
        crl=tuple(spec.get("crl", ())),
        crl_certs=tuple(spec.get("crl_certs", ())),
        ca_crls=tuple(spec.get("ca_crls", ())),
        ca_format=spec.get("ca_format", "pem"),
        ca_fillers=spec.get("ca_fillers", 0),
        crl_format=spec.get("crl_format", "pem"),
        verify_client=VerifyClient(spec.get("verify_client", "on")),
        ocsp=OcspMode(spec.get("ocsp", "off")),
        depth=spec.get("depth"),
        seclevel=spec.get("seclevel"),
        server_time=_utc(server_time) if server_time is not None else None,
        client_tool=spec.get("client_tool", "curl"),
        tls=spec.get("tls", "1.3"),
        expect=replace(_expect(expect), permissive=_expect(permissive) if permissive is not None else None),
        issuers=tuple(spec.get("issuers", ())),
        cause=spec.get("cause"),
        tags=tuple(spec.get("tags", ())),
    )


def _expect(expect: dict[str, Any]) -> Expect:
    return Expect(
        outcome=Outcome(expect["outcome"]),
        status=expect.get("status"),
        verify=expect.get("verify"),
        reason=expect.get("reason"),
    )


def _check(m: Manifest) -> None:
    for cert in m.certs.values():
        if cert.issuer not in m.certs:
            raise ManifestError(f"certs.{cert.name}: unknown issuer {cert.issuer!r}")
    for crl in m.crls.values():
        for name in (crl.issuer, *crl.revoked):
            if name not in m.certs:
                raise ManifestError(f"crls.{crl.name}: unknown certificate {name!r}")
    for sc in m.scenarios.values():
        for name in (*sc.client, *sc.chain, *sc.ca, *sc.trusted, *sc.crl_certs, *((sc.key,) if sc.key else ())):
            if name not in m.certs:
                raise ManifestError(f"scenarios.{sc.name}: unknown certificate {name!r}")
        for name in (*sc.crl, *sc.ca_crls):
            if name not in m.crls:
                raise ManifestError(f"scenarios.{sc.name}: unknown CRL {name!r}")
        if sc.client_tool not in CLIENT_TOOLS:
            raise ManifestError(f"scenarios.{sc.name}: unknown client_tool {sc.client_tool!r}")
        if sc.tls not in {"1.2", "1.3"}:
            raise ManifestError(f"scenarios.{sc.name}: unknown tls {sc.tls!r}")
        if sc.expect.permissive is not None and sc.client_tool != "curl":
            raise ManifestError(f"scenarios.{sc.name}: expect.permissive is for a curl scenario")
        if sc.cert_format not in {"pem", "der", "pem-with-text"}:
            raise ManifestError(f"scenarios.{sc.name}: unknown cert_format {sc.cert_format!r}")
        for fmt in (sc.ca_format, sc.crl_format):
            if fmt not in {"pem", "der"}:
                raise ManifestError(f"scenarios.{sc.name}: unknown format {fmt!r}")
        if (sc.ca_format == "der" and len(sc.ca) != 1) or (sc.crl_format == "der" and len(sc.crl) != 1):
            raise ManifestError(f"scenarios.{sc.name}: a DER file holds exactly one certificate or CRL")
        if sc.crl_certs and (not sc.crl or sc.crl_format != "pem"):
            raise ManifestError(f"scenarios.{sc.name}: crl_certs go into a PEM CRL file, after its CRLs")
        if sc.ca_crls and (not sc.ca or sc.ca_format != "pem"):
            raise ManifestError(f"scenarios.{sc.name}: ca_crls go into a PEM CA file, after its certificates")
    if m.server_cert not in m.certs:
        raise ManifestError(f"server_cert: unknown certificate {m.server_cert!r}")


def _only(where: str, spec: dict[str, Any], allowed: set[str]) -> None:
    unknown = set(spec) - allowed
    if unknown:
        raise ManifestError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")


def _tuple(value: list[str] | None) -> tuple[str, ...] | None:
    return tuple(value) if value is not None else None


def _utc(value: datetime) -> datetime:
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
