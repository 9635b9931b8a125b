"""ServerSettings -> ServerFacts: the one model of the server, whatever the source of its settings.

The files are loaded as nginx loads them (facts/loading.py), the trust store is judged with the chain walker the
client's path is built with (facts/chain.py: AKI/SKI, key type, signature), and nginx's refusal to start is worded
as nginx words it (facts/startup.py). ``check`` (flags or a server block) and ``lint`` both come here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from mtls_doctor.facts.certificate import describe, is_issued_by
from mtls_doctor.facts.chain import Node, climb
from mtls_doctor.facts.loading import Loader, ServerFile
from mtls_doctor.facts.model import (
    Cert,
    CertFile,
    ClockFacts,
    Crl,
    CrlFile,
    Facts,
    FileProblem,
    RevocationFacts,
    RootNearby,
    ServerFacts,
)
from mtls_doctor.facts.nearby import find_issuer, fix_file
from mtls_doctor.facts.revocation import describe_crl, missing_crl_commands
from mtls_doctor.facts.startup import missing_ca_file_error, ocsp_error, verify_needs_ca_file
from mtls_doctor.facts.verdict import verdict_of
from mtls_doctor.inputs import FileRef, ServerSettings
from mtls_doctor.pki.crls import LoadedCrl
from mtls_doctor.record import Record, replace
from mtls_doctor.vocabulary import UNKNOWN, CertSource, FileFormat, Origin, Unknown, VerifyClient


class ServerModel(Record):
    """The server's facts, and what the twin and the path builder need of its trust store."""

    facts: ServerFacts
    store: tuple[Node, ...]
    """The trust store: ssl_client_certificate, then ssl_trusted_certificate, then the certificates of ssl_crl."""
    advertised: tuple[Node, ...]
    """The certificates of ssl_client_certificate (trusted and advertised)."""
    crls: tuple[tuple[Crl, LoadedCrl], ...]
    """The CRLs in the store when ssl_crl turns the check on (those of every file), described against the store."""
    reasons: dict[str, str]
    """Why a fact is UNKNOWN (``server.<field>`` -> reason)."""


def server_model(settings: ServerSettings, loader: Loader, *, at: datetime) -> ServerModel:
    """Load the files ``settings`` names and judge them at the server's clock ``at``."""
    reasons = {f"server.{field}": why for field, why in settings.reasons.items()}
    ca = _load(settings.ca_file, CertSource.CA_FILE, loader)
    trusted = _load(settings.trusted_file, CertSource.TRUSTED_FILE, loader)
    crl_files: tuple[ServerFile, ...] | Unknown = (
        UNKNOWN
        if isinstance(settings.crl_files, Unknown)
        else tuple(loader.load(CertSource.CRL_FILE, f.path, f.origin) for f in settings.crl_files)
    )
    # What the files hold depends on their paths alone (the Loader reads each once): analysed once per set of files.
    memo_key = (
        _file_key(ca),
        _file_key(trusted),
        tuple(map(_file_key, crl_files)) if isinstance(crl_files, tuple) else None,
        at,
    )
    trust = loader.memo.get(memo_key)
    if trust is None:
        trust = loader.memo[memo_key] = _trust_store(ca, trusted, crl_files, at)
    store, advertised, crls, cas, without_root, deepest = trust
    crl_check: bool | Unknown = settings.crl_check if settings.crl_check is not None else _crl_named(crl_files)
    trust_unknown = any(isinstance(f, Unknown) for f in (ca, trusted))
    ca_file = _cert_file(ca)
    non_ca: tuple[Cert, ...] | Unknown = UNKNOWN
    if not isinstance(ca_file, Unknown):
        non_ca = tuple(c for c in ca_file.certs if not c.is_ca and not c.self_signed) if ca_file else ()
    problems = {role: _problem(f) for role, f in (("ca", ca), ("trusted", trusted))}
    crl_problem = next((p for p in map(_problem, crl_files) if p), None) if isinstance(crl_files, tuple) else UNKNOWN
    # a file that was not read may be unusable: unknown, never "no problem" (with the reason the file got)
    for field, key in (("ca_file_problem", "server.ca_file"), ("trusted_file_problem", "server.trusted_file")):
        if key in reasons:
            reasons.setdefault(f"server.{field}", reasons[key])
    if "server.crl_files" in reasons:
        reasons.setdefault("server.crl_file_problem", reasons["server.crl_files"])
    if settings.answered:
        # The server answered, so it started with its configuration: every file it names loaded (nginx stops with
        # [emerg] on one it cannot load). What the files hold may be unknown; that they are unusable is not.
        problems = {role: None if isinstance(p, Unknown) else p for role, p in problems.items()}
        crl_problem = None if isinstance(crl_problem, Unknown) else crl_problem
        for field in ("ca_file_problem", "trusted_file_problem", "crl_file_problem"):
            reasons.pop(f"server.{field}", None)
    unknown_why = reasons.get("server.ca_file") or reasons.get("server.trusted_file")
    for field in (
        "intermediates_without_root",
        "deepest_ca_intermediates",
        "non_ca_in_ca_file",
        "expired_cas",
        "not_yet_valid_cas",
        "public_cas",
    ):
        if trust_unknown and unknown_why:
            reasons.setdefault(f"server.{field}", unknown_why)
    for field in ("crl_files", "crl_file_certs"):
        if isinstance(crl_files, Unknown) and "server.crl_files" in reasons:
            reasons.setdefault(f"server.{field}", reasons["server.crl_files"])
    mode = settings.verify_client
    names, names_bytes = _advertised_as_sent(settings, ca_file, advertised)
    required: bool | Unknown
    if isinstance(mode, Unknown):
        required = UNKNOWN
        reasons.setdefault("server.ca_file_required", reasons.get("server.verify_client", "the verify mode is unknown"))
    else:
        required = verify_needs_ca_file(mode, settings.nginx_version)
    facts = ServerFacts(
        source=settings.source,
        verify_client=settings.verify_client,
        verify_depth=settings.verify_depth,
        seclevel=settings.seclevel,
        ssl_context=settings.ssl_context,
        serves_tls=settings.serves_tls,
        verifies=settings.serves_tls and settings.verify_client is not VerifyClient.OFF,
        ca_file=ca_file,
        trusted_file=_cert_file(trusted),
        crl_files=UNKNOWN
        if isinstance(crl_files, Unknown)
        else tuple(_crl_file(f, crls) for f in crl_files if f.problem is None),
        ca_file_problem=problems["ca"],
        trusted_file_problem=problems["trusted"],
        crl_file_problem=crl_problem,
        ca_file_required=required,
        crl_check=crl_check,
        advertised_ca_names=names,
        advertised_names_bytes=names_bytes,
        non_ca_in_ca_file=non_ca,
        server_certs_in_ca_file=UNKNOWN
        if isinstance(non_ca, Unknown)
        else tuple(c for c in non_ca if c.eku is not None and "serverAuth" in c.eku and "clientAuth" not in c.eku),
        cas_in_ca_file=UNKNOWN
        if isinstance(ca_file, Unknown)
        else tuple(c for c in (ca_file.certs if ca_file else ()) if c.is_ca),
        crl_file_certs=UNKNOWN
        if isinstance(crl_files, Unknown)
        else tuple(n.facts for f in crl_files if f.problem is None for n in f.nodes),
        intermediates_without_root=UNKNOWN if trust_unknown else without_root,
        expired_cas=UNKNOWN if trust_unknown else tuple(c for c in cas if at > c.not_after),
        not_yet_valid_cas=UNKNOWN if trust_unknown else tuple(c for c in cas if at < c.not_before),
        public_cas=UNKNOWN if trust_unknown else tuple(c for c in cas if c.public_ca_named or c.public_ca_issued),
        deepest_ca_intermediates=UNKNOWN if trust_unknown else deepest,
        config_error=_config_error(
            settings,
            ca=ca,
            ca_problem=problems["ca"],
            trusted_problem=problems["trusted"],
            crl_problem=crl_problem,
            required=required,
        ),
        answered=settings.answered,
        verify_result_checked=settings.verify_result_checked,
        certificate_forwarded=settings.certificate_forwarded,
        origins=_with_names_origin(settings.origins),
        ocsp=settings.ocsp,
        ocsp_responder=settings.ocsp_responder,
        stream=settings.stream,
        error_pages=settings.error_pages,
    )
    return ServerModel(facts=facts, store=store, advertised=advertised, crls=crls, reasons=reasons)


def _crl_named(crl_files: tuple[ServerFile, ...] | Unknown) -> bool:
    """ssl_crl is configured when the source names a file, whether or not it could be read here."""
    return isinstance(crl_files, Unknown) or bool(crl_files)


def store_revocation(
    model: ServerModel, *, at: datetime, places: Sequence[Path] = (), memo: dict[tuple[object, ...], Any] | None = None
) -> RevocationFacts | Unknown | None:
    """What ssl_crl means for every client of the server (no client given): a CRL for every CA of the trust store
    (CRL_CHECK_ALL), each current at ``at``. None without ssl_crl. A missing CRL is looked for in ``places`` and
    next to the server's files."""
    facts = model.facts
    if isinstance(facts.crl_check, Unknown):
        return UNKNOWN
    if not facts.crl_check:
        return None
    if isinstance(facts.crl_files, Unknown) or isinstance(facts.intermediates_without_root, Unknown):
        return UNKNOWN
    if facts.crl_file_problem is not None:
        return None  # nginx does not start: no CA is judged against a file it cannot load
    issuers = {loaded.crl.issuer for _, loaded in model.crls}
    cas = [n for n in model.store if n.facts.is_ca or n.facts.self_signed]
    unique = list({n.facts.sha256: n for n in cas}.values())
    described = [c for c, _ in model.crls]
    without = tuple(n.facts for n in unique if n.cert.subject not in issuers)
    files = server_file_paths(facts)
    target = next(iter(f.path for f in facts.crl_files), None)
    where = (*places, *dict.fromkeys(p.parent for p in files))
    # every block of a configuration that shares these files would search the same places: once per run
    memo = {} if memo is None else memo
    key = ("missing-crls", tuple(c.sha256 for c in without), target, where, tuple(files), at)
    if key not in memo:
        memo[key] = missing_crl_commands(without, model.store, target=target, places=where, skip=files, at=at)
    return RevocationFacts(
        cas_without_crl=without,
        add_missing_crls=memo[key],
        expired_crls=tuple(c for c in described if c.next_update is not None and at > c.next_update),
        not_yet_valid_crls=tuple(c for c in described if at < c.this_update),
        badly_signed_crls=tuple(c for c in described if c.signature_valid is False),
        revoked=(),
        unused_crls=tuple(c for c, loaded in model.crls if all(n.cert.subject != loaded.crl.issuer for n in unique)),
    )


def server_file_paths(facts: ServerFacts) -> list[Path]:
    """The files the server reads its trust from (CA file, trusted file, ssl_crl files), as given."""
    paths = [f.path for f in (facts.ca_file, facts.trusted_file) if isinstance(f, CertFile)]
    paths += [f.path for f in facts.crl_files] if isinstance(facts.crl_files, tuple) else []
    return [Path(p) for p in paths if p != "-"]


def store_root_nearby(
    model: ServerModel, *, places: Sequence[Path] = (), memo: dict[tuple[object, ...], Any] | None = None
) -> RootNearby | None:
    """The trust store's topmost intermediate without a root (its issuer is not in the store), and that issuer
    looked for in ``places`` and next to the server's files (never in them). None when every CA reaches a root."""
    without = model.facts.intermediates_without_root
    if isinstance(without, Unknown) or not without:
        return None
    files = server_file_paths(model.facts)
    where = (*places, *dict.fromkeys(p.parent for p in files))
    memo = {} if memo is None else memo
    # every block of a configuration that shares these files would search the same places: once per run
    key = ("root-nearby", tuple(c.sha256 for c in without), where, tuple(files))
    if key not in memo:
        memo[key] = _root_nearby(model, {c.sha256 for c in without}, where, files)
    found_root: RootNearby | None = memo[key]
    return found_root


def _root_nearby(model: ServerModel, wanted: set[str], where: Sequence[Path], files: list[Path]) -> RootNearby | None:
    nodes = [n for n in model.store if n.facts.sha256 in wanted]
    tops = [n for n in nodes if not any(o is not n and is_issued_by(n.cert, o.cert) for o in model.store)]
    if not tops:
        return None
    top = tops[0]
    found = find_issuer(top.cert, where, skip=files)
    if found is None:
        return RootNearby(intermediate=top.facts, found=None, file=None, extract=None)
    file, extract = fix_file(found)
    cert = describe(found.cert, Origin(source=str(found.path), line=found.line))
    return RootNearby(intermediate=top.facts, found=cert, file=file, extract=extract)


def facts_without_client(
    model: ServerModel,
    *,
    at: datetime,
    places: Sequence[Path] = (),
    memo: dict[tuple[object, ...], Any] | None = None,
) -> Facts:
    """The facts of a server judged for every client, none given (``lint``): no client, path or handshake; the
    revocation facts are those of the whole trust store; the verdict is nginx's refusal to start, or unknown. A
    missing root or CRL is looked for in ``places`` (``lint --issuers``) and next to the server's files; ``memo``
    (the run's Loader.memo) keeps what was found for the next block with the same files."""
    server = replace(model.facts, root_nearby=store_root_nearby(model, places=places, memo=memo))
    return Facts(
        clock=ClockFacts(at=at, local_now=at, skewed=False, valid_locally_only=(), crls_valid_locally_only=()),
        client=None,
        server=server,
        path=None,
        revocation=store_revocation(model, at=at, places=places, memo=memo) if server.verifies else None,
        twin=None,
        ocsp=None,
        verdict=verdict_of(server, None, None, None),
    )


def _load(ref: FileRef | Unknown | None, role: CertSource, loader: Loader) -> ServerFile | Unknown | None:
    if ref is None or isinstance(ref, Unknown):
        return ref
    return loader.load(role, ref.path, ref.origin)


def _file_key(loaded: ServerFile | Unknown | None) -> tuple[str, str] | str | None:
    if isinstance(loaded, ServerFile):
        return (loaded.role.value, loaded.path)
    return None if loaded is None else "unknown"


def _trust_store(
    ca: ServerFile | Unknown | None,
    trusted: ServerFile | Unknown | None,
    crl_files: tuple[ServerFile, ...] | Unknown,
    at: datetime,
) -> tuple[tuple[Node, ...], tuple[Node, ...], tuple[tuple[Crl, LoadedCrl], ...], list[Cert], tuple[Cert, ...], int]:
    """What the files alone say: the store, the advertised CAs, the CRLs described against the store, its CAs, the
    partial chains and the deepest chain (the CRL signatures and the chain walks are the costly part)."""
    files = [f for f in (ca, trusted) if isinstance(f, ServerFile)]
    if not isinstance(crl_files, Unknown):
        files += crl_files
    usable = [f for f in files if f.problem is None]
    store = tuple(n for f in usable for n in f.nodes)
    advertised = ca.nodes if isinstance(ca, ServerFile) and ca.problem is None else ()
    crl_check = _crl_named(crl_files)
    loaded_crls = [c for f in usable for c in f.crls] if crl_check else []
    crls = tuple((describe_crl(loaded, list(store))[0], loaded) for loaded in loaded_crls)
    cas = list({n.facts.sha256: n.facts for n in store if n.facts.is_ca}.values())
    return store, advertised, crls, cas, _without_root(store, at), _deepest(store, at)


def _cert_file(loaded: ServerFile | Unknown | None) -> CertFile | Unknown | None:
    if loaded is None or isinstance(loaded, Unknown):
        return loaded
    return loaded.cert_file() if loaded.problem is None else None


def _problem(loaded: ServerFile | Unknown | None) -> FileProblem | Unknown | None:
    if isinstance(loaded, Unknown):
        return UNKNOWN
    if loaded is None or loaded.problem is None:
        return None
    return FileProblem(path=loaded.path, origin=loaded.origin, message=loaded.problem)


def _crl_file(loaded: ServerFile, crls: tuple[tuple[Crl, LoadedCrl], ...]) -> CrlFile:
    mine = tuple(facts for facts, crl in crls if any(crl is c for c in loaded.crls))
    return CrlFile(
        origin=Origin(source=loaded.path),
        path=loaded.path,
        crls=mine,
        stray=loaded.stray,
        format=loaded.format or FileFormat.PEM,
    )


def _advertised(ca_file: CertFile | None) -> tuple[str, ...]:
    """SSL_load_client_CA_file: the subjects of the CA file in order, a repeated subject listed once."""
    return tuple(dict.fromkeys(c.subject for c in ca_file.certs)) if ca_file else ()


def _advertised_as_sent(
    settings: ServerSettings, ca_file: CertFile | Unknown | None, advertised: tuple[Node, ...]
) -> tuple[tuple[str, ...] | Unknown, int | Unknown]:
    """The acceptable CA names and their size: as the server sent them when a handshake shows them, else the
    subjects of ssl_client_certificate (UNKNOWN when that file is)."""
    if settings.advertised_names is not None and settings.advertised_bytes is not None:
        return settings.advertised_names, settings.advertised_bytes
    if isinstance(ca_file, Unknown):
        return UNKNOWN, UNKNOWN
    return _advertised(ca_file), _names_bytes(advertised)


def _with_names_origin(origins: dict[str, Origin]) -> dict[str, Origin]:
    """The advertised names come from where ssl_client_certificate is set."""
    if "ca_file" not in origins:
        return origins
    return {**origins, "advertised_names_bytes": origins["ca_file"]}


def _names_bytes(advertised: tuple[Node, ...]) -> int:
    """The bytes of the certificate_authorities list: 2 + the DER subject for each distinct name (construct_ca_names,
    ssl/statem/statem_lib.c)."""
    names = dict.fromkeys(n.cert.subject.public_bytes() for n in advertised)
    return sum(2 + len(name) for name in names)


def _config_error(
    settings: ServerSettings,
    *,
    ca: ServerFile | Unknown | None,
    ca_problem: FileProblem | Unknown | None,
    trusted_problem: FileProblem | Unknown | None,
    crl_problem: FileProblem | Unknown | None,
    required: bool | Unknown,
) -> str | None:
    """nginx's own emerg message when it refuses to start with these settings, in the order
    ngx_http_ssl_merge_srv_conf checks them (confirmed with nginx -t)."""
    if settings.startup_error is not None:
        return settings.startup_error
    if settings.answered or not settings.ssl_context:  # a server seen running has started
        return None
    if ca is None and required is True:
        return missing_ca_file_error()
    for problem in (ca_problem, trusted_problem, crl_problem):
        if isinstance(problem, FileProblem):
            return problem.message
    if isinstance(settings.verify_client, Unknown) or isinstance(settings.ocsp, Unknown):
        return None  # only a live server leaves these unknown, and it is running
    return ocsp_error(settings.verify_client, settings.ocsp)


def _without_root(store: tuple[Node, ...], at: datetime) -> tuple[Cert, ...]:
    """CAs of the store whose issuers, within the store, reach no self-signed root (partial chains)."""
    pool = list(store)
    return tuple(n.facts for n in store if n.facts.is_ca and not n.facts.self_signed and not climb(n, pool, at=at)[1])


def _deepest(store: tuple[Node, ...], at: datetime) -> int:
    """The most non-root CAs on a chain from a CA of the store up to its root (what a leaf under it needs)."""
    pool = list(store)
    counts = [sum(1 for m in climb(n, pool, at=at)[0] if not m.facts.self_signed) for n in store if n.facts.is_ca]
    return max(counts, default=0)
