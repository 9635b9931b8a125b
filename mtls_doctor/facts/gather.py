"""Inputs → Facts: read every file once, describe every certificate once, build the path, run the twin.

User data never makes this raise, except for input that cannot be read at all (InputError: exit 2). Anything that
cannot be established becomes UNKNOWN with a reason, which not_evaluated findings carry.
"""

from __future__ import annotations

import shlex
from datetime import datetime, timedelta
from pathlib import Path

from cryptography import x509

from mtls_doctor.facts import seclevel
from mtls_doctor.facts.certificate import describe
from mtls_doctor.facts.chain import Node, build_path
from mtls_doctor.facts.client import ClientParts, client_parts
from mtls_doctor.facts.loading import Loader
from mtls_doctor.facts.model import (
    Cert,
    CertFile,
    ClockFacts,
    Crl,
    Facts,
    OcspFacts,
    PathFacts,
    RevocationFacts,
    ServerFacts,
)
from mtls_doctor.facts.nearby import find_issuer, fix_file
from mtls_doctor.facts.observers import Observers
from mtls_doctor.facts.revocation import describe_crl, missing_crl_commands, revocation_facts
from mtls_doctor.facts.server import ServerModel, server_model, store_revocation, store_root_nearby
from mtls_doctor.facts.verdict import verdict_of
from mtls_doctor.inputs import FileRef, Inputs, ServerSettings
from mtls_doctor.openssl.generations import twin_depth
from mtls_doctor.pki.certs import CertBundle, load_cert_file, load_key_from_bundle
from mtls_doctor.pki.crls import LoadedCrl
from mtls_doctor.pki.keys import LoadedKey, load_key_file
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import Record, replace
from mtls_doctor.twin.handshake import TwinClient, TwinServer, run_twin
from mtls_doctor.twin.result import TwinFacts
from mtls_doctor.vocabulary import UNKNOWN, CertSource, ClientModel, FileFormat, OcspMode, Origin, Unknown, VerifyClient


class Gathered(Record):
    """The facts, why some of them are UNKNOWN (fact path → reason), and the observers that crashed."""

    facts: Facts
    unknown_reasons: dict[str, str]
    internal_errors: tuple[str, ...] = ()
    """Observers that crashed (their facts are UNKNOWN with this reason; the exit status is 4)."""


def gather(inputs: Inputs, *, now: datetime, passwords: Passwords, loader: Loader | None = None) -> Gathered:
    """Compute every fact the rules read. ``now`` is the local clock; ``inputs.at`` the server's.

    ``loader``: the reader of the server's files for this run (a caller that already read them passes its own, so
    that each file is read once); by default, files named on the command line.
    """
    at = inputs.at or now
    reasons: dict[str, str] = {}
    observe = Observers(reasons)
    loader = loader or Loader(strict=True, passwords=passwords)
    settings = inputs.server_settings()

    def cert_file(bundle: CertBundle) -> CertFile:
        return CertFile(
            path=bundle.path,
            format=bundle.format,
            certs=tuple(loader.describe(c.cert, c.origin) for c in bundle.certs),
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
    model = server_model(settings, loader, at=at)
    reasons.update(model.reasons)
    server = model.facts
    store = list(model.store)

    client: ClientParts | None = None
    path_nodes: list[Node] = []
    path: PathFacts | Unknown | None = None
    if client_bundle is not None:
        cf = cert_file(client_bundle)
        chf = cert_file(chain_bundle) if chain_bundle else None
        sent = _nodes(client_bundle, cf, CertSource.SENT) + _nodes(chain_bundle, chf, CertSource.SENT)
        client = client_parts(
            cf,
            client_bundle,
            chf,
            chain_bundle,
            key,
            model=inputs.client,
            protocol=settings.max_tls,
            openssl=settings.openssl,
        )
        sent = [sent[i] for i in client.order]
        advertised = server.advertised_ca_names if isinstance(server.advertised_ca_names, tuple) else ()
        built = observe.run(
            "the path builder", "path", lambda: _path(sent, store, at, settings, advertised, reasons=reasons)
        )
        if not isinstance(built, Unknown):
            path, path_nodes = built
        else:
            path = built
        if isinstance(path, PathFacts) and path.issuer_missing is not None:
            top = path_nodes[-1].cert
            found = observe.run("the nearby-issuer search", "path.issuer_found", lambda: _issuer_nearby(top, inputs))
            if not isinstance(found, Unknown) and found is not None:
                cert, file, extract = found
                path = replace(path, issuer_found=cert, issuer_file=file, issuer_extract=extract)
        on_path = {n.cert for n in path_nodes}  # by certificate: the path may hold the trust store's copy
        unrelated = tuple(n.facts for n in sent[1:] if n.cert not in on_path)
        keep = _keep_on_path(client_bundle, on_path, unrelated, leaf_first=client.order[0] == 0)
        client = replace(client, facts=replace(client.facts, unrelated_sent=unrelated, keep_on_path=keep))

    revocation: RevocationFacts | Unknown | None = None
    crl_items = list(model.crls)
    if isinstance(server.crl_check, Unknown) and path_nodes:
        revocation = UNKNOWN  # whether ssl_crl is set is not known (a handshake): its reason is crl_check's
        reasons.setdefault("revocation", reasons.get("server.crl_check", "whether ssl_crl is configured is unknown"))
    elif server.crl_check is True and path_nodes:
        # A CRL issued by an intermediate the client sends is checked with that intermediate's key.
        known = store + [n for n in path_nodes if n.source is CertSource.SENT]
        loaded = [c for _, c in model.crls]
        crl_items = [(describe_crl(c, known)[0], c) for c in loaded]
        revocation = observe.run(
            "the revocation check", "revocation", lambda: revocation_facts(path_nodes, crl_items, at=at)
        )
        if isinstance(revocation, RevocationFacts) and revocation.cas_without_crl:
            without, places, given = revocation.cas_without_crl, *_nearby_places(inputs)
            commands = observe.run(
                "the nearby-CRL search",
                "revocation.add_missing_crls",
                lambda: missing_crl_commands(
                    without, known, target=_crl_target(server), places=places, skip=given, at=at
                ),
            )
            if isinstance(commands, str):
                revocation = replace(revocation, add_missing_crls=commands)
    elif client is None:
        places = [Path(p) for p in inputs.issuers]
        revocation = observe.run(
            "the revocation check", "revocation", lambda: store_revocation(model, at=at, places=places)
        )
    if client is None:
        root = observe.run(
            "the nearby-issuer search",
            "server.root_nearby",
            lambda: store_root_nearby(model, places=[Path(p) for p in inputs.issuers]),
        )
        if not isinstance(root, Unknown):
            server = replace(server, root_nearby=root)

    twin: TwinFacts | Unknown | None = None
    if server.config_error is None:
        twin = observe.run(
            "the server twin",
            "twin",
            lambda: _twin(
                settings,
                model,
                at=at,
                client=client,
                crls=crl_items,
                reasons=reasons,
                chooser=_chooser(inputs.client, path),
            ),
        )
    ocsp: OcspFacts | Unknown | None = None
    if client is not None:
        ocsp = observe.run("the OCSP questions", "ocsp", lambda: _ocsp(settings, path))
    mode, depth, _level = settings.for_twin()
    verdict = verdict_of(server, client.facts if client else None, twin, ocsp, mode=mode)
    if verdict.forgiven is True and isinstance(path, PathFacts):
        verdict = replace(verdict, forgiven_cause=forgiven_cause(path, depth))
    if isinstance(verdict.forgiven, Unknown) and "twin" in reasons:
        reasons["verdict.forgiven"] = (
            f"whether ssl_verify_client optional_no_ca forgives the failure depends on the handshake: {reasons['twin']}"
        )
    if isinstance(settings.ocsp, Unknown) and ocsp is None and isinstance(path, PathFacts) and path.anchor is not None:
        # ssl_ocsp is not known (a handshake): the verdict above is the twin's without it, as inferred; the rules
        # about what nginx would ask get UNKNOWN
        ocsp = UNKNOWN
        reasons.setdefault("ocsp", settings.reasons.get("ocsp", "whether ssl_ocsp is configured is not known"))
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
    verifies = settings.verify_client is not VerifyClient.OFF
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
    return Gathered(facts=facts, unknown_reasons=reasons, internal_errors=tuple(observe.errors))


def _keep_on_path(
    bundle: CertBundle, on_path: set[x509.Certificate], unrelated: tuple[Cert, ...], *, leaf_first: bool
) -> str | None:
    """The sed command that keeps the certificates of the cert file on the path (the leaf is always kept), by their
    lines; None when nothing is unrelated, or not all of it is in this (PEM, regular) file."""
    certs = [c.cert for c in bundle.certs]
    if not unrelated or not leaf_first or bundle.format is not FileFormat.PEM or bundle.path == "-":
        return None
    if sum(1 for c in certs[1:] if c not in on_path) != len(unrelated):
        return None  # some unrelated certificate comes from --chain
    try:
        lines = Path(bundle.path).read_text(errors="replace").splitlines()
    except OSError:
        return None
    ranges = []
    for i, c in enumerate(bundle.certs):
        begin = c.origin.line
        if begin is None:
            return None
        if i == 0 or c.cert in on_path:
            end = next((n for n in range(begin, len(lines) + 1) if "-----END CERTIFICATE-----" in lines[n - 1]), None)
            if end is None:
                return None
            ranges.append(f"{begin},{end}p")
    return f"sed -n '{';'.join(ranges)}' {shlex.quote(bundle.path)} > client-chain.pem"


def forgiven_cause(path: PathFacts, depth: int) -> str:
    """Why the chain failed verification, for a failure optional_no_ca forgave (18, 19, 20, 21)."""
    if path.self_signed_leaf_untrusted:
        return f"The client certificate {path.certs[0]} is self-signed and not in the server's trust store"
    if path.untrusted_root_sent is not None:
        return f"The client's chain ends in its own root {path.untrusted_root_sent}, which the server does not trust"
    if path.depth_exceeded:
        return (
            f"The chain has {path.intermediate_count} intermediate CA(s), more than ssl_verify_depth {depth} admits "
            "(the CA is trusted)"
        )
    if path.issuer_missing is not None:
        return f"The client's CA {path.issuer_missing} is not in the server's trust store"
    return "The chain does not verify"


def _nodes(bundle: CertBundle | None, facts: CertFile | None, source: CertSource) -> list[Node]:
    if bundle is None or facts is None:
        return []
    return [Node(cert=c.cert, facts=f, source=source) for c, f in zip(bundle.certs, facts.certs, strict=True)]


def _path(
    sent: list[Node],
    store: list[Node],
    at: datetime,
    settings: ServerSettings,
    advertised: tuple[str, ...],
    *,
    reasons: dict[str, str],
) -> tuple[PathFacts, list[Node]]:
    """The path as nginx's OpenSSL builds it. Where the depth or the security level is UNKNOWN (a handshake) the
    path is built with the inference's values, and what depends on them is UNKNOWN (with the setting's reason)
    unless no value could change it."""
    _mode, depth, level = settings.for_twin()
    path = build_path(
        sent[0], sent[1:], store, at=at, depth=twin_depth(depth, settings.openssl), level=level, advertised=advertised
    )
    if isinstance(settings.verify_depth, Unknown) and path.intermediate_count > 0:
        why = settings.reasons.get("verify_depth", "ssl_verify_depth is not known")
        path = replace(path, depth_exceeded=UNKNOWN, depth_overflow_in_store=UNKNOWN)
        reasons.setdefault("path.depth_exceeded", why)
        reasons.setdefault("path.depth_overflow_in_store", why)
    if isinstance(settings.seclevel, Unknown):
        path = _at_unknown_level(path, settings.reasons.get("seclevel", "the security level is not known"), reasons)
    by_facts = {id(n.facts): n for n in (*sent, *store)}
    return path, [by_facts[id(c)] for c in path.certs]


def _at_unknown_level(path: PathFacts, why: str, reasons: dict[str, str]) -> PathFacts:
    """The weak-key and weak-digest facts at a security level that is not known: what passes the highest level (5)
    passes any; anything weaker is UNKNOWN (level 0 admits every key)."""
    top = seclevel.HIGHEST_LEVEL
    leaf, cas, inter = path.certs[0], path.certs[1:], path.intermediates
    facts: dict[str, bool | tuple[Cert, ...] | Unknown] = {
        "weak_leaf_key": False if not seclevel.key_too_weak(leaf.key, top) else UNKNOWN,
        "weak_ca_keys": () if not any(seclevel.key_too_weak(c.key, top) for c in cas) else UNKNOWN,
        "weak_leaf_digest": False if not seclevel.digest_too_weak(leaf, top) else UNKNOWN,
        "weak_digest_intermediates": () if not any(seclevel.digest_too_weak(c, top) for c in inter) else UNKNOWN,
    }
    for name, value in facts.items():
        if isinstance(value, Unknown):
            reasons.setdefault(f"path.{name}", why)
    return replace(path, **facts)


def _crl_target(server: ServerFacts) -> str | None:
    """The ssl_crl file a missing CRL is appended to (the first, when flags name several)."""
    return server.crl_files[0].path if isinstance(server.crl_files, tuple) and server.crl_files else None


def _nearby_places(inputs: Inputs) -> tuple[list[Path], list[Path]]:
    """Where a missing issuer or CRL is looked for (--issuers first, then the directories of the input files), and
    the input files themselves, which are not candidates."""
    settings = inputs.server_settings()
    server_files = [f.path for f in (settings.ca_file, settings.trusted_file) if isinstance(f, FileRef)]
    crl_files = [f.path for f in settings.crl_files] if isinstance(settings.crl_files, tuple) else []
    given = [p for p in (inputs.cert, inputs.chain, inputs.key, *server_files, *crl_files) if p and p != "-"]
    places = [Path(p) for p in inputs.issuers] + list(dict.fromkeys(Path(p).parent for p in given))
    return places, [Path(p) for p in given]


def _issuer_nearby(child: x509.Certificate, inputs: Inputs) -> tuple[Cert, str, str | None] | None:
    """The missing issuer of ``child``, from --issuers first, then the directories of the input files; with the file
    a fix uses, and the command that extracts it to that file when the file it was found in holds more."""
    places, given = _nearby_places(inputs)
    found = find_issuer(child, places, skip=given)
    if found is None:
        return None
    cert = describe(found.cert, Origin(source=str(found.path), line=found.line))
    return (cert, *fix_file(found))


def _twin(
    settings: ServerSettings,
    model: ServerModel,
    *,
    at: datetime,
    client: ClientParts | None,
    crls: list[tuple[Crl, LoadedCrl]],
    reasons: dict[str, str],
    chooser: bool = True,
) -> TwinFacts | Unknown:
    """``chooser``: the client offers its certificate at all (Go, Java and browsers do not when no certificate of
    its chain is issued under an advertised name)."""
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
        offered = client.facts.key_type_not_offered
        if offered is not None and offered.empty_certificate:
            # The client finds no signature algorithm for its key and sends an empty Certificate (the twin's
            # OpenSSL 4 would offer brainpool ones that nginx's OpenSSL 3.0 does not).
            chain, key = (), None
        if not chooser:
            chain, key = (), None
    mode, depth, level = settings.for_twin()
    server = TwinServer(
        verify_client=mode,
        verify_depth=twin_depth(depth, settings.openssl),
        ca_certs=tuple(n.cert for n in model.advertised),
        trusted_certs=tuple(n.cert for n in model.store if n.source is not CertSource.CA_FILE),
        crls=tuple(loaded.crl for _, loaded in crls),
        crl_check=model.facts.crl_check is True,  # UNKNOWN (a handshake): the twin checks no CRL, as inferred
        seclevel=level,
        at=at,
        max_tls=settings.max_tls,
        openssl=settings.openssl,
    )
    return run_twin(server, TwinClient(chain=chain, key=key))


def _chooser(model: ClientModel, path: PathFacts | Unknown | None) -> bool:
    """Whether the client offers its certificate: a client that filters by the advertised CA names (Go's
    SupportsCertificate, Java's chooseClientAlias, browsers; probe-and-wizard.md §A6) offers none when no certificate
    it sends is issued under one of them; curl and s_client always send theirs."""
    if not model.filters_by_ca_names or not isinstance(path, PathFacts):
        return True
    return path.sent_matches_advertised is not False


def _ocsp(settings: ServerSettings, path: PathFacts | Unknown | None) -> OcspFacts | None:
    """What ssl_ocsp asks about once the chain has verified (ngx_ssl_ocsp_validate_next): every certificate of the
    verified chain but the anchor, or the client certificate alone with ``leaf``; None when there is no such chain."""
    if settings.ocsp not in (OcspMode.ON, OcspMode.LEAF) or not isinstance(path, PathFacts) or path.anchor is None:
        return None
    chain = path.certs
    checked = chain[: len(chain) - 1] if settings.ocsp is OcspMode.ON else chain[: min(1, len(chain) - 1)]
    if settings.ocsp_responder:
        without: tuple[Cert, ...] = ()
        responders: tuple[str, ...] = (settings.ocsp_responder,) if checked else ()
    else:
        # ngx_ssl_ocsp_responder: the first OCSP URL of the certificate, and only http:// ("invalid URL prefix").
        first = [c.ocsp_urls[0] if c.ocsp_urls else "" for c in checked]
        without = tuple(c for c, url in zip(checked, first, strict=True) if not url.lower().startswith("http://"))
        responders = tuple(dict.fromkeys(url for url in first if url))
    return OcspFacts(checked=checked, without_responder=without, responders=responders)


def _on_path(loaded: LoadedCrl, path: list[Node]) -> bool:
    """OpenSSL consults only the CRLs issued by a CA of the path."""
    return any(n.cert.subject == loaded.crl.issuer for n in path)


def _current(crl: Crl, t: datetime) -> bool:
    return crl.this_update <= t and (crl.next_update is None or t <= crl.next_update)


def _valid_locally_only(path: list[Node], at: datetime, now: datetime) -> tuple[Cert, ...]:
    def valid(c: Cert, t: datetime) -> bool:
        return c.not_before <= t <= c.not_after

    return tuple(n.facts for n in path if valid(n.facts, now) and not valid(n.facts, at))
