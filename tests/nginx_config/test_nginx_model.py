"""effective_settings: inheritance, nginx's defaults, version-dependent values, and picking server blocks."""

from __future__ import annotations

from pathlib import Path

import pytest

from mtls_doctor.errors import InputError
from mtls_doctor.nginx import (
    Context,
    EffectiveConfig,
    LocationModifier,
    LogLevel,
    OcspMode,
    PathKind,
    ServerBlock,
    TlsProtocol,
    UpstreamModule,
    effective_settings,
    parse_nginx_build,
    read_config,
)
from mtls_doctor.nginx.build import NginxBuild
from mtls_doctor.vocabulary import VerifyClient

TLS1_0_TO_1_2 = (TlsProtocol.TLSV1, TlsProtocol.TLSV1_1, TlsProtocol.TLSV1_2)


def model(
    text: str, *, nginx: str | NginxBuild = "1.22.1", prefix: Path | None = Path("/etc/nginx")
) -> EffectiveConfig:
    return effective_settings(read_config("-", text=text, prefix=prefix), nginx=nginx)


def server(text: str, **kwargs: object) -> ServerBlock:
    (only,) = model(text, **kwargs).servers  # type: ignore[arg-type]
    return only


def line(setting: object) -> int | None:
    origin = getattr(setting, "origin")  # noqa: B009 - every placed model value has one
    return None if origin is None else origin.line


# -- defaults ------------------------------------------------------------------------------------------------------


def test_nginx_defaults_when_nothing_is_set() -> None:
    block = server("server {\n}\n")
    tls = block.tls
    assert tls.ssl_verify_client.value is VerifyClient.OFF
    assert tls.ssl_verify_client.is_default
    assert tls.ssl_verify_depth.value == 1
    assert tls.ssl_client_certificate.value is None
    assert tls.ssl_protocols.value == TLS1_0_TO_1_2
    assert tls.ssl_ciphers.value == "HIGH:!aNULL:!MD5"
    assert (tls.security_level.level, tls.security_level.explicit, tls.security_level.origin) == (2, False, None)
    assert tls.ssl_certificate.value == ()
    assert tls.ssl_ocsp.value is OcspMode.OFF
    assert not tls.ssl.value
    listen = block.listens[0]
    assert (listen.address, listen.port, listen.ssl, listen.origin) == ("*", 80, False, None)
    assert [(n.name, n.origin) for n in block.server_names] == [("", None)]
    assert [(log.target, log.level, log.origin) for log in block.error_log] == [
        ("logs/error.log", LogLevel.ERROR, None)
    ]
    assert not block.is_tls
    assert not block.verifies_clients


def test_the_default_error_log_comes_from_the_build() -> None:
    build = parse_nginx_build(
        "nginx version: nginx/1.22.1\nconfigure arguments: --error-log-path=/var/log/nginx/error.log"
    )
    assert server("server {}", nginx=build).error_log[0].target == "/var/log/nginx/error.log"


@pytest.mark.parametrize(
    ("version", "protocols"),
    [
        ("1.22.1", TLS1_0_TO_1_2),
        ("1.23.3", TLS1_0_TO_1_2),
        ("1.23.4", (*TLS1_0_TO_1_2, TlsProtocol.TLSV1_3)),
        ("1.26.2", (*TLS1_0_TO_1_2, TlsProtocol.TLSV1_3)),
        ("1.27.3", (TlsProtocol.TLSV1_2, TlsProtocol.TLSV1_3)),
    ],
)
def test_default_protocols_follow_the_nginx_version(version: str, protocols: tuple[TlsProtocol, ...]) -> None:
    block = server("server { location / { proxy_pass https://b; } }", nginx=version)
    assert block.tls.ssl_protocols.value == protocols
    assert block.locations[0].proxy_ssl.protocols.value == protocols
    assert block.locations[0].grpc_ssl.protocols.value == protocols


# -- inheritance ---------------------------------------------------------------------------------------------------

INHERIT = """\
error_log logs/main.log warn;
events {}
http {
    ssl_verify_client optional;
    ssl_client_certificate ca/http.pem;
    ssl_certificate http.crt;
    ssl_certificate_key http.key;
    ssl_protocols TLSv1.2;
    proxy_ssl_verify on;
    error_page 495 496 =400 /cert.html;
    server {
        listen 443 ssl;
        ssl_verify_depth 2;
        ssl_certificate a-rsa.crt;
        ssl_certificate a-ec.crt;
        ssl_certificate_key a-rsa.key;
        ssl_certificate_key a-ec.key;
        ssl_protocols tlsv1.3;
        ssl_protocols TLSv1.2;
        proxy_ssl_trusted_certificate upstream-ca.pem;
        error_page 404 /404.html;
        location /a {
            proxy_ssl_verify off;
            proxy_pass https://a;
            location /a/b {
                proxy_ssl_name b.internal;
                grpc_pass grpcs://b;
            }
        }
    }
    server {
        listen 8443 ssl;
        error_log logs/debug.log debug_http;
        error_log logs/other.log;
        ssl_verify_client on;
    }
}
"""


def test_values_are_inherited_from_http_and_overridden_per_server() -> None:
    first, second = model(INHERIT).servers
    assert (first.tls.ssl_verify_client.value, line(first.tls.ssl_verify_client)) == (VerifyClient.OPTIONAL, 4)
    assert (second.tls.ssl_verify_client.value, line(second.tls.ssl_verify_client)) == (VerifyClient.ON, 35)
    assert (first.tls.ssl_verify_depth.value, line(first.tls.ssl_verify_depth)) == (2, 13)
    assert (second.tls.ssl_verify_depth.value, line(second.tls.ssl_verify_depth)) == (1, None)
    assert first.tls.ssl_client_certificate.value is not None
    assert first.tls.ssl_client_certificate.value.path == Path("/etc/nginx/ca/http.pem")
    assert second.tls.ssl_client_certificate is first.tls.ssl_client_certificate


def test_a_block_setting_certificates_replaces_the_inherited_list() -> None:
    first, second = model(INHERIT).servers
    assert [p.raw for p in first.tls.ssl_certificate.value] == ["a-rsa.crt", "a-ec.crt"]
    assert [line(p) for p in first.tls.ssl_certificate.value] == [14, 15]
    assert [p.raw for p in second.tls.ssl_certificate.value] == ["http.crt"]


def test_repeated_ssl_protocols_add_up_case_insensitively() -> None:
    first, second = model(INHERIT).servers
    assert first.tls.ssl_protocols.value == (TlsProtocol.TLSV1_2, TlsProtocol.TLSV1_3)
    assert line(first.tls.ssl_protocols) == 18
    assert second.tls.ssl_protocols.value == (TlsProtocol.TLSV1_2,)


def test_error_pages_are_replaced_not_merged_and_filtered_to_client_cert_codes() -> None:
    first, second = model(INHERIT).servers
    assert first.error_pages == ()  # its own "error_page 404" hides the http-level 495/496 entry, as in nginx
    ((page,),) = (second.error_pages,)
    assert (page.codes, page.response, page.uri, line(page)) == ((495, 496), "=400", "/cert.html", 10)


def test_error_logs_inherit_from_main_and_the_most_verbose_level_counts() -> None:
    first, second = model(INHERIT).servers
    assert [(log.target, log.level, line(log)) for log in first.error_log] == [("logs/main.log", LogLevel.WARN, 1)]
    assert first.error_log_level is LogLevel.WARN
    assert [log.level for log in second.error_log] == [LogLevel.DEBUG, LogLevel.ERROR]
    assert second.error_log_level is LogLevel.DEBUG


def test_upstream_tls_is_inherited_http_server_location_nested_location() -> None:
    first, _ = model(INHERIT).servers
    outer, inner = first.locations
    assert (outer.modifier, outer.uri, outer.parent) == (LocationModifier.PREFIX, "/a", None)
    assert inner.parent is outer
    assert (outer.proxy_ssl.verify.value, line(outer.proxy_ssl.verify)) == (False, 23)
    assert (inner.proxy_ssl.verify.value, line(inner.proxy_ssl.verify)) == (False, 23)
    assert line(inner.proxy_ssl.trusted_certificate) == 20
    assert (inner.proxy_ssl.name.value, line(inner.proxy_ssl.name)) == ("b.internal", 26)
    assert outer.proxy_ssl.name.value is None
    assert outer.grpc_ssl.verify.value is False  # proxy_ssl_verify says nothing about grpc
    assert outer.proxy_ssl.session_reuse.value is True
    assert outer.proxy_ssl.ciphers.value == "DEFAULT"
    ((proxy,),) = (outer.upstreams,)
    assert (proxy.module, proxy.target, proxy.tls, line(proxy)) == (UpstreamModule.PROXY, "https://a", True, 24)
    assert proxy.ssl is outer.proxy_ssl
    ((grpc,),) = (inner.upstreams,)
    assert (grpc.module, grpc.tls, grpc.ssl.verify.value) == (UpstreamModule.GRPC, True, False)


@pytest.mark.parametrize(
    ("directive", "tls"),
    [
        ("proxy_pass https://b", True),
        ("proxy_pass HTTPS://b", True),
        ("proxy_pass http://b", False),
        ("grpc_pass grpcs://127.0.0.1:50051", True),
        ("grpc_pass grpc://b", False),
        ("grpc_pass 127.0.0.1:50051", False),
        ("uwsgi_pass suwsgi://app", True),
        ("uwsgi_pass unix:/run/app.sock", False),
    ],
)
def test_passes_say_whether_nginx_is_a_tls_client(directive: str, tls: bool) -> None:
    block = server(f"server {{ location / {{ if ($request_method = POST) {{ {directive}; }} }} }}")
    assert [p.tls for p in block.locations[0].upstreams] == [tls]


# -- client-certificate variables -----------------------------------------------------------------------------------

VARIABLES = """\
events {}
http {
    map $ssl_client_verify $cert_ok {
        SUCCESS 1;
        default 0;
    }
    map $cert_ok $deny { 0 1; default 0; }
    log_format mtls '$remote_addr ${ssl_client_s_dn} $ssl_client_fingerprint';
    server {
        listen 443 ssl;
        location /checked {
            if ($deny) { return 403; }
        }
        location /header {
            proxy_set_header X-Client-Cert $ssl_client_escaped_cert;
            location /header/nested { return 200; }
        }
    }
    server {
        listen 8443 ssl;
        if ($ssl_client_verify != SUCCESS) { return 403; }
        location / { return 200; }
    }
}
"""


def test_client_certificate_variables_are_found_where_they_are_read() -> None:
    config = model(VARIABLES)
    assert [(u.variable, u.directive.name, u.via, line(u)) for u in config.http_variables] == [
        ("ssl_client_verify", "map", None, 3),
        ("ssl_client_verify", "map", "$cert_ok", 7),
        ("ssl_client_s_dn", "log_format", None, 8),
        ("ssl_client_fingerprint", "log_format", None, 8),
    ]
    first, second = config.servers
    checked, header, nested = first.locations
    assert [(u.variable, u.via, line(u)) for u in checked.variables] == [("ssl_client_verify", "$deny", 12)]
    assert checked.checks_ssl_client_verify
    assert [u.variable for u in header.variables] == ["ssl_client_escaped_cert"]
    assert not header.checks_ssl_client_verify
    assert (nested.parent, nested.variables, nested.checks_ssl_client_verify) == (header, (), False)
    assert [(u.variable, line(u)) for u in second.variables] == [("ssl_client_verify", 21)]
    assert second.locations[0].checks_ssl_client_verify  # the server-level if covers every location


# -- listen, location, server_name ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("listen", "expected"),
    [
        ("443 ssl", ("*", 443, True, False, False)),
        ("*:443 ssl http2 default_server", ("*", 443, True, True, True)),
        ("127.0.0.1", ("127.0.0.1", 80, False, False, False)),
        ("127.0.0.1:8443 ssl default", ("127.0.0.1", 8443, True, True, False)),
        ("[::]:443 ssl ipv6only=on reuseport", ("[::]", 443, True, False, False)),
        ("[::1]", ("[::1]", 80, False, False, False)),
        ("localhost:8080 backlog=511", ("localhost", 8080, False, False, False)),
        ("unix:/run/nginx.sock ssl", ("unix:/run/nginx.sock", None, True, False, False)),
    ],
)
def test_listen(listen: str, expected: tuple[str, int | None, bool, bool, bool]) -> None:
    """(address, port, ssl, default_server, http2) of a listen."""
    (parsed,) = server(f"server {{ listen {listen}; }}").listens
    assert (parsed.address, parsed.port, parsed.ssl, parsed.default_server, parsed.http2) == expected


@pytest.mark.parametrize(
    ("location", "modifier", "uri"),
    [
        ("/", LocationModifier.PREFIX, "/"),
        ("= /healthz", LocationModifier.EXACT, "/healthz"),
        ("=/healthz", LocationModifier.EXACT, "/healthz"),
        ("^~ /static/", LocationModifier.PREFIX_NO_REGEX, "/static/"),
        ("~ \\.php$", LocationModifier.REGEX, "\\.php$"),
        ("~* \\.(png|jpg)$", LocationModifier.REGEX_CASELESS, "\\.(png|jpg)$"),
        ("~*\\.png$", LocationModifier.REGEX_CASELESS, "\\.png$"),
        ("@fallback", LocationModifier.NAMED, "@fallback"),
    ],
)
def test_location_modifiers(location: str, modifier: LocationModifier, uri: str) -> None:
    (parsed,) = server(f"server {{ location {location} {{ }} }}").locations
    assert (parsed.modifier, parsed.uri) == (modifier, uri)


ROUTING = """\
server { listen 443 ssl; server_name www.example.com; }
server { listen 443 ssl; server_name *.example.com; }
server { listen 443 ssl; server_name *.api.example.com; }
server { listen 443 ssl; server_name mail.*; }
server { listen 443 ssl default_server; server_name ~^(?<user>[a-z]+)\\.users\\.example\\.org$; }
server { listen 443 ssl; server_name .example.net; ssl_verify_client on; }
server { listen 443 ssl; server_name ~^A\\.EXAMPLE\\.IO$; }
server { listen 8443 ssl; server_name other.example.com; ssl_verify_client optional_no_ca; }
server { listen 8080; server_name plain.example.com; ssl_verify_client on; }
"""


@pytest.mark.parametrize(
    ("host", "port", "line_no"),
    [
        ("www.example.com", 443, 1),  # exact beats the wildcard
        ("WWW.Example.COM.", 443, 1),  # case and trailing dot do not matter
        ("shop.example.com", 443, 2),
        ("a.b.example.com", 443, 2),  # a leading wildcard matches any depth
        ("v1.api.example.com", 443, 3),  # the longest leading wildcard wins
        ("mail.example.org", 443, 4),
        ("alice.users.example.org", 443, 5),  # PCRE named group read as Python's
        ("example.net", 443, 6),  # ".example.net" is also the exact name
        ("x.example.net", 443, 6),
        ("a.example.io", 443, 7),  # an upper-case regex is caseless
        ("unknown.test", 443, 5),  # no match: the default_server
        ("unknown.test", 8443, 8),  # no match and no default_server: the first block of the port
    ],
)
def test_route_picks_the_block_nginx_would(host: str, port: int, line_no: int) -> None:
    picked = model(ROUTING).route(host, port)
    assert picked is not None
    assert picked.origin.line == line_no


def test_finding_servers_by_name_port_and_verification() -> None:
    config = model(ROUTING)
    assert [s.origin.line for s in config.find_servers(name="shop.example.com")] == [2]
    assert [s.origin.line for s in config.find_servers(name="other.example.com")] == [2, 8]
    assert [s.origin.line for s in config.find_servers(name="other.example.com", port=8443)] == [8]
    assert [s.origin.line for s in config.find_servers(name="nothing.test", port=443)] == []
    assert [s.origin.line for s in config.find_servers(port=8443)] == [8]
    assert config.route("x", 9999) is None
    assert [s.origin.line for s in config.verifying_servers] == [6, 8]  # not the plain-HTTP one


# -- paths ----------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("argument", "kind", "path", "inside"),
    [
        ("certs/a.pem", PathKind.FILE, "/etc/nginx/certs/a.pem", True),
        ("/etc/nginx/../ssl/a.pem", PathKind.FILE, "/etc/ssl/a.pem", False),
        ("/etc/ssl/certs/ssl-cert-snakeoil.pem", PathKind.FILE, "/etc/ssl/certs/ssl-cert-snakeoil.pem", False),
        ("certs/$ssl_server_name.pem", PathKind.VARIABLE, None, None),
        ("data:$cert_pem", PathKind.DATA, None, None),
    ],
)
def test_file_arguments_are_resolved_against_the_conf_prefix(
    argument: str, kind: PathKind, path: str | None, inside: bool | None
) -> None:
    certificate = server(f"server {{ ssl_certificate {argument}; }}").tls.ssl_certificate.value[0]
    assert (certificate.kind, certificate.inside_root) == (kind, inside)
    assert certificate.path == (Path(path) if path else None)


def test_engine_keys_and_unresolvable_relative_paths() -> None:
    tls = server("server { ssl_certificate_key engine:pkcs11:slot_0-id_1; ssl_crl crl.pem; }", prefix=None).tls
    assert tls.ssl_certificate_key.value[0].kind is PathKind.ENGINE
    crl = tls.ssl_crl.value
    assert crl is not None
    assert (crl.kind, crl.path, crl.inside_root) == (PathKind.FILE, None, None)


def test_security_level_from_the_cipher_string() -> None:
    tls = server("server {\n    ssl_ciphers DEFAULT:@SECLEVEL=1:@SECLEVEL=0;\n}\n").tls
    assert (tls.security_level.level, tls.security_level.explicit, line(tls.security_level)) == (0, True, 2)


# -- stream ---------------------------------------------------------------------------------------------------------

STREAM = """\
events {}
stream {
    ssl_verify_depth 3;
    proxy_ssl_certificate client.pem;
    server {
        listen 5432 ssl;
        ssl_verify_client on;
        ssl_client_certificate ca.pem;
        proxy_ssl on;
        proxy_ssl_verify on;
        proxy_pass db.internal:5432;
    }
    server {
        listen 127.0.0.1:6379;
        proxy_pass cache:6379;
    }
}
"""


def test_stream_servers() -> None:
    tls_server, plain = model(STREAM).servers
    assert tls_server.context is Context.STREAM
    assert (tls_server.listens[0].port, tls_server.listens[0].ssl) == (5432, True)
    assert tls_server.verifies_clients
    assert (tls_server.tls.ssl_verify_depth.value, line(tls_server.tls.ssl_verify_depth)) == (3, 3)
    assert tls_server.server_names == ()
    assert tls_server.proxy_ssl is not None
    assert line(tls_server.proxy_ssl.certificate) == 4
    ((upstream,),) = (tls_server.upstreams,)
    assert (upstream.target, upstream.tls, line(upstream.tls_directive) if upstream.tls_directive else None) == (
        "db.internal:5432",
        True,
        9,
    )
    assert upstream.ssl.verify.value
    assert [(u.tls, u.tls_origin) for u in plain.upstreams] == [(False, None)]
    assert plain.listens[0].address == "127.0.0.1"
    assert model(STREAM).find_servers(context=Context.STREAM, port=6379) == (plain,)


def test_stream_listen_needs_a_port() -> None:
    with pytest.raises(InputError, match=r'no port in "127\.0\.0\.1" of the "listen" directive'):
        model("events {}\nstream { server { listen 127.0.0.1; } }\n")


# -- nginx -V -------------------------------------------------------------------------------------------------------

DEBIAN_V = """\
nginx version: nginx/1.22.1
built with OpenSSL 3.0.22 25 Aug 2026 (running with OpenSSL 3.0.19 27 Jan 2026)
TLS SNI support enabled
configure arguments: --with-cc-opt='-g -O2 -fstack-protector-strong' --prefix=/usr/share/nginx \
--conf-path=/etc/nginx/nginx.conf --error-log-path=/var/log/nginx/error.log --with-http_ssl_module
"""


@pytest.mark.parametrize(
    ("text", "version", "built", "running"),
    [
        (DEBIAN_V, (1, 22, 1), "OpenSSL 3.0.22 25 Aug 2026", "OpenSSL 3.0.19 27 Jan 2026"),
        (
            "nginx version: nginx/1.25.3 (Ubuntu)\nbuilt with OpenSSL 3.0.13 30 Jan 2024\n",
            (1, 25, 3),
            "OpenSSL 3.0.13 30 Jan 2024",
            None,
        ),
        (
            "nginx version: openresty/1.21.4.1\nbuilt with OpenSSL 1.1.1n  15 Mar 2022\n",
            (1, 21, 4),
            "OpenSSL 1.1.1n  15 Mar 2022",
            None,
        ),
        (
            "nginx version: nginx/1.24.0\nbuilt by gcc 12.2.0\nbuilt with LibreSSL 3.8.2\n",
            (1, 24, 0),
            "LibreSSL 3.8.2",
            None,
        ),
        ("1.23.4", (1, 23, 4), None, None),
        ("nginx/1.27.3", (1, 27, 3), None, None),
    ],
)
def test_nginx_v(text: str, version: tuple[int, int, int], built: str | None, running: str | None) -> None:
    build = parse_nginx_build(text)
    assert (build.version, build.ssl_built_with, build.ssl_running_with) == (version, built, running)


def test_nginx_v_details() -> None:
    build = parse_nginx_build(DEBIAN_V)
    assert build.error_log_path == "/var/log/nginx/error.log"
    assert build.ssl_library == "OpenSSL 3.0.19 27 Jan 2026"
    assert "--with-cc-opt=-g -O2 -fstack-protector-strong" in build.configure_arguments
    assert str(build) == "nginx/1.22.1"
    cut = parse_nginx_build("nginx version: nginx/1.22.1\nconfigure arguments: --with-cc-opt='-g -O2")
    assert cut.configure_arguments == ("--with-cc-opt='-g", "-O2")


@pytest.mark.parametrize("text", ["", "nginx", "openssl 3.0.2\nsomething 1.2.3"])
def test_nginx_v_without_a_version(text: str) -> None:
    with pytest.raises(InputError, match="no nginx version"):
        parse_nginx_build(text)
