"""Inputs → Facts: read every file once, describe every certificate once, build the path, run the twin.

User data never makes this raise, except for input that cannot be read at all (InputError: exit 2). Anything that
cannot be established becomes UNKNOWN with a reason, which not_evaluated findings carry.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mtls_doctor.facts.certificate import describe
from mtls_doctor.facts.chain import Node, build_path
from mtls_doctor.facts.client import ClientParts, client_parts
from mtls_doctor.facts.model import (
    Cert,
    CertFile,
    ClientFacts,
    ClockFacts,
    Crl,
    CrlFile,
    Facts,
    OcspFacts,
    PathFacts,
    RevocationFacts,
    ServerFacts,
    Verdict,
)
from mtls_doctor.facts.nearby import find_issuer
from mtls_doctor.facts.revocation import describe_crl, revocation_facts
from mtls_doctor.facts.startup import (
    ca_file_error,
    crl_file_error,
    missing_ca_file_error,
    ocsp_error,
    verify_needs_ca_file,
)
from mtls_doctor.facts.verdict import nginx_verdict
from mtls_doctor.inputs import Inputs
from mtls_doctor.openssl.generations import twin_depth
from mtls_doctor.pki.certs import CertBundle, load_cert_file, load_key_from_bundle
from mtls_doctor.pki.crls import CrlBundle, LoadedCrl, crl_block, load_crl_file
from mtls_doctor.pki.keys import LoadedKey, load_key_file
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import Record, replace
from mtls_doctor.twin.handshake import TwinClient, TwinServer, run_twin
from mtls_doctor.twin.result import TwinFacts
from mtls_doctor.vocabulary import UNKNOWN, CertSource, FileFormat, OcspMode, Origin, Outcome, Unknown, VerifyClient

_SHA256 = hashes.SHA256()


class Gathered(Record):
    """The facts, and why some of them are UNKNOWN (fact path → reason)."""

    facts: Facts
    unknown_reasons: dict[str, str]


def gather(inputs: Inputs, *, now: datetime, passwords: Passwords) -> Gathered:
    """Compute every fact the rules read. ``now`` is the local clock; ``inputs.at`` the server's."""
    at = inputs.at or now
    reasons: dict[str, str] = {}
    described: dict[tuple[bytes, Origin], Cert] = {}

    def cert_file(bundle: CertBundle) -> CertFile:
        return CertFile(
            path=bundle.path,
            format=bundle.format,
            certs=tuple(_describe_once(c.cert, c.origin, described) for c in bundle.certs),
            stray=bundle.stray,
            private_keys_inside=len(bundle.key_blocks) + (1 if bundle.pkcs12_key else 0),
        )

    client_bundle = load_cert_file(inputs.cert, what="client certificate", passwords=passwords) if inputs.cert else None
    chain_bundle = load_cert_file(inputs.chain, what="chain", passwords=passwords) if inputs.chain else None
    key: LoadedKey | None = None
    if inputs.key:
        key = load_key_file(inputs.key, passwords)
    elif client_bundle is not None:
        key = load_key_from_bundle(client_bundle, passwords)
    ca_bundle = load_cert_file(inputs.ca, what="CA", passwords=passwords) if inputs.ca else None
    trusted_bundle = load_cert_file(inputs.trusted, what="trusted CA", passwords=passwords) if inputs.trusted else None
    crl_bundles = [load_crl_file(p) for p in inputs.crls]

    ca_file = cert_file(ca_bundle) if ca_bundle else None
    trusted_file = cert_file(trusted_bundle) if trusted_bundle else None
    store = _nodes(ca_bundle, ca_file, CertSource.CA_FILE) + _nodes(
        trusted_bundle, trusted_file, CertSource.TRUSTED_FILE
    )
    # ssl_crl loads the certificates of its file into the trust store as well (X509_load_cert_crl_file): trusted,
    # never advertised, like ssl_trusted_certificate.
    crl_certs = [_certs_of(b) for b in crl_bundles if b.certs]
    for bundle in crl_certs:
        store += _nodes(bundle, cert_file(bundle), CertSource.CRL_FILE)

    client: ClientParts | None = None
    path_nodes: list[Node] = []
    path: PathFacts | Unknown | None = None
    if client_bundle is not None:
        cf = cert_file(client_bundle)
        chf = cert_file(chain_bundle) if chain_bundle else None
        sent = _nodes(client_bundle, cf, CertSource.SENT) + _nodes(chain_bundle, chf, CertSource.SENT)
        client = client_parts(cf, client_bundle, chf, chain_bundle, key)
        sent = [sent[i] for i in client.order]
        path, path_nodes = _path(sent, store, at, inputs, _advertised(ca_file))
        if path.issuer_missing is not None:
            path = replace(path, issuer_found=_issuer_nearby(path_nodes[-1].cert, inputs))
        on_path = {n.cert for n in path_nodes}  # by certificate: the path may hold the trust store's copy
        unrelated = tuple(n.facts for n in sent[1:] if n.cert not in on_path)
        client = replace(client, facts=replace(client.facts, unrelated_sent=unrelated))

    known = store + ([n for n in path_nodes if n.source is CertSource.SENT])
    crl_items = [(describe_crl(loaded, known)[0], loaded) for loaded in _crls(crl_bundles, ca_bundle, trusted_bundle)]
    crl_files = tuple(_crl_file(b, crl_items) for b in crl_bundles)
    revocation: RevocationFacts | Unknown | None = None
    if crl_bundles and path_nodes:
        revocation = revocation_facts(path_nodes, crl_items, at=at)

    server = ServerFacts(
        verify_client=inputs.verify_client,
        verify_depth=inputs.depth,
        seclevel=inputs.seclevel,
        ca_file=ca_file,
        trusted_file=trusted_file,
        crl_files=crl_files,
        crl_check=bool(crl_bundles),
        non_pem_crl_files=tuple(f for f in crl_files if f.format is not FileFormat.PEM),
        advertised_ca_names=_advertised(ca_file),
        non_ca_in_ca_file=tuple(c for c in ca_file.certs if not c.is_ca) if ca_file else (),
        config_error=_config_error(inputs, ca_file, crl_files),
        ocsp=inputs.ocsp,
        ocsp_responder=inputs.ocsp_responder,
        stream=inputs.stream,
        error_pages=inputs.error_pages,
    )
    twin: TwinFacts | Unknown | None = None
    if server.config_error is None:
        twin = _twin(
            inputs,
            at=at,
            client=client,
            ca=ca_bundle,
            trusted=[b for b in (trusted_bundle, *crl_certs) if b is not None],
            crls=crl_items,
            reasons=reasons,
        )
    ocsp = _ocsp(inputs, path) if client is not None else None
    verdict = _verdict(server, client.facts if client else None, twin, ocsp)
    clock = ClockFacts(
        at=at,
        local_now=now,
        skewed=abs(at - now) > timedelta(minutes=1),
        valid_locally_only=_valid_locally_only(path_nodes, at, now) if inputs.at else (),
        crls_valid_locally_only=tuple(
            c for c, loaded in crl_items if _on_path(loaded, path_nodes) and _current(c, now) and not _current(c, at)
        )
        if inputs.at
        else (),
    )
    # With ssl_verify_client off nginx never asks for a certificate, so nothing about its path can matter: the
    # certificate rules are then not applicable (MTLS605 says why), while the client-side ones (key, format) still are.
    verifies = inputs.verify_client is not VerifyClient.OFF
    facts = Facts(
        clock=clock,
        client=client.facts if client else None,
        server=server,
        path=path if verifies else None,
        revocation=revocation if verifies else None,
        twin=twin,
        ocsp=ocsp if verifies else None,
        verdict=verdict,
    )
    return Gathered(facts=facts, unknown_reasons=reasons)


def _describe_once(cert: x509.Certificate, origin: Origin, described: dict[tuple[bytes, Origin], Cert]) -> Cert:
    # One Cert per (certificate, place): the same CA in two files is two pieces of evidence.
    key = (cert.fingerprint(_SHA256), origin)
    if key not in described:
        described[key] = describe(cert, origin)
    return described[key]


def _nodes(bundle: CertBundle | None, facts: CertFile | None, source: CertSource) -> list[Node]:
    if bundle is None or facts is None:
        return []
    return [Node(cert=c.cert, facts=f, source=source) for c, f in zip(bundle.certs, facts.certs, strict=True)]


def _path(
    sent: list[Node], store: list[Node], at: datetime, inputs: Inputs, advertised: tuple[str, ...]
) -> tuple[PathFacts, list[Node]]:
    depth = twin_depth(inputs.depth, inputs.openssl)
    path = build_path(sent[0], sent[1:], store, at=at, depth=depth, level=inputs.seclevel, advertised=advertised)
    by_facts = {id(n.facts): n for n in (*sent, *store)}
    return path, [by_facts[id(c)] for c in path.certs]


def _issuer_nearby(child: x509.Certificate, inputs: Inputs) -> Cert | None:
    """The missing issuer of ``child``, from --issuers first, then the directories of the input files."""
    given = [p for p in (inputs.cert, inputs.chain, inputs.key, inputs.ca, inputs.trusted) if p and p != "-"]
    places = [Path(p) for p in inputs.issuers] + list(dict.fromkeys(Path(p).parent for p in given))
    found = find_issuer(child, places, skip=[Path(p) for p in given])
    return describe(found.cert, Origin(source=str(found.path), line=found.line)) if found else None


def _crls(crl_files: list[CrlBundle], *trust_files: CertBundle | None) -> list[LoadedCrl]:
    """The CRLs the server's store holds when ssl_crl turns the check on: those of the ssl_crl files, and those of the
    CA files, which SSL_CTX_load_verify_locations loads with their certificates (observed with nginx 1.22.1: a root
    CRL in ssl_client_certificate satisfies the check; sample_pki scenario crl-root-crl-in-ca-file)."""
    if not crl_files:
        return []
    in_trust_files = [crl_block(block, f.path) for f in trust_files if f is not None for block in f.crl_blocks]
    return [*(loaded for f in crl_files for loaded in f.crls), *in_trust_files]


def _certs_of(bundle: CrlBundle) -> CertBundle:
    """The certificates of a CRL file, as a certificate file of their own."""
    return CertBundle(
        path=bundle.path,
        format=bundle.format,
        certs=bundle.certs,
        stray=(),
        key_blocks=(),
        crl_blocks=(),
        pkcs12_key=None,
    )


def _crl_file(bundle: CrlBundle, items: list[tuple[Crl, LoadedCrl]]) -> CrlFile:
    mine = tuple(f for f, loaded in items if any(loaded is c for c in bundle.crls))
    return CrlFile(
        origin=Origin(source=bundle.path), path=bundle.path, crls=mine, stray=bundle.stray, format=bundle.format
    )


def _advertised(ca_file: CertFile | None) -> tuple[str, ...]:
    """SSL_load_client_CA_file: the subjects of the CA file in order, a repeated subject listed once."""
    names: list[str] = []
    for cert in ca_file.certs if ca_file else ():
        if cert.subject not in names:
            names.append(cert.subject)
    return tuple(names)


def _config_error(inputs: Inputs, ca_file: CertFile | None, crl_files: tuple[CrlFile, ...]) -> str | None:
    """nginx's own emerg message when it refuses to start with these settings (confirmed with nginx -t)."""
    if inputs.startup_error is not None:
        return inputs.startup_error
    if ca_file is None and verify_needs_ca_file(inputs.verify_client, inputs.nginx_version):
        return missing_ca_file_error()
    if ca_file is not None:
        error = ca_file_error(ca_file.path, ca_file.format)
        if error is not None:
            return error
    for crl in crl_files:
        error = crl_file_error(crl.path, crl.format)
        if error is not None:
            return error
    return ocsp_error(inputs.verify_client, inputs.ocsp)


def _twin(
    inputs: Inputs,
    *,
    at: datetime,
    client: ClientParts | None,
    ca: CertBundle | None,
    trusted: list[CertBundle],
    crls: list[tuple[Crl, LoadedCrl]],
    reasons: dict[str, str],
) -> TwinFacts | Unknown:
    chain: tuple[x509.Certificate, ...] = ()
    key = None
    if client is not None:
        if client.key is None:
            reasons["twin"] = "no private key was given (--key), so the handshake cannot be reproduced"
            return UNKNOWN
        if client.leaf_for_twin is None:
            reasons["twin"] = "the private key matches none of the client's certificates"
            return UNKNOWN
        chain, key = client.leaf_for_twin, client.key.key
    server = TwinServer(
        verify_client=inputs.verify_client,
        verify_depth=twin_depth(inputs.depth, inputs.openssl),
        ca_certs=tuple(c.cert for c in ca.certs) if ca else (),
        trusted_certs=tuple(c.cert for b in trusted for c in b.certs),
        crls=tuple(loaded.crl for _, loaded in crls),
        crl_check=bool(inputs.crls),
        seclevel=inputs.seclevel,
        at=at,
        max_tls=inputs.max_tls,
        openssl=inputs.openssl,
    )
    return run_twin(server, TwinClient(chain=chain, key=key))


def _ocsp(inputs: Inputs, path: PathFacts | Unknown | None) -> OcspFacts | None:
    """What ssl_ocsp asks about once the chain has verified (ngx_ssl_ocsp_validate_next): every certificate of the
    verified chain but the anchor, or the client certificate alone with ``leaf``; None when there is no such chain."""
    if inputs.ocsp is OcspMode.OFF or not isinstance(path, PathFacts) or path.anchor is None:
        return None
    chain = path.certs
    checked = chain[: len(chain) - 1] if inputs.ocsp is OcspMode.ON else chain[: min(1, len(chain) - 1)]
    if inputs.ocsp_responder:
        without: tuple[Cert, ...] = ()
        responders: tuple[str, ...] = (inputs.ocsp_responder,) if checked else ()
    else:
        # ngx_ssl_ocsp_responder: the first OCSP URL of the certificate, and only http:// ("invalid URL prefix").
        first = [c.ocsp_urls[0] if c.ocsp_urls else "" for c in checked]
        without = tuple(c for c, url in zip(checked, first, strict=True) if not url.lower().startswith("http://"))
        responders = tuple(dict.fromkeys(url for url in first if url))
    return OcspFacts(checked=checked, without_responder=without, responders=responders)


def _verdict(
    server: ServerFacts, client: ClientFacts | None, twin: TwinFacts | Unknown | None, ocsp: OcspFacts | None
) -> Verdict:
    if server.config_error is not None:
        return _plain(Outcome.SERVER_CONFIG_ERROR, server.config_error)
    if client is not None and client.presentation_error is not None:
        return _plain(Outcome.CLIENT_ERROR, client.presentation_error)
    if isinstance(twin, TwinFacts):
        return nginx_verdict(server.verify_client, twin, ocsp, stream=server.stream, error_pages=server.error_pages)
    return _plain(Outcome.UNKNOWN, None)


def _plain(outcome: Outcome, reason: str | None) -> Verdict:
    return Verdict(
        outcome=outcome,
        http_status=None,
        reason=reason,
        verify_error=None,
        errors_seen=(),
        ssl_client_verify=None,
        log_line=None,
        forgiven=False,
    )


def _on_path(loaded: LoadedCrl, path: list[Node]) -> bool:
    """OpenSSL consults only the CRLs issued by a CA of the path."""
    return any(n.cert.subject == loaded.crl.issuer for n in path)


def _current(crl: Crl, t: datetime) -> bool:
    return crl.this_update <= t and (crl.next_update is None or t <= crl.next_update)


def _valid_locally_only(path: list[Node], at: datetime, now: datetime) -> tuple[Cert, ...]:
    def valid(c: Cert, t: datetime) -> bool:
        return c.not_before <= t <= c.not_after

    return tuple(n.facts for n in path if valid(n.facts, now) and not valid(n.facts, at))
