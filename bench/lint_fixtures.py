"""Fixtures for bench/run_lint.py: a small PKI and ingress-style mTLS nginx configs with N server blocks.

The shape follows the anchors' configs (shared/knowledge/perf-anchors.md, "nginx configs"): one ``http {}`` with N
upstreams and N tenant ``server {}`` blocks, about 3.5 KB each. Every file the configs name exists, so ``lint``
really reads them (tests/nginx_config/test_lexer.py lexes a 200-block one too):

* ``certs/pool/server{0..63}.crt|key``: the server certificates, round-robin (issued by a server CA);
* ``certs/client-ca.crt``: the client CA bundle (issuing intermediate + root);
* ``certs/client-ca.crl``: CRLs of both client CAs (the intermediate's revokes 200 serials);
  ``certs/client-int.crl``: the intermediate's alone (the root then has no CRL: a real mistake, on a few blocks);
* ``certs/proxy-client.crt|key`` and ``certs/upstream-ca.crt``: nginx's client certificate towards the upstreams
  and the CA it verifies them with.

Every block: ``listen ... ssl``, its certificate and key, ``ssl_client_certificate``, ``ssl_verify_client``
on/optional/optional_no_ca in turn, ``ssl_verify_depth``, ``ssl_protocols``, ``ssl_crl`` on one block in 4,
two shared snippets, an ``if`` on ``$ssl_client_verify``, four locations ``proxy_pass https://`` with
``proxy_ssl_certificate|_key|_trusted_certificate|_verify|_verify_depth|_server_name|_name|_protocols``, each
including a third snippet. Paths are relative to the config's directory (nginx's prefix).
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

POOL = 64
_MODES = ("on", "optional", "optional_no_ca")

_SSL_PARAMS = """\
ssl_session_cache shared:SSL:10m;
ssl_session_timeout 1d;
ssl_session_tickets off;
ssl_prefer_server_ciphers on;
ssl_ciphers ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:ECDHE-ECDSA-AES256-GCM-SHA384;
"""

_SECURITY_HEADERS = """\
add_header Strict-Transport-Security "max-age=63072000" always;
add_header X-Frame-Options DENY always;
add_header X-Content-Type-Options nosniff always;
add_header Referrer-Policy no-referrer always;
"""

_PROXY_HEADERS = """\
proxy_set_header Host $host;
proxy_set_header X-Real-IP $remote_addr;
proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
proxy_set_header X-Forwarded-Proto $scheme;
proxy_set_header X-Client-Verify $ssl_client_verify;
proxy_set_header X-Client-DN $ssl_client_s_dn;
"""

_MIME_TYPES = """\
types {
    text/html                             html htm shtml;
    text/css                              css;
    application/javascript                js;
    application/json                      json;
    image/png                             png;
}
"""


# --- PKI -------------------------------------------------------------------------------------------------------


def _name(cn: str) -> x509.Name:
    org = x509.NameAttribute(NameOID.ORGANIZATION_NAME, "mtls-doctor bench")
    return x509.Name([org, x509.NameAttribute(NameOID.COMMON_NAME, cn)])


def _cert(
    subject: str,
    key: ec.EllipticCurvePrivateKey,
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey] | None,
    *,
    now: dt.datetime,
    ca: bool,
    eku: tuple[x509.ObjectIdentifier, ...] = (),
    dns: tuple[str, ...] = (),
    serial: int,
) -> x509.Certificate:
    issuer_name, signer = (issuer[0].subject, issuer[1]) if issuer else (_name(subject), key)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_name)
        .public_key(key.public_key())
        .serial_number(serial)
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=3650 if ca else 365))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    )
    if ca:
        usage = x509.KeyUsage(False, False, False, False, False, True, True, False, False)
    else:
        usage = x509.KeyUsage(True, False, False, False, False, False, False, False, False)
    builder = builder.add_extension(usage, critical=True)
    if issuer:
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(issuer[1].public_key()), critical=False
        )
    if eku:
        builder = builder.add_extension(x509.ExtendedKeyUsage(list(eku)), critical=False)
    if dns:
        builder = builder.add_extension(x509.SubjectAlternativeName([x509.DNSName(d) for d in dns]), critical=False)
    return builder.sign(signer, hashes.SHA256())


def _crl(
    issuer: tuple[x509.Certificate, ec.EllipticCurvePrivateKey], revoked: int, now: dt.datetime
) -> x509.CertificateRevocationList:
    builder = (
        x509.CertificateRevocationListBuilder()
        .issuer_name(issuer[0].subject)
        .last_update(now - dt.timedelta(hours=1))
        .next_update(now + dt.timedelta(days=7))
    )
    for serial in range(1000, 1000 + revoked):
        builder = builder.add_revoked_certificate(
            x509.RevokedCertificateBuilder().serial_number(serial).revocation_date(now - dt.timedelta(days=2)).build()
        )
    return builder.sign(issuer[1], hashes.SHA256())


def _pem(*objects: x509.Certificate | x509.CertificateRevocationList) -> bytes:
    return b"".join(o.public_bytes(serialization.Encoding.PEM) for o in objects)


def _key_pem(key: ec.EllipticCurvePrivateKey) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def write_pki(directory: Path) -> None:
    """Write the certificates, keys and CRLs under ``directory/certs``."""
    now = dt.datetime.now(dt.UTC).replace(microsecond=0)
    certs = directory / "certs"
    (certs / "pool").mkdir(parents=True, exist_ok=True)
    serial = iter(range(2, 1_000_000))

    def new_key() -> ec.EllipticCurvePrivateKey:
        return ec.generate_private_key(ec.SECP256R1())

    root_key = new_key()
    root = (_cert("Client Root CA", root_key, None, now=now, ca=True, serial=next(serial)), root_key)
    int_key = new_key()
    issuing = (_cert("Client Issuing CA", int_key, root, now=now, ca=True, serial=next(serial)), int_key)
    (certs / "client-ca.crt").write_bytes(_pem(issuing[0], root[0]))
    root_crl, int_crl = _crl(root, 0, now), _crl(issuing, 200, now)
    (certs / "client-ca.crl").write_bytes(_pem(int_crl, root_crl))
    (certs / "client-int.crl").write_bytes(_pem(int_crl))

    server_ca_key = new_key()
    server_ca = (_cert("Server CA", server_ca_key, None, now=now, ca=True, serial=next(serial)), server_ca_key)
    for i in range(POOL):
        key = new_key()
        cert = _cert(
            f"server{i}.example.com",
            key,
            server_ca,
            now=now,
            ca=False,
            eku=(ExtendedKeyUsageOID.SERVER_AUTH,),
            dns=(f"server{i}.example.com",),
            serial=next(serial),
        )
        (certs / "pool" / f"server{i}.crt").write_bytes(_pem(cert, server_ca[0]))
        (certs / "pool" / f"server{i}.key").write_bytes(_key_pem(key))

    upstream_key = new_key()
    upstream_ca = (_cert("Upstream CA", upstream_key, None, now=now, ca=True, serial=next(serial)), upstream_key)
    (certs / "upstream-ca.crt").write_bytes(_pem(upstream_ca[0]))
    proxy_key = new_key()
    proxy = _cert(
        "ingress proxy client",
        proxy_key,
        upstream_ca,
        now=now,
        ca=False,
        eku=(ExtendedKeyUsageOID.CLIENT_AUTH,),
        serial=next(serial),
    )
    (certs / "proxy-client.crt").write_bytes(_pem(proxy, upstream_ca[0]))
    (certs / "proxy-client.key").write_bytes(_key_pem(proxy_key))


# --- configuration -----------------------------------------------------------------------------------------------


def _upstream(i: int) -> str:
    a, b, c = i // 65536 % 256, i // 256 % 256, i % 256
    return f"""\
    upstream tenant{i}_backend {{
        zone tenant{i}_backend 64k;
        server 10.{a}.{b}.{c}:8443 max_fails=3 fail_timeout=10s;
        server 10.{a}.{b}.{c}:9443 backup;
        keepalive 16;
    }}
"""


def _location(i: int, path: str, extra: str) -> str:
    return f"""\
        location {path} {{
            proxy_pass https://tenant{i}_backend;
            proxy_ssl_certificate     certs/proxy-client.crt;
            proxy_ssl_certificate_key certs/proxy-client.key;
            proxy_ssl_trusted_certificate certs/upstream-ca.crt;
            proxy_ssl_verify          on;
            proxy_ssl_verify_depth    2;
            proxy_ssl_server_name     on;
            proxy_ssl_name            tenant{i}.internal;
            proxy_ssl_protocols       TLSv1.2 TLSv1.3;
            proxy_ssl_session_reuse   on;
            include snippets/proxy-headers.conf;{extra}
        }}
"""


def _crl_line(i: int) -> str:
    """``ssl_crl`` on one block in 4; one of those in 10 names the intermediate's CRL alone (root without CRL)."""
    if i % 4:
        return ""
    return "        ssl_crl certs/client-int.crl;\n" if i % 40 == 0 else "        ssl_crl certs/client-ca.crl;\n"


def _server(i: int) -> str:
    cert = i % POOL
    locations = "".join(
        _location(i, path, extra)
        for path, extra in (
            ("/", ""),
            ("/api/", "\n            proxy_buffering off;"),
            ("~ ^/admin/", "\n            allow 10.0.0.0/8;\n            deny all;"),
            ("= /healthz", "\n            access_log off;"),
        )
    )
    return f"""\
    server {{
        listen 443 ssl http2;
        listen [::]:443 ssl http2;
        server_name tenant{i}.example.com www.tenant{i}.example.com;

        ssl_certificate     certs/pool/server{cert}.crt;
        ssl_certificate_key certs/pool/server{cert}.key;
        ssl_client_certificate certs/client-ca.crt;
        ssl_verify_client {_MODES[i % 3]};
        ssl_verify_depth {1 + i % 3};
        ssl_protocols TLSv1.2 TLSv1.3;
{_crl_line(i)}\
        include snippets/ssl-params.conf;
        include snippets/security-headers.conf;

        access_log logs/tenant{i}.access.log;
        error_log logs/tenant{i}.error.log info;
        error_page 495 496 = /cert-error;

        if ($ssl_client_verify != SUCCESS) {{
            set $cert_problem 1;
        }}

{locations}\
        location = /cert-error {{
            internal;
            return 403 "client certificate: $ssl_client_verify\\n";
        }}
    }}

"""


def write_snippets(directory: Path) -> None:
    """The included files, shared by every config in ``directory``."""
    snippets = directory / "snippets"
    snippets.mkdir(parents=True, exist_ok=True)
    (snippets / "ssl-params.conf").write_text(_SSL_PARAMS)
    (snippets / "security-headers.conf").write_text(_SECURITY_HEADERS)
    (snippets / "proxy-headers.conf").write_text(_PROXY_HEADERS)
    (directory / "mime.types").write_text(_MIME_TYPES)


def write_config(directory: Path, servers: int) -> Path:
    """Write ``nginx-{servers}.conf`` into ``directory`` (which must hold the PKI and snippets) and return it."""
    main = directory / f"nginx-{servers}.conf"
    with main.open("w") as out:
        out.write("worker_processes auto;\nevents {\n    worker_connections 1024;\n}\n\nhttp {\n")
        out.write("    include mime.types;\n    default_type application/octet-stream;\n")
        out.write("    sendfile on;\n    keepalive_timeout 65;\n    error_log logs/error.log warn;\n\n")
        for i in range(servers):
            out.write(_upstream(i))
        out.write("\n")
        for i in range(servers):
            out.write(_server(i))
        out.write("}\n")
    return main


def write_fixtures(directory: Path, sizes: list[int]) -> dict[int, Path]:
    """PKI, snippets and one config per size in ``directory``; the config of each size."""
    write_pki(directory)
    write_snippets(directory)
    return {n: write_config(directory, n) for n in sizes}
