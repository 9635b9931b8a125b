"""Generates large ingress-style nginx configurations for measuring the reader (see nginx_measure.py).

The shape follows the benchmark fixtures described in knowledge/perf-anchors.md (bench/gen_nginx.py): one
``http {}`` holding N upstreams and N tenant ``server {}`` blocks, each with a certificate from a 64-file pool, a
client CA, ``ssl_verify_client`` (on / optional / optional_no_ca), an ``if``, four locations proxying over
``https://`` with mTLS to the upstream, and three ``include``s. About 3.4 KB per server block, so 1,000 blocks
give about 3.4 MB. Paths are relative (to the conf prefix); nothing the config names is created except the
included files, because the reader never opens certificates.
"""

from __future__ import annotations

from pathlib import Path

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


def _upstream(i: int) -> str:
    return f"""\
    upstream tenant{i}_backend {{
        zone tenant{i}_backend 64k;
        server 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:8443 max_fails=3 fail_timeout=10s;
        server 10.{i // 65536 % 256}.{i // 256 % 256}.{i % 256}:9443 backup;
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
            include snippets/proxy-headers.conf;{extra}
        }}
"""


def _server(i: int) -> str:
    cert = i % 64
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


def write_config(directory: Path, servers: int) -> Path:
    """Write ``nginx.conf`` with ``servers`` tenant blocks and its included files under ``directory``.

    Returns the path of ``nginx.conf``. The directory is created if needed; existing files are overwritten.
    """
    snippets = directory / "snippets"
    snippets.mkdir(parents=True, exist_ok=True)
    (snippets / "ssl-params.conf").write_text(_SSL_PARAMS)
    (snippets / "security-headers.conf").write_text(_SECURITY_HEADERS)
    (snippets / "proxy-headers.conf").write_text(_PROXY_HEADERS)
    (directory / "mime.types").write_text(_MIME_TYPES)
    main = directory / "nginx.conf"
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
