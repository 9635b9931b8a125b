"""Lint facts: one nginx server block, its effective settings, and what the files it names hold.

The rules of scope ``lint`` read these. Every certificate, CA and CRL file is read at most once per run (a config of
10,000 server blocks names the same few files again and again). Files are read only when the configuration's files
are on this machine (a config file read from disk, or ``--read-files``), inside the allowed root: otherwise the
facts that need them are UNKNOWN, with the reason, and their rules are not evaluated.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from ipaddress import ip_address
from pathlib import Path
from typing import NamedTuple, TypeVar

from cryptography import x509
from cryptography.hazmat.primitives import hashes

from mtls_doctor.errors import InputError
from mtls_doctor.facts.certificate import describe
from mtls_doctor.facts.model import Cert, Crl
from mtls_doctor.facts.revocation import describe_crl
from mtls_doctor.facts.startup import (
    ca_file_error,
    crl_file_error,
    missing_ca_file_error,
    ocsp_error,
    verify_needs_ca_file,
)
from mtls_doctor.nginx import (
    ConfigPath,
    EffectiveConfig,
    LogLevel,
    PathKind,
    ServerBlock,
    Setting,
    TlsProtocol,
    UpstreamPass,
)
from mtls_doctor.pki.certs import CertBundle, load_cert_file
from mtls_doctor.pki.crls import CrlBundle, load_crl_file
from mtls_doctor.pki.files import read_input
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import Record, record_fields
from mtls_doctor.vocabulary import UNKNOWN, FileFormat, Origin, Unknown, VerifyClient

TLS13_DEFAULT_SINCE = (1, 23, 4)
"""nginx 1.23.4: "TLSv1.3 is now enabled by default" (CHANGES; the model's default_ssl_protocols agrees)."""
_SHA256 = hashes.SHA256()
_PEM_LABEL = re.compile(rb"-----BEGIN ([A-Z0-9 #]+)-----")
SSL_DIRECTIVE_REMOVED_IN = (1, 25, 1)
"""The ``ssl`` directive: deprecated (a warning) since 1.15.0, removed in 1.25.1 (then: unknown directive)."""


class NginxFacts(Record):
    """The nginx the configuration is judged for."""

    version: str
    assumed: bool
    """No version was given (--nginx-version or nginx -V): Debian 12's 1.22.1 is assumed."""
    ssl_library: str | None
    tls13_default: bool
    requires_client_certificate: bool
    """``ssl_verify_client on|optional`` needs ``ssl_client_certificate`` (before 1.27.2)."""
    ssl_directive_removed: bool


class TrustContents(Record):
    """What nginx loads from a CA file, the same for every directive that names it."""

    problem: str | None
    """nginx's own error when it cannot load the file (it then refuses to start); None when it loads."""
    certs: tuple[Cert, ...]
    end_entities: tuple[Cert, ...]
    """Certificates that are not CAs and not self-signed: they anchor nothing, yet are advertised (a self-signed
    client certificate in the file is a deliberate pin: its own anchor)."""
    server_certs: tuple[Cert, ...]
    """End entities made for TLS servers (EKU serverAuth without clientAuth): usually the wrong file."""
    cas: tuple[Cert, ...]


_NOTHING_LOADED: dict[str, tuple[Cert, ...]] = {"certs": (), "end_entities": (), "server_certs": (), "cas": ()}


class TrustFile(TrustContents):
    """``ssl_client_certificate`` or ``ssl_trusted_certificate`` as nginx would load it."""

    origin: Origin
    """The directive."""
    path: str

    def __str__(self) -> str:
        return self.path


class CrlSet(Record):
    """``ssl_crl`` as nginx would load it, judged against the server's trusted CAs at the lint's clock."""

    origin: Origin
    path: str
    problem: str | None
    crls: tuple[Crl, ...]
    expired: tuple[Crl, ...]
    not_yet_valid: tuple[Crl, ...]
    cas_without_crl: tuple[Cert, ...]
    """Trusted CAs (both CA files and this file's own certificates) with no CRL: every client of theirs gets 3
    (CRL_CHECK_ALL)."""
    certs: tuple[Cert, ...]
    """Certificates the file holds besides its CRLs. ssl_crl loads them into the trust store too (X509_LOOKUP_load_file
    reads the file with X509_load_cert_crl_file): trusted, though never advertised (observed with nginx 1.22.1:
    sample_pki scenario crl-file-holds-intermediate)."""

    def __str__(self) -> str:
        return self.path


class UpstreamFacts(Record):
    """nginx as a TLS client of its upstreams (``proxy_ssl_*``, ``grpc_ssl_*``, ``uwsgi_ssl_*``), for this server."""

    tls: tuple[UpstreamPass, ...]
    """Every ``*_pass`` to a TLS upstream (https://, grpcs://, suwsgi://)."""
    unverified: tuple[UpstreamPass, ...]
    """TLS upstreams whose certificate is not checked (``proxy_ssl_verify`` is off by default)."""
    certificate_without_key: tuple[UpstreamPass, ...]
    key_without_certificate: tuple[UpstreamPass, ...]
    verify_without_trusted: tuple[UpstreamPass, ...]
    name_not_checkable: tuple[UpstreamPass, ...]
    """Verified upstreams whose name to check defaults to an IP address or an ``upstream {}`` group name."""
    without_sni: tuple[UpstreamPass, ...]
    """TLS upstreams named by host name that get no SNI (``proxy_ssl_server_name`` is off by default)."""


class LintFacts(Record):
    """All a lint rule may read about one server block. None: not configured. UNKNOWN: could not be read."""

    nginx: NginxFacts
    server: ServerBlock
    verifies: bool
    """The block speaks TLS and ``ssl_verify_client`` is not off."""
    creates_ssl_context: bool
    """nginx builds an SSL context for the block (it has ``ssl_certificate`` or ``ssl_reject_handshake on``), and
    then loads its CA and CRL files and checks ``ssl_verify_client``, even when no ``listen`` has ``ssl``
    (ngx_http_ssl_merge_srv_conf returns early only without certificates; observed with nginx 1.22.1)."""
    verify_client_set_here: bool
    """``ssl_verify_client`` is written in this server block (not inherited from ``http``)."""
    mode: VerifyClient
    client_ca: TrustFile | Unknown | None
    trusted_ca: TrustFile | Unknown | None
    crl: CrlSet | Unknown | None
    intermediates_without_root: tuple[Cert, ...] | Unknown
    """CA certificates of the two CA files whose root is in neither: every client under them gets 2."""
    deepest_ca_intermediates: int | Unknown
    """The most intermediates between a CA of the CA files and its root: what ssl_verify_depth must admit."""
    verify_result_checked: bool
    """``$ssl_client_verify`` is read somewhere requests pass (server level, a location, or a map)."""
    verify_reason_hidden: bool
    """No error log of the server is at ``info`` or more: the reason of a 400 is never written."""
    port_default_without_auth: ServerBlock | None
    """Another block on the same port, which nginx picks for unknown or absent SNI, and which asks no certificate."""
    legacy_protocols: tuple[str, ...]
    tls13_enabled: bool
    uses_ssl_directive: bool
    """The obsolete ``ssl on|off;`` is written (nginx 1.22 warns for both; 1.25.1 removed the directive)."""
    startup_error: str | None
    """nginx's own emerg line when it refuses to start with this block's client-certificate settings."""
    upstreams: UpstreamFacts


class _CrlContents(NamedTuple):
    """What a CRL file gives every CrlSet that names it, at the reader's clock."""

    loaded: bool
    """False when the file cannot be loaded: it then blames no CA for a missing CRL."""
    problem: str | None
    crls: tuple[Crl, ...]
    issuers: frozenset[str]
    expired: tuple[Crl, ...]
    not_yet_valid: tuple[Crl, ...]
    certs: tuple[Cert, ...] = ()
    """Certificates in the file, which nginx loads into the trust store with the CRLs."""


class FileReader:
    """Reads each certificate/CRL file once per run; says why a file cannot be read (files not here, outside root).

    One per lint run: it also keeps what is the same for every server block of the run (what each CA and CRL file
    gives, the fallback block of each port), so that a config naming the same files in 10,000 blocks costs little
    more per block than the block itself.
    """

    def __init__(self, *, read_files: bool, allow_outside: bool, now: datetime) -> None:
        self.read_files = read_files
        self.allow_outside = allow_outside
        self.now = now
        self._certs: dict[Path, tuple[CertBundle | None, str | None, bool]] = {}
        self._crls: dict[Path, tuple[CrlBundle | None, str | None, bool]] = {}
        self._described: dict[tuple[bytes, Origin], Cert] = {}
        self._trust_contents: dict[tuple[Path, bool], TrustContents] = {}
        self._labels: dict[Path, frozenset[str]] = {}
        self._crl_contents: dict[Path, _CrlContents] = {}
        self._routes_of: EffectiveConfig | None = None
        self._fallbacks: dict[int, ServerBlock | None] = {}

    def readable(self, path: ConfigPath, fact: str, reasons: dict[str, str]) -> Path | None:
        """The path to read, or None (recording why under ``fact`` in ``reasons``)."""
        if not self.read_files:
            reasons[fact] = (
                f"{path.raw}: the configuration's files are not read (a pasted or nginx -T config; "
                "use --read-files if they are on this machine)"
            )
            return None
        if path.kind is not PathKind.FILE or path.path is None:
            reasons[fact] = f"{path.raw}: a {path.kind.value} value, not a file that can be read here"
            return None
        if path.inside_root is False and not self.allow_outside:
            reasons[fact] = f"{path.path}: outside the configuration's root (use --allow-outside to read it)"
            return None
        return path.path

    def cert_bundle(self, path: Path) -> tuple[CertBundle | None, str | None, bool]:
        """(bundle, why it cannot be used, missing) for a CA file."""
        if path not in self._certs:
            self._certs[path] = _load(path, lambda: load_cert_file(str(path), what="CA", passwords=Passwords()))
        return self._certs[path]

    def crl_bundle(self, path: Path) -> tuple[CrlBundle | None, str | None, bool]:
        """(bundle, why it cannot be used, missing) for a CRL file."""
        if path not in self._crls:
            self._crls[path] = _load(path, lambda: load_crl_file(str(path)))
        return self._crls[path]

    def trust_contents(self, target: Path, *, advertised: bool) -> TrustContents:
        """What the CA file ``target`` gives a TrustFile in one of the two slots, worked out once per file and slot."""
        key = (target, advertised)
        if key not in self._trust_contents:
            self._trust_contents[key] = _read_trust_file(self, target, advertised=advertised)
        return self._trust_contents[key]

    def pem_labels(self, target: Path) -> frozenset[str]:
        """The PEM block labels in ``target`` (to tell a CRL file from a certificate file as nginx would)."""
        if target not in self._labels:
            try:
                data = read_input(str(target), what="file")
            except InputError:
                data = b""
            self._labels[target] = frozenset(m.decode() for m in _PEM_LABEL.findall(data))
        return self._labels[target]

    def crl_issuers(self, target: Path) -> frozenset[str]:
        """The issuers of the CRLs in CA file ``target``: SSL_CTX_load_verify_locations loads them into the store,
        where they count for ssl_crl's check (observed with nginx 1.22.1: sample_pki crl-root-crl-in-ca-file)."""
        if "X509 CRL" not in self.pem_labels(target):
            return frozenset()
        bundle = self.crl_bundle(target)[0]
        return frozenset(describe_crl(c, [])[0].issuer for c in bundle.crls) if bundle else frozenset()

    def crl_contents(self, target: Path) -> _CrlContents:
        """What the CRL file ``target`` gives a CrlSet, worked out once per file."""
        if target not in self._crl_contents:
            self._crl_contents[target] = _read_crl_file(self, target)
        return self._crl_contents[target]

    def port_fallback(self, model: EffectiveConfig, port: int) -> ServerBlock | None:
        """``model.route("", port)``, once per port: the same for every block on it (a per-block call made the
        lint quadratic in the number of server blocks)."""
        if self._routes_of is not model:
            self._routes_of = model
            self._fallbacks = {}
        if port not in self._fallbacks:
            self._fallbacks[port] = model.route("", port)
        return self._fallbacks[port]

    def describe(self, cert: x509.Certificate, origin: Origin) -> Cert:
        """Cert facts, computed once per certificate and place."""
        key = (cert.fingerprint(_SHA256), origin)
        if key not in self._described:
            self._described[key] = describe(cert, origin)
        return self._described[key]


def lint_facts(
    model: EffectiveConfig, reader: FileReader, *, version_assumed: bool = False
) -> list[tuple[LintFacts, dict[str, str]]]:
    """The lint facts of every server block, in file order, each with why some of its facts are UNKNOWN."""
    nginx = nginx_facts(model, assumed=version_assumed)
    return [server_facts(model, server, nginx, reader) for server in model.servers]


def nginx_facts(model: EffectiveConfig, *, assumed: bool = False) -> NginxFacts:
    """What the nginx version implies."""
    version = model.nginx.version
    return NginxFacts(
        version=".".join(map(str, version)),
        assumed=assumed,
        ssl_library=model.nginx.ssl_library,
        tls13_default=version >= TLS13_DEFAULT_SINCE,
        requires_client_certificate=verify_needs_ca_file(VerifyClient.ON, version),
        ssl_directive_removed=version >= SSL_DIRECTIVE_REMOVED_IN,
    )


def server_facts(
    model: EffectiveConfig, server: ServerBlock, nginx: NginxFacts, reader: FileReader
) -> tuple[LintFacts, dict[str, str]]:
    """The lint facts of one server block, and why some of them are UNKNOWN (fact path -> reason)."""
    reasons: dict[str, str] = {}
    tls = server.tls
    mode = tls.ssl_verify_client.value
    verifies = server.verifies_clients
    context = bool(tls.ssl_certificate.value) or tls.ssl_reject_handshake.value
    # nginx loads ssl_client_certificate when it verifies, ssl_trusted_certificate and ssl_crl for every SSL context.
    loads_ca = verifies or (context and mode is not VerifyClient.OFF)
    client_ca = (
        _trust_file(tls.ssl_client_certificate, reader, "client_ca", reasons, advertised=True) if loads_ca else None
    )
    trusted_ca = (
        _trust_file(tls.ssl_trusted_certificate, reader, "trusted_ca", reasons, advertised=False)
        if verifies or context
        else None
    )
    trusted = [f for f in (client_ca, trusted_ca) if isinstance(f, TrustFile)]
    unknown_trust = any(isinstance(f, Unknown) for f in (client_ca, trusted_ca))
    if unknown_trust:
        why = reasons.get("client_ca") or reasons["trusted_ca"]
        reasons["intermediates_without_root"] = reasons["deepest_ca_intermediates"] = why
    cas = [c for f in trusted for c in f.cas]
    in_ca_files = frozenset().union(*(reader.crl_issuers(Path(f.path)) for f in trusted if f.problem is None))
    crl = _crl_set(tls.ssl_crl, reader, cas, in_ca_files, reasons) if verifies or context else None
    protocols = tls.ssl_protocols.value
    ssl_directive = tls.ssl.directive
    startup = None
    if ssl_directive is not None and nginx.ssl_directive_removed:
        startup = f'unknown directive "ssl" in {ssl_directive.origin}'
    elif loads_ca and client_ca is None and verify_needs_ca_file(mode, model.nginx.version):
        startup = missing_ca_file_error()
    for f in (client_ca, trusted_ca, crl):
        if isinstance(f, TrustFile | CrlSet) and f.problem is not None and startup is None:
            startup = f.problem
    if startup is None and context:
        startup = ocsp_error(mode, tls.ssl_ocsp.value)
    facts = LintFacts(
        nginx=nginx,
        server=server,
        verifies=verifies,
        creates_ssl_context=context,
        verify_client_set_here=tls.ssl_verify_client.directive is not None
        and any(d is tls.ssl_verify_client.directive for d in server.directive.block or ()),
        mode=mode,
        client_ca=client_ca,
        trusted_ca=trusted_ca,
        crl=crl,
        intermediates_without_root=UNKNOWN if unknown_trust else _without_root(cas),
        deepest_ca_intermediates=UNKNOWN if unknown_trust else _deepest(cas),
        verify_result_checked=_checks_verify(server),
        verify_reason_hidden=server.error_log_level < LogLevel.INFO,
        port_default_without_auth=_port_default_without_auth(model, server, reader),
        legacy_protocols=tuple(p.value for p in protocols if p.value in ("SSLv2", "SSLv3", "TLSv1", "TLSv1.1")),
        tls13_enabled=TlsProtocol.TLSV1_3 in protocols,
        uses_ssl_directive=ssl_directive is not None,
        startup_error=startup,
        upstreams=_upstreams(server),
    )
    return facts, reasons


_B = TypeVar("_B")


def _load(path: Path, load: Callable[[], _B]) -> tuple[_B | None, str | None, bool]:
    """(what ``load`` read, why it could not, whether the file is missing)."""
    if not path.exists():
        return None, None, True
    try:
        return load(), None, False
    except InputError as exc:
        return None, exc.problem, False


def _trust_file(
    setting: Setting[ConfigPath | None], reader: FileReader, fact: str, reasons: dict[str, str], *, advertised: bool
) -> TrustFile | Unknown | None:
    path = setting.value
    if path is None:
        return None
    target = reader.readable(path, fact, reasons)
    if target is None:
        return UNKNOWN
    got = reader.trust_contents(target, advertised=advertised)
    return TrustFile(origin=path.origin, path=str(target), **{n: getattr(got, n) for n in record_fields(TrustContents)})


def _read_trust_file(reader: FileReader, target: Path, *, advertised: bool) -> TrustContents:
    """What nginx makes of a CA file: SSL_CTX_load_verify_locations takes certificates AND CRLs (a CRL-only file
    loads); ssl_client_certificate is also read by SSL_load_client_CA_file, which needs a certificate."""
    bundle, problem, missing = reader.cert_bundle(target)
    if bundle is None and not missing and "X509 CRL" in reader.pem_labels(target):
        if not advertised:
            return TrustContents(problem=None, **_NOTHING_LOADED)
        refused = (
            f'SSL_load_client_CA_file("{target}") failed '
            "(SSL: error:0480006C:PEM routines::no start line:Expecting: CERTIFICATE)"
        )
        return TrustContents(problem=refused, **_NOTHING_LOADED)
    if bundle is None:
        # A missing file or one without any certificate gives nginx's exact words; a corrupt one, ours.
        message = ca_file_error(str(target), None, missing=missing) or (
            ca_file_error(str(target), FileFormat.DER)
            if problem is None or "holds" in problem or "is empty" in problem
            else f'SSL_CTX_load_verify_locations("{target}") failed: {problem}'
        )
        return TrustContents(problem=message, **_NOTHING_LOADED)
    format_problem = ca_file_error(str(target), bundle.format)
    if format_problem is not None:
        return TrustContents(problem=format_problem, **_NOTHING_LOADED)  # nginx loads nothing from it
    certs = tuple(reader.describe(c.cert, c.origin) for c in bundle.certs)
    end_entities = tuple(c for c in certs if not c.is_ca and not c.self_signed)
    return TrustContents(
        problem=None,
        certs=certs,
        end_entities=end_entities,
        server_certs=tuple(
            c for c in end_entities if c.eku is not None and "serverAuth" in c.eku and "clientAuth" not in c.eku
        ),
        cas=tuple(c for c in certs if c.is_ca),
    )


def _crl_set(
    setting: Setting[ConfigPath | None],
    reader: FileReader,
    cas: list[Cert],
    crls_in_ca_files: frozenset[str],
    reasons: dict[str, str],
) -> CrlSet | Unknown | None:
    """ssl_crl; ``crls_in_ca_files``: the issuers of the CRLs in the CA files, which count as well."""
    path = setting.value
    if path is None:
        return None
    target = reader.readable(path, "crl", reasons)
    if target is None:
        return UNKNOWN
    got = reader.crl_contents(target)
    listed = {ca.subject for ca in cas}
    trusted = [*cas, *(c for c in got.certs if c.is_ca and c.subject not in listed)]
    return CrlSet(
        origin=path.origin,
        path=str(target),
        problem=got.problem,
        crls=got.crls,
        expired=got.expired,
        not_yet_valid=got.not_yet_valid,
        cas_without_crl=tuple(ca for ca in trusted if ca.subject not in got.issuers | crls_in_ca_files)
        if got.loaded
        else (),
        certs=got.certs,
    )


def _read_crl_file(reader: FileReader, target: Path) -> _CrlContents:
    """What nginx makes of ssl_crl: X509_LOOKUP_load_file loads certificates as well as CRLs, so a file with
    certificates and no CRL starts fine and then fails every client (3; observed with nginx 1.22.1)."""
    bundle, problem, missing = reader.crl_bundle(target)
    # Certificates and no CRL: nginx starts. A corrupt block (certificate or CRL) stops it: X509_LOOKUP_load_file fails.
    if bundle is None and problem is not None and problem.startswith("holds certificates, not a CRL"):
        return _CrlContents(True, None, (), frozenset(), (), ())
    if bundle is None:
        message = crl_file_error(str(target), None, missing=missing) or (
            crl_file_error(str(target), FileFormat.DER)
            if problem is None or "holds" in problem or "is empty" in problem
            else f'X509_LOOKUP_load_file("{target}") failed: {problem}'
        )
        return _CrlContents(False, message, (), frozenset(), (), ())
    format_problem = crl_file_error(str(target), bundle.format)
    if format_problem is not None:
        return _CrlContents(False, format_problem, (), frozenset(), (), ())
    crls = tuple(describe_crl(c, [])[0] for c in bundle.crls)
    now = reader.now
    return _CrlContents(
        loaded=True,
        problem=None,
        crls=crls,
        issuers=frozenset(c.issuer for c in crls),
        expired=tuple(c for c in crls if c.next_update is not None and now > c.next_update),
        not_yet_valid=tuple(c for c in crls if now < c.this_update),
        certs=tuple(reader.describe(c.cert, c.origin) for c in bundle.certs),
    )


def _without_root(cas: list[Cert]) -> tuple[Cert, ...]:
    """CAs whose issuer chain, within the CA files, does not reach a self-signed certificate (partial chains)."""
    by_subject: dict[str, list[Cert]] = {}
    for ca in cas:
        by_subject.setdefault(ca.subject, []).append(ca)
    out = []
    for ca in cas:
        seen: set[str] = set()
        current: Cert | None = ca
        while current is not None and not current.self_signed and current.subject not in seen:
            seen.add(current.subject)
            current = next(iter(by_subject.get(current.issuer, ())), None)
        if current is None:
            out.append(ca)
    return tuple(out)


def _deepest(cas: list[Cert]) -> int:
    """The most non-root CAs on a chain from a CA of the files up to its root (what a leaf under it needs)."""
    by_subject = {ca.subject: ca for ca in cas}
    deepest = 0
    for ca in cas:
        count, current, seen = 0, ca, set()
        while not current.self_signed and current.subject not in seen:
            seen.add(current.subject)
            count += 1
            parent = by_subject.get(current.issuer)
            if parent is None:
                break
            current = parent
        deepest = max(deepest, count)
    return deepest


def _checks_verify(server: ServerBlock) -> bool:
    if any(v.variable == "ssl_client_verify" for v in server.variables):
        return True
    return any(location.checks_ssl_client_verify for location in server.locations)


def _port_default_without_auth(model: EffectiveConfig, server: ServerBlock, reader: FileReader) -> ServerBlock | None:
    """The block nginx falls back to on this server's port (unknown or absent SNI), if it is another one that asks
    for no certificate: SNI then selects it while Host names this one (421), and clients land there by default."""
    if not server.verifies_clients:
        return None
    for port in sorted(server.ports):
        fallback = reader.port_fallback(model, port)
        if fallback is not None and fallback is not server and not fallback.verifies_clients and fallback.is_tls:
            return fallback
    return None


def _upstreams(server: ServerBlock) -> UpstreamFacts:
    passes: list[UpstreamPass] = list(server.upstreams)
    for location in server.locations:
        passes.extend(location.upstreams)
    tls = [p for p in passes if p.tls]

    return UpstreamFacts(
        tls=tuple(tls),
        unverified=tuple(p for p in tls if not p.ssl.verify.value),
        certificate_without_key=tuple(
            p for p in tls if p.ssl.certificate.value is not None and p.ssl.certificate_key.value is None
        ),
        key_without_certificate=tuple(
            p for p in tls if p.ssl.certificate_key.value is not None and p.ssl.certificate.value is None
        ),
        verify_without_trusted=tuple(p for p in tls if p.ssl.verify.value and p.ssl.trusted_certificate.value is None),
        name_not_checkable=tuple(
            p
            for p in tls
            if p.ssl.verify.value
            and p.ssl.name.value is None
            and "$" not in _host(p.target)  # known only per request: nothing to say before
            and not _is_dns_name(_host(p.target))
        ),
        # SNI carries proxy_ssl_name when set, else the host of the URL (ngx_http_upstream_ssl_name).
        without_sni=tuple(
            p for p in tls if not p.ssl.server_name.value and _is_dns_name(p.ssl.name.value or _host(p.target))
        ),
    )


def _host(target: str) -> str:
    rest = target.split("://", 1)[-1]
    host = rest.split("/", 1)[0]
    if host.startswith("["):
        return host[1 : host.find("]")]
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


def _is_dns_name(host: str) -> bool:
    """A name a certificate's DNS SAN can match: not an IP, not a bare upstream-group name, no variable."""
    try:
        ip_address(host)
    except ValueError:
        return "." in host and "$" not in host
    return False
