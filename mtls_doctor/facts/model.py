"""The facts model: every value a rule may read, as frozen, typed records (mtls_doctor/record.py).

Conventions (rules/README.md relies on them):
- ``None`` means *not supplied or not present* (no --crl given; no EKU extension).
- ``UNKNOWN`` means *could not be established*; a rule that reads it is ``not_evaluated``, never ``pass``.
- Fact paths never index into sequences: a question about "some certificate of the chain" is a derived fact
  holding the certificates that answer it (empty when none do), so evidence can name them.
"""

from __future__ import annotations

from datetime import datetime

from mtls_doctor.record import Record
from mtls_doctor.twin.result import TwinFacts
from mtls_doctor.vocabulary import (
    CertSource,
    ClientModel,
    ErrorPageRule,
    FileFormat,
    KeyType,
    OcspMode,
    Origin,
    Outcome,
    ServerSource,
    Stray,
    Unknown,
    VerifyClient,
    VerifyError,
)


class PublicKey(Record):
    """A public key as OpenSSL's security level sees it."""

    type: KeyType
    bits: int
    curve: str | None
    security_bits: int
    """Strength in bits as OpenSSL computes it (EVP_PKEY_get_security_bits): RSA-2048 is 112, P-256 is 128."""

    def __str__(self) -> str:
        if self.curve:
            return f"{self.type.value.upper()} {self.curve}"
        return f"{self.type.value.upper()}-{self.bits}"


class NameConstraints(Record):
    """The nameConstraints extension of a CA, in OpenSSL's general-name notation (``DNS:example.com``)."""

    permitted: tuple[str, ...]
    excluded: tuple[str, ...]


class Cert(Record):
    """One X.509 certificate, as read. Time-independent: validity against a clock lives in PathFacts."""

    origin: Origin
    subject: str
    """RFC 4514, as cryptography renders it (``CN=alice,O=Example``)."""
    issuer: str
    serial: str
    """Hexadecimal, upper case, as ``openssl x509 -serial`` prints it."""
    sha256: str
    not_before: datetime
    not_after: datetime
    key: PublicKey
    signature_algorithm: str
    """OpenSSL's long name, e.g. ``ecdsa-with-SHA256``, ``sha1WithRSAEncryption``."""
    signature_hash: str | None
    """``sha1``, ``sha256``, ...; None for algorithms without a separate digest (Ed25519)."""
    self_issued: bool
    """Subject equals issuer."""
    self_signed: bool
    """Self-issued and its signature verifies with its own key: what OpenSSL accepts as a trust anchor."""
    basic_constraints: bool
    """The basicConstraints extension is present."""
    is_ca: bool | None
    """cA flag; None when basicConstraints is absent."""
    path_length: int | None
    key_usage: frozenset[str] | None
    """keyUsage bits by their RFC 5280 names (``digitalSignature``, ``keyCertSign``); None when absent."""
    eku: frozenset[str] | None
    """extendedKeyUsage by name (``clientAuth``, ``serverAuth``, ``anyExtendedKeyUsage``) or dotted OID."""
    ns_cert_type: frozenset[str] | None
    """Netscape nsCertType bits (``client``, ``server``, ``email``, ``sslCA`` ...); None when absent."""
    subject_key_id: str | None
    authority_key_id: str | None
    san: tuple[str, ...]
    """subjectAltName entries in OpenSSL notation (``DNS:alice.example``, ``email:...``, ``IP Address:...``)."""
    name_constraints: NameConstraints | None
    unknown_critical_extensions: tuple[str, ...]
    """Dotted OIDs of critical extensions OpenSSL does not handle (they give verify error 34)."""
    public_ca_issued: bool
    """The issuer is a public Web PKI CA (Let's Encrypt, DigiCert, ...), by its organisation name."""
    ocsp_urls: tuple[str, ...] = ()
    version: int = 3
    """The X.509 version (1 or 3): a v1 certificate has no extensions at all."""
    public_ca_named: bool = False
    """Its subject names an organisation that runs a public (Web PKI) CA: a public root or intermediate itself."""
    """The OCSP responder URLs of its authorityInfoAccess extension, in order (nginx asks the first)."""

    def __str__(self) -> str:
        return self.subject


class CertFile(Record):
    """A file of certificates as read: the certificates in file order, and everything else in it."""

    path: str
    format: FileFormat
    certs: tuple[Cert, ...]
    stray: tuple[Stray, ...]
    private_keys_inside: int
    """Private-key blocks found in the file (their content is never read into facts)."""

    def __str__(self) -> str:
        return self.path


class KeyFacts(Record):
    """The client's private key, described without a single secret byte."""

    origin: Origin
    public: PublicKey
    encrypted: bool
    matches_leaf: bool
    """The key belongs to the first certificate of the cert file (what curl and OpenSSL check)."""
    matches: Cert | None
    """The certificate of the client's files this key belongs to, if any."""

    def __str__(self) -> str:
        return f"{self.public} private key ({self.origin})"


class ClientRefusal(Record):
    """The client refuses to load its own certificate chain: OpenSSL's security level, applied by the client to
    what it would send (ssl_security_cert, ssl/t1_lib.c), before any byte reaches the server."""

    cert: Cert
    """The certificate refused (the leaf, or a CA certificate the client would send)."""
    error: str
    """OpenSSL's reason, as curl prints it: ``ee key too small``, ``ca key too small``, ``ca md too weak``."""
    openssl_error: str
    """The packed OpenSSL 3 error code in hexadecimal (``0A00018F``): match by number, not text."""
    because: str
    """Why, in numbers: the key or the digest, its security bits, and what the level requires."""
    level: int
    """The client's security level (2: OpenSSL's default on Debian 12, which curl keeps)."""
    ca_rekey: str | None = None
    """When the refused key is a CA's (``ca key too small``): the commands that re-key that CA (a new key and a CSR
    with its subject) and the signing step that is its issuer's, shown as comments; None when the leaf is refused."""


class KeyTypeNotOffered(Record):
    """The client's key type has no signature algorithm (TLS 1.3) or curve (TLS 1.2) that nginx's OpenSSL accepts."""

    cert: Cert
    """The client certificate."""
    key: PublicKey
    """Its key."""
    protocol: str
    """``TLSv1.3`` or ``TLSv1.2``: what the client and the server negotiate."""
    empty_certificate: bool
    """TLS 1.3: the client sends an empty Certificate (nginx: "No required SSL certificate was sent"); otherwise
    (TLS 1.2, a curve outside the server's groups) the server fails the handshake with "wrong curve"."""
    server_accepts: str
    """What the server accepts instead, in words."""


class ClientFacts(Record):
    """What the client holds and what it will send."""

    cert_file: CertFile
    chain_file: CertFile | None
    """--chain: extra certificates the client sends after its cert file."""
    leaf: Cert
    """The client certificate: the one the private key belongs to (the first of the cert file when no key)."""
    first_in_file: Cert
    """The first certificate of the cert file: what curl takes as the client certificate."""
    sent: tuple[Cert, ...]
    """Everything the client sends, leaf first (curl sends its whole --cert file; then --chain)."""
    key: KeyFacts | None
    leaf_not_first: bool
    """A later certificate of the cert file is the real leaf (the key matches it, or the first one issued it)."""
    cert_file_is_der: bool
    """The cert file is DER: curl's default ``--cert-type PEM`` cannot read it."""
    unrelated_sent: tuple[Cert, ...]
    """Certificates the client sends that are not on its path to the trust anchor."""
    duplicate_sent: tuple[Cert, ...]
    presentation_error: str | None
    """What curl would say instead of connecting (key mismatch, DER, ...); None when it can present the cert."""
    model: ClientModel = ClientModel.CURL
    """The client modelled (``check --client``)."""
    refusal: ClientRefusal | None = None
    """The client's own security level refuses its certificate chain (curl); None when it sends it."""
    key_type_not_offered: KeyTypeNotOffered | None = None
    """The key type cannot be used with this server and protocol; None when it can."""
    keep_on_path: str | None = None
    """With ``unrelated_sent`` all in the cert file (leaf first): the command that writes ``client-chain.pem`` with
    the certificates of the cert file that are on the path, in their order; None otherwise."""


class Crl(Record):
    """One CRL as configured with ``ssl_crl``."""

    origin: Origin
    issuer: str
    this_update: datetime
    next_update: datetime | None
    revoked_count: int
    issuer_cert: Cert | None
    """The CA among the path and trust store whose name matches the CRL issuer."""
    signature_valid: bool | None
    """Verified with ``issuer_cert``'s key; None when no such certificate is known."""

    def __str__(self) -> str:
        return f"CRL of {self.issuer} ({self.origin})"


class CrlFile(Record):
    """A file given to ``ssl_crl``."""

    origin: Origin
    path: str
    crls: tuple[Crl, ...]
    stray: tuple[Stray, ...]
    format: FileFormat

    def __str__(self) -> str:
        return self.path


class FileProblem(Record):
    """A file the server names that nginx cannot load: it refuses to start (or to reload) with ``message``."""

    path: str
    origin: Origin
    """The flag or the directive (file:line) that names the file."""
    message: str
    """nginx's emerg line."""

    def __str__(self) -> str:
        return f"{self.path} (named at {self.origin})"


class RootNearby(Record):
    """The topmost intermediate of the trust store that reaches no self-signed root, and its issuer found in the
    certificate files next to the server's files (facts/nearby.py): what MTLS403's fix appends, judged without a
    client (lint; check with only the server's files)."""

    intermediate: Cert
    found: Cert | None
    """The issuer, with the file and line it was found at; None when none was found."""
    file: str | None
    """The file the fix appends: where it was found when that holds it alone (PEM), else ``issuer.pem``."""
    extract: str | None
    """The command that writes exactly the found issuer to ``issuer.pem``; None when the file is used as it is."""


class ServerFacts(Record):
    """The server's trust settings as nginx applies them: one model, whatever the source (flags, a server block).

    Every setting's origin (the flag, or the directive's file:line) is in ``origins``; a fact a source cannot know
    is UNKNOWN, with the reason. The files are read as nginx's loaders read them (facts/loading.py).
    """

    source: ServerSource
    verify_client: VerifyClient | Unknown
    """UNKNOWN: the server asks for a certificate, in a mode the source cannot tell (a handshake: on, optional or
    optional_no_ca)."""
    verify_depth: int | Unknown
    """``ssl_verify_depth``; nginx's default is 1 (it admits one intermediate). A handshake does not show it."""
    seclevel: int | Unknown
    """OpenSSL security level of the server context; Debian's default is 2. A handshake does not show it."""
    ssl_context: bool
    """nginx applies the client-certificate settings: it builds an SSL context for the server (with
    ``ssl_certificate`` or ``ssl_reject_handshake on``, even when no listen has ``ssl``); always so for flags."""
    serves_tls: bool
    """Clients reach the server over TLS: some ``listen`` has ``ssl`` (always so for flags)."""
    verifies: bool
    """It asks clients for a certificate: it serves TLS and ``ssl_verify_client`` is not off."""
    ca_file: CertFile | Unknown | None
    """``ssl_client_certificate`` as nginx loads it: trusted, and advertised to clients. None when it is not
    configured or nginx cannot load it (then ``ca_file_problem`` says why)."""
    trusted_file: CertFile | Unknown | None
    """``ssl_trusted_certificate``: trusted, never advertised."""
    crl_files: tuple[CrlFile, ...] | Unknown
    ca_file_problem: FileProblem | Unknown | None
    trusted_file_problem: FileProblem | Unknown | None
    crl_file_problem: FileProblem | Unknown | None
    ca_file_required: bool | Unknown
    """``ssl_verify_client on|optional`` needs ``ssl_client_certificate`` (nginx before 1.27.2)."""
    crl_check: bool | Unknown
    """``ssl_crl`` is configured: OpenSSL then requires a valid CRL for every CA of the path. A handshake does not
    show it."""
    advertised_ca_names: tuple[str, ...] | Unknown
    """The acceptable client CA names nginx sends: the subjects of ``ssl_client_certificate``, in file order."""
    advertised_names_bytes: int | Unknown = 0
    """The size of that list in the CertificateRequest (each DER name with its 2-byte length): the TLS vector holds
    at most 65,535 bytes (RFC 5246 §7.4.4, RFC 8446 §4.2.4)."""
    non_ca_in_ca_file: tuple[Cert, ...] | Unknown
    """End entities in the CA file that are not self-signed: they anchor nothing, yet are advertised (a
    self-signed client certificate there is a deliberate pin, its own anchor)."""
    server_certs_in_ca_file: tuple[Cert, ...] | Unknown
    """End entities of the CA file made for TLS servers (EKU serverAuth without clientAuth): usually the wrong file."""
    cas_in_ca_file: tuple[Cert, ...] | Unknown
    crl_file_certs: tuple[Cert, ...] | Unknown
    """Certificates the ssl_crl file holds besides its CRLs: nginx trusts them too (never advertised)."""
    intermediates_without_root: tuple[Cert, ...] | Unknown
    """CA certificates of the trust store whose issuers, within the store, reach no self-signed root: every client
    under them gets 2."""
    deepest_ca_intermediates: int | Unknown
    """The most non-root CAs on a chain from a CA of the trust store up to its root: what ssl_verify_depth must
    admit for a client issued by the deepest one."""
    expired_cas: tuple[Cert, ...] | Unknown
    """CA certificates of the trust store (ssl_client_certificate, ssl_trusted_certificate, ssl_crl) past their
    notAfter at the server's clock: every client whose chain goes through one is rejected with 10 (nginx checks the
    anchor's validity too, knowledge §8)."""
    not_yet_valid_cas: tuple[Cert, ...] | Unknown
    """CA certificates of the trust store before their notBefore at the server's clock: 9 for every client under."""
    public_cas: tuple[Cert, ...] | Unknown
    """CA certificates of the trust store that belong to a public (Web PKI) CA: every certificate it issues with
    clientAuth verifies, whoever holds it."""
    config_error: str | None
    """The error nginx would print when refusing to start with these settings; None when it starts."""
    answered: bool
    """The server was seen running (a live probe reached it), so it started: no start-up cause holds."""
    verify_result_checked: bool | Unknown
    """``$ssl_client_verify`` is read somewhere requests pass (server level, a location, or a map)."""
    certificate_forwarded: bool | Unknown
    """Every pass to an application (proxy, grpc, fastcgi, uwsgi, scgi) sends it the whole client certificate
    (``$ssl_client_escaped_cert``, ``$ssl_client_cert``, ``$ssl_client_raw_cert``), so it can verify it itself."""
    origins: dict[str, Origin]
    """Where each setting was set, by field name: the flag, or the directive's file:line (a default names the
    server block it applies to)."""
    ocsp: OcspMode | Unknown = OcspMode.OFF
    """``ssl_ocsp``; a handshake does not show it."""
    ocsp_responder: str | None = None
    """``ssl_ocsp_responder``: asked instead of the certificates' own responders."""
    stream: bool = False
    """A ``stream {}`` server: it answers no HTTP, and closes a refused client's connection after the handshake."""
    error_pages: tuple[ErrorPageRule, ...] = ()
    root_nearby: RootNearby | None = None
    """Without a client: the trust store's topmost intermediate without its root, and the root found next to the
    server's files (with a client, ``path.issuer_found`` answers for the client's path)."""
    """The server's ``error_page`` entries for 495/496, in order (nginx takes the first that names the code)."""


class OcspFacts(Record):
    """What nginx's OCSP check of the client (``ssl_ocsp``) needs, after the chain has verified.

    nginx asks about every certificate of the verified chain but the anchor (``leaf``: the client certificate only),
    each at ``ssl_ocsp_responder`` or else at the first OCSP URL of the certificate's authorityInfoAccess, which must
    be ``http://`` (ngx_ssl_ocsp_validate_next, ngx_ssl_ocsp_responder; src/event/ngx_event_openssl_stapling.c).
    mtls-doctor contacts no responder: the answers themselves are never known here. The settings themselves are
    ``server.ocsp`` and ``server.ocsp_responder``.
    """

    checked: tuple[Cert, ...]
    """The certificates nginx asks about, client certificate first."""
    without_responder: tuple[Cert, ...]
    """Checked certificates with no responder to ask: no ``ssl_ocsp_responder``, and no OCSP URL (or not an
    ``http://`` one) in the certificate. nginx fails the request: "certificate status request failed"."""
    responders: tuple[str, ...]
    """The responder URLs nginx would contact, in order (when none is missing)."""


class NameViolation(Record):
    """A name of a certificate below a CA that the CA's nameConstraints rule out."""

    cert: Cert
    constrained_by: Cert
    name: str
    excluded: bool
    """True: the name falls in an excluded subtree (48); False: outside every permitted subtree (47)."""

    def __str__(self) -> str:
        verb = "is excluded by" if self.excluded else "is not permitted by"
        return f"{self.name} of {self.cert.subject} {verb} {self.constrained_by.subject}"


class PathFacts(Record):
    """The certification path nginx's OpenSSL builds from the leaf, judged at the server's clock.

    Built the way OpenSSL's build_chain does: at each step an issuer is looked for in the trust store first
    (ssl_client_certificate + ssl_trusted_certificate), then among the certificates the client sent; an issuer
    must match by name and its key must verify the signature.
    """

    certs: tuple[Cert, ...]
    """Leaf first, up to the last certificate whose issuer was found."""
    sources: tuple[CertSource, ...]
    anchor: Cert | None
    """The self-signed certificate of the trust store the path ends in; None when it ends elsewhere."""
    top: Cert
    intermediates: tuple[Cert, ...]
    """The certificates strictly between the leaf and the anchor: what ``ssl_verify_depth`` counts."""
    intermediate_count: int
    depth_exceeded: bool | Unknown
    """More intermediates than ``ssl_verify_depth`` admits (depth N admits N; nginx logs 20 or 2, never 22); UNKNOWN
    when the depth is (a handshake), unless no depth can be exceeded (no intermediate)."""
    depth_overflow_in_store: bool | Unknown
    """The intermediate just past the depth limit came from the trust store (nginx then logs 2, else 20)."""
    issuer_missing: str | None
    """The issuer name that could be found nowhere (neither sent nor in the trust store)."""
    issuer_found: Cert | None
    """The missing issuer itself, found in a certificate file next to the inputs or under ``--issuers`` (its key
    verifies the signature): the file the fix appends. None when not missing or not found."""
    leaf_issuer_missing: bool
    """The leaf's own issuer is missing: nginx logs 21 ("unable to verify the first certificate")."""
    untrusted_root_sent: Cert | None
    """The path ends in a self-signed certificate the client sent that the server does not trust (19)."""
    self_signed_leaf_untrusted: bool
    """The leaf is self-signed and not in the trust store (18)."""
    leaf_in_trust_store: bool
    """The client's own (not self-signed) leaf sits in the trust store (either file): it pins nothing (20)."""
    store_intermediate_without_root: Cert | None
    """The path ends in a CA certificate of the trust store that is not self-signed: its root is missing (2)."""
    namesake_issuer: Cert | None
    """A trust-store or sent CA with the missing issuer's name but another key (a re-keyed CA)."""
    namesake_with_key_ids: bool
    """The re-keyed case has AKI/SKI to tell the keys apart (nginx logs 20; without them it logs 7)."""
    signature_failures: tuple[Cert, ...]
    """Certificates whose signature the next certificate of the path does not verify (7)."""
    leaf_expired: bool
    leaf_not_yet_valid: bool
    leaf_days_left: int
    expired_intermediates: tuple[Cert, ...]
    not_yet_valid_intermediates: tuple[Cert, ...]
    anchor_expired: bool
    anchor_not_yet_valid: bool
    leaf_purpose_ok: bool
    """OpenSSL's ssl_client purpose accepts the leaf (EKU, nsCertType, keyUsage)."""
    intermediates_without_clientauth: tuple[Cert, ...]
    """Intermediates with an EKU lacking clientAuth (OpenSSL checks EKU along the chain)."""
    intermediates_not_ca: tuple[Cert, ...]
    """Intermediates with basicConstraints CA:FALSE (26)."""
    intermediates_without_basic_constraints: tuple[Cert, ...]
    """Intermediates with no basicConstraints at all (79)."""
    cas_without_keycertsign: tuple[Cert, ...]
    """Issuing CAs whose keyUsage lacks keyCertSign (32)."""
    pathlen_exceeded_by: tuple[Cert, ...]
    """CAs whose pathLenConstraint is exceeded by the CAs below them (25)."""
    weak_leaf_key: bool | Unknown
    """The leaf's key is below the server's security level (66)."""
    weak_ca_keys: tuple[Cert, ...] | Unknown
    """Intermediates or the anchor with a key below the security level (67)."""
    weak_leaf_digest: bool | Unknown
    """The leaf is signed with a digest the security level forbids (68, although the text says "CA")."""
    weak_digest_intermediates: tuple[Cert, ...] | Unknown
    """Intermediates signed with a digest the security level forbids (68); the anchor's signature is not checked.
    The four weak-key and weak-digest facts are UNKNOWN when the security level is (a handshake), unless the keys and
    digests pass the highest level (5)."""
    unknown_critical_intermediates: tuple[Cert, ...]
    """Intermediates with an unhandled critical extension (34)."""
    anchor_without_clientauth: bool
    """The trust anchor has an EKU without clientAuth: OpenSSL 3.0 checks the anchor's purpose too (26, observed)."""
    sent_matches_advertised: bool | None
    """Some certificate the client sends is issued by an advertised CA: what Go (CertificateRequestInfo.
    SupportsCertificate compares each certificate's issuer), Java and browsers need to offer this certificate at all.
    None when no CA names are advertised (those clients then offer any)."""
    name_violations_permitted: tuple[NameViolation, ...]
    name_violations_excluded: tuple[NameViolation, ...]
    issuer_file: str | None = None
    """The file a fix that sends or trusts the missing issuer uses: the file it was found in when that holds it
    alone (PEM), else ``issuer.pem``, which ``issuer_extract`` writes. None when it was not found."""
    issuer_extract: str | None = None
    """The command that writes exactly the found issuer to ``issuer.pem`` (from a bundle that holds other
    certificates, perhaps a leaf, or from DER); None when the found file can be used as it is, or nothing was
    found."""
    intermediates_v1: tuple[Cert, ...] = ()
    """Intermediates that are X.509 v1 certificates: OpenSSL takes only a self-signed v1 certificate as a CA."""


class RevocationFacts(Record):
    """What ``ssl_crl`` contributes: OpenSSL then checks a CRL for every certificate of the path."""

    cas_without_crl: tuple[Cert, ...]
    """CAs of the path (the anchor included) with no CRL: nginx logs 3."""
    expired_crls: tuple[Crl, ...]
    not_yet_valid_crls: tuple[Crl, ...]
    badly_signed_crls: tuple[Crl, ...]
    revoked: tuple[Cert, ...]
    unused_crls: tuple[Crl, ...]
    """CRLs issued by no CA of the path: they protect nothing for this client."""
    add_missing_crls: str | None = None
    """The commands that append to the ssl_crl file the CRL of each of ``cas_without_crl``: the CA's current CRL
    found near the inputs (its issuer name and signature checked with the CA's key; ``facts/nearby.py``), else a
    placeholder file, said to be one, and how to get it. None when no CA lacks a CRL."""


class Verdict(Record):
    """What nginx does with this client: the answer a person in an outage needs first."""

    outcome: Outcome
    http_status: int | None
    """400 for both rejections (internally 495/496), 200 when served; None when no request gets answered."""
    reason: str | None
    """The text of nginx's error page, or the client's or nginx's own error message; for an unknown outcome, what
    the verdict depends on (e.g. the OCSP responder nginx asks), when that is known."""
    verify_error: VerifyError | None
    """The error nginx logs at info level (the last one OpenSSL raised)."""
    errors_seen: tuple[VerifyError, ...]
    ssl_client_verify: str | None
    """The value of ``$ssl_client_verify``: SUCCESS, NONE or FAILED:<text>."""
    log_line: str | None
    """What nginx's error log says at ``info`` level."""
    forgiven: bool | Unknown
    """``optional_no_ca`` let a failed verification through: the request is served, unauthenticated (UNKNOWN when
    the handshake could not be reproduced under optional_no_ca)."""
    error_page: ErrorPageRule | None = None
    """The ``error_page`` that answers the refused client instead of nginx's own 400 page."""
    forgiven_cause: str | None = None
    """Under ``optional_no_ca``, what made the forgiven verification fail, in words (the untrusted CA, the
    self-signed client, the depth overflow): the cause of ``$ssl_client_verify = FAILED:...``."""
    permissive: Verdict | None = None
    """When the client refuses to send its certificate (outcome client_error): what nginx would do if a permissive
    client (``openssl s_client -cipher DEFAULT:@SECLEVEL=0``) sent it; None otherwise or when unknown."""


class ClockFacts(Record):
    """The clock the verdict is computed at."""

    at: datetime
    """The server's clock: now, or --at."""
    local_now: datetime
    skewed: bool
    """--at differs from local time by more than a minute."""
    valid_locally_only: tuple[Cert, ...]
    """Certificates valid at local time but not at the server's clock: the skew alone breaks them."""
    crls_valid_locally_only: tuple[Crl, ...]
    """CRLs current at local time but not at the server's clock."""


class SettingSeen(Record):
    """One server setting as a live handshake showed it."""

    name: str
    """The directive (``ssl_verify_client``, ``ssl_verify_depth`` ...)."""
    value: str | None
    """What the handshake showed; None: not shown (``evidence`` says why, and what is known of it)."""
    evidence: str


class ProbeFacts(Record):
    """What a live probe of the server saw (``check --connect``), judged: one handshake and one HTTP request.

    Everything the server sent is untrusted text; alerts are numbers (their texts changed across OpenSSL versions).
    """

    target: str
    """``HOST:PORT`` as given: the only address contacted."""
    origin: Origin
    client: str
    """The client emulated (``curl``, ``go`` ...)."""
    failure: str | None
    """Why no HTTP answer came (``timeout``, ``reset``, ``plain_http``, ``tls_alert`` ...); None: it came."""
    failure_detail: str | None
    protocol: str | None
    cert_requested: bool | Unknown
    """The server sent a CertificateRequest (UNKNOWN: the handshake did not get that far)."""
    advertised_ca_names: tuple[str, ...] | Unknown
    sent_matches_advertised: bool | Unknown | None
    """Some certificate the client holds is issued under an advertised name; None: no names advertised, or no
    client certificate."""
    certificates_sent: int | None
    """Certificates the client's Certificate message carried; None: no Certificate message."""
    empty_certificate: bool
    """The client had a certificate, and its Certificate message was EMPTY."""
    withheld_by_client: bool
    """The emulated client (Go, Java, a browser) chose to send nothing: no advertised name issued its chain."""
    key_type_allowed: bool | None
    """The client's key type is among the signature algorithms the server asked for (None: not asked, no key)."""
    alert: int | None
    """The fatal alert the server sent, by number."""
    alert_name: str | None
    alert_after_handshake: bool
    """It came after the client's Finished: TLS 1.3's verdict on the client certificate."""
    alert_meaning: str | None
    """What the alert means from the servers that send it, its likely causes ranked (knowledge/other-servers.md)."""
    http_status: int | None
    page: str | None
    """nginx's page (``The SSL certificate error`` ...), or the status line of another answer."""
    page_kind: str | None
    server_date: datetime | None
    """The ``Date:`` header: the server's clock."""
    clock_skew_seconds: int | None
    """Server clock minus local clock, when the Date header was read."""
    server_sees_not_yet_valid: tuple[Cert, ...]
    """Client certificates valid by the local clock that the server's clock sees as not yet valid."""
    server_sees_expired: tuple[Cert, ...]
    """Client certificates valid by the local clock that the server's clock sees as expired."""
    sni: str | None
    host_header: str
    sni_host_differ: bool
    inferred: bool
    """The server's trust store was inferred from the advertised names (no configuration given)."""
    predicted: str | None
    """With --nginx: what the configuration predicts (outcome, status, page)."""
    observed: str
    """What the probe observed (outcome, status, page)."""
    prediction_disagrees: bool | None
    """With --nginx: the configuration's prediction and the observation differ; None without a configuration."""
    settings_seen: tuple[SettingSeen, ...] = ()
    """Without a configuration: each server setting the rules read, as the handshake showed it or why it did not."""
    inference_disagrees: bool | None = None
    """Without a configuration: the twin, run on what the handshake showed and on inferred values for the rest,
    predicts another answer than the server gave (the observation wins; the twin's facts are then UNKNOWN)."""
    likely_causes: tuple[str, ...] = ()
    """When the inferred twin does not explain the server's answer: what a handshake cannot show that would, most
    likely first; none of them certain."""


class Facts(Record):
    """All a rule may read. None: not supplied. UNKNOWN: could not be established."""

    clock: ClockFacts
    client: ClientFacts | None
    server: ServerFacts
    path: PathFacts | Unknown | None
    revocation: RevocationFacts | Unknown | None
    twin: TwinFacts | Unknown | None
    ocsp: OcspFacts | Unknown | None
    """None: ``ssl_ocsp`` is off, or no verified chain for nginx to ask about."""
    verdict: Verdict
    probe: ProbeFacts | None = None
    """What a live probe saw (``check --connect``); None without one."""
