"""read_config: the forms of input, includes under a prefix, and the tree it gives."""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mtls_doctor.nginx import ConfigForm, effective_settings, read_config
from tests.nginx_config.conftest import WriteTree
from tests.nginx_config.model_view import view

SERVER = """\
server {
    listen 443 ssl;
    server_name api.example.com;
    ssl_certificate certs/api.crt;
    ssl_certificate_key certs/api.key;
    ssl_client_certificate certs/clients.crt;
    ssl_verify_client on;
    include snippets/mtls.conf;
    location / {
        if ($ssl_client_verify != SUCCESS) { return 403; }
        proxy_pass https://backend;
    }
}
"""
MTLS_SNIPPET = "ssl_verify_depth 2;\nssl_crl certs/clients.crl;\n"


def _full(server: str) -> str:
    # The brief's same-line wrapper: the server keeps its own line numbers inside the full config.
    return "events {} http { " + server + "}\n"


def _dump(root: Path, files: dict[str, str]) -> str:
    parts = [f"nginx: the configuration file {root}/nginx.conf syntax is ok\n"]
    parts.extend(f"# configuration file {root}/{name}:\n{text}\n" for name, text in files.items())
    parts.append(f"nginx: configuration file {root}/nginx.conf test is successful\n")
    return "".join(parts)


def test_file_stdin_dump_and_snippet_give_the_same_model(
    write_tree: WriteTree, monkeypatch: pytest.MonkeyPatch
) -> None:
    files = {"nginx.conf": _full(SERVER), "snippets/mtls.conf": MTLS_SNIPPET}
    root = write_tree(files)
    from_file = read_config(root / "nginx.conf")
    from_text = read_config("-", text=files["nginx.conf"], prefix=root)
    from_dump = read_config("-", text=_dump(root, files))
    from_snippet = read_config("-", text=SERVER, prefix=root)
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(files["nginx.conf"].encode())))
    from_stdin = read_config("-", prefix=root)

    assert from_file.form is ConfigForm.FULL
    assert from_dump.form is ConfigForm.DUMP
    assert from_snippet.form is ConfigForm.HTTP_SNIPPET
    assert from_stdin.source == "<stdin>"
    expected = view(effective_settings(from_file))
    for config in (from_text, from_dump, from_snippet, from_stdin):
        assert view(effective_settings(config)) == expected, config.form
    server = effective_settings(from_snippet).servers[0]
    assert server.tls.ssl_verify_depth.origin is not None
    assert (server.tls.ssl_verify_depth.origin.line, Path(server.tls.ssl_verify_depth.origin.source).name) == (
        1,
        "mtls.conf",
    )
    assert server.origin.line == 1
    assert server.tls.ssl_verify_client.origin is not None
    assert server.tls.ssl_verify_client.origin.line == 7


def test_dump_files_keep_their_own_line_numbers_and_are_never_read_from_disk(tmp_path: Path) -> None:
    dump = _dump(
        Path("/etc/nginx"),
        {
            "nginx.conf": "events {}\nhttp {\n    include /etc/nginx/sites-enabled/*;\n}\n",
            "sites-enabled/api": "# api\n\nserver {\n    listen 443 ssl;\n    ssl_verify_client on;\n}\n",
        },
    )
    config = read_config("-", text=dump)
    assert config.prefix == Path("/etc/nginx")
    assert not config.on_disk
    assert [f.name for f in config.files] == ["/etc/nginx/nginx.conf", "/etc/nginx/sites-enabled/api"]
    assert all(f.path is None for f in config.files)
    server = effective_settings(config).servers[0]
    assert server.origin.source == "/etc/nginx/sites-enabled/api"
    assert server.origin.line == 3
    assert server.tls.ssl_verify_client.origin is not None
    assert server.tls.ssl_verify_client.origin.line == 5


def test_dump_missing_an_included_file_lists_it_and_reads_the_rest() -> None:
    dump = "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n    include mime.types;\n}\n"
    config = read_config("-", text=dump)
    [unread] = config.unread_includes
    assert (unread.name, unread.directive.line, unread.context) == ("/etc/nginx/mime.types", 3, ("http",))
    assert "not in this nginx -T output" in unread.reason


def test_a_dump_pasted_with_nginx_v_and_warnings_before_it() -> None:
    """As people paste it: the prompt, nginx -V, then nginx -T 2>&1 with nginx's log lines (observed, 1.22.1)."""
    paste = (
        "$ nginx -V\nnginx version: nginx/1.24.0\nbuilt with OpenSSL 3.0.13 30 Jan 2024\nTLS SNI support enabled\n"
        "configure arguments: --with-http_ssl_module\n$ sudo nginx -T 2>&1\n"
        '2026/01/02 03:04:05 [warn] 77#77: the "ssl" directive is deprecated in /etc/nginx/nginx.conf:3\n'
        'nginx: [warn] "ssl_stapling" ignored, issuer certificate not found\n'
        "nginx: the configuration file /etc/nginx/nginx.conf syntax is ok\n"
        "nginx: configuration file /etc/nginx/nginx.conf test is successful\n"
        "# configuration file /etc/nginx/nginx.conf:\nevents {}\nhttp {\n    server { listen 443; ssl on; }\n}\n"
    )
    config = read_config("-", text=paste)
    assert config.form is ConfigForm.DUMP
    assert config.nginx_v is not None
    assert config.nginx_v.startswith("nginx version: nginx/1.24.0")
    assert len(config.nginx_messages) == 4
    assert effective_settings(config, nginx=config.nginx_v).nginx.version == (1, 24, 0)
    assert effective_settings(config).servers[0].directive.line == 3


def test_text_that_is_not_a_dump_preamble_is_not_a_dump() -> None:
    text = "hello;\n# configuration file /etc/nginx/nginx.conf:\nevents {}\n"
    assert read_config("-", text=text).form is ConfigForm.FULL


def test_server_level_directives_are_read_as_a_server_body() -> None:
    config = read_config("-", text="listen 443 ssl;\nssl_verify_client on;\nlocation / {\n    return 200;\n}\n")
    assert config.form is ConfigForm.SERVER_SNIPPET
    assert config.notes
    assert "body of one server block" in config.notes[0]
    [server] = effective_settings(config).servers
    assert server.listens[0].port == 443
    assert server.locations[0].directive.line == 3


def test_includes_resolve_against_the_prefix_not_the_including_file(write_tree: WriteTree) -> None:
    # nginx joins every relative include to the conf prefix (ngx_conf_include -> ngx_conf_full_name(..., 1)).
    root = write_tree(
        {
            "nginx.conf": "events {}\nhttp {\n    include sites/*.conf;\n}\n",
            "sites/b.conf": "server { listen 8002; include snippets/common.conf; }\n",
            "sites/a.conf": "server { listen 8001; include snippets/common.conf; }\n",
            "sites/.hidden.conf": "this is not included at all\n",
            "sites/skip.txt": "nor this\n",
            "snippets/common.conf": "ssl_verify_depth 3;\n",
        }
    )
    config = read_config(root / "nginx.conf")
    names = [Path(f.name).relative_to(root).as_posix() for f in config.files]
    assert names == ["nginx.conf", "sites/a.conf", "snippets/common.conf", "sites/b.conf"]
    model = effective_settings(config)
    assert [s.listens[0].port for s in model.servers] == [8001, 8002]  # glob(3) order: sorted
    assert all(s.tls.ssl_verify_depth.value == 3 for s in model.servers)


def test_a_file_included_in_two_contexts_is_read_in_each(write_tree: WriteTree) -> None:
    root = write_tree(
        {
            "nginx.conf": "events {}\nhttp {\n    include tls.conf;\n"
            "    server { listen 8443; include tls.conf; }\n}\n",
            "tls.conf": "ssl_protocols TLSv1.2;\n",
        }
    )
    config = read_config(root / "nginx.conf")
    http = config.directives[1]
    assert [d.name for d in http.block or ()] == ["include", "ssl_protocols", "server"]
    server = effective_settings(config).servers[0]
    assert server.tls.ssl_protocols.origin is not None
    assert server.tls.ssl_protocols.origin.line == 1
    assert len(config.files) == 2


def test_a_prefix_other_than_the_main_files_directory(write_tree: WriteTree) -> None:
    # Linting one file of sites-enabled/ with /etc/nginx as the prefix, as nginx would read it.
    root = write_tree(
        {
            "sites-enabled/api": "server {\n    listen 443 ssl;\n    include snippets/mtls.conf;\n}\n",
            "snippets/mtls.conf": "ssl_verify_client on;\nssl_client_certificate ca/clients.pem;\n",
        }
    )
    config = read_config(root / "sites-enabled" / "api", prefix=root)
    assert config.form is ConfigForm.HTTP_SNIPPET
    tls = effective_settings(config).servers[0].tls
    assert tls.ssl_client_certificate.value is not None
    assert tls.ssl_client_certificate.value.path == root / "ca" / "clients.pem"
    # the default prefix is the file's own directory: the include is not there, listed and skipped
    [unread] = read_config(root / "sites-enabled" / "api").unread_includes
    assert unread.reason.startswith('open() "')
    assert "sites-enabled/snippets/mtls.conf" in unread.reason
    assert unread.directive.line == 3


def test_includes_outside_the_prefix_are_read_from_disk_as_nginx_does(write_tree: WriteTree, tmp_path: Path) -> None:
    root = write_tree({"nginx.conf": "events {}\nhttp {\n    include ../shared/*.conf;\n}\n"})
    shared = tmp_path / "shared"
    shared.mkdir()
    (shared / "tls.conf").write_text("ssl_verify_depth 4;\n")
    config = read_config(root / "nginx.conf")
    assert Path(config.files[1].name) == shared / "tls.conf"
    # pasted text keeps to its prefix unless allowed: the include is listed, the rest read
    pasted = read_config("-", text=(root / "nginx.conf").read_text(), prefix=root)
    [unread] = pasted.unread_includes
    assert "outside the prefix" in unread.reason
    assert read_config("-", text=(root / "nginx.conf").read_text(), prefix=root, allow_outside_prefix=True).files[1:]


def test_a_symlink_out_of_the_prefix_counts_as_outside_for_pasted_text(write_tree: WriteTree, tmp_path: Path) -> None:
    secret = tmp_path / "secret.conf"
    secret.write_text("ssl_verify_depth 4;\n")
    root = write_tree({"nginx.conf": "events {}\nhttp {\n    include link.conf;\n}\n"})
    os.symlink(secret, root / "link.conf")
    [unread] = read_config("-", text=(root / "nginx.conf").read_text(), prefix=root).unread_includes
    assert "outside the prefix" in unread.reason


def test_pasted_text_without_a_prefix_lists_includes_instead_of_reading_them() -> None:
    config = read_config("-", text="server {\n    listen 443 ssl;\n    include snippets/mtls.conf;\n}\n")
    assert config.prefix is None
    assert [(o.source, o.line) for o in config.skipped_includes] == [("<stdin>", 3)]
    model = effective_settings(config)
    assert model.servers[0].listens[0].port == 443


def test_an_include_matching_nothing_is_fine_as_in_nginx(write_tree: WriteTree) -> None:
    root = write_tree({"nginx.conf": "events {}\nhttp {\n    include conf.d/*.conf;\n}\n"})
    assert len(read_config(root / "nginx.conf").files) == 1


def test_unknown_directives_are_kept_and_listed(write_tree: WriteTree) -> None:
    # crossplane 0.5.8 does not know ssl_reject_handshake (1.19.4); third-party directives and typos are unknown
    # to everyone. None is an error here; the unknown ones are listed for the lint (nginx refuses a typo).
    server_block = """\
server {
    ssl_reject_handshake on;
    more_set_headers 'X: y';
    ssl_verify_clent on;
    access_by_lua_block { ngx.exit(403) }
    location / { map_like_thing { a b; } }
}"""
    root = write_tree({"nginx.conf": _full(server_block) + "http { map $a $b { ssl_verify_clent 1; } }\n"})
    config = read_config(root / "nginx.conf")
    server = config.directives[1].block[0]  # type: ignore[index]
    assert [d.name for d in server.block or ()] == [
        "ssl_reject_handshake",
        "more_set_headers",
        "ssl_verify_clent",
        "access_by_lua_block",
        "location",
    ]
    assert [(d.name, d.line) for d in config.unknown_directives] == [
        ("more_set_headers", 3),
        ("ssl_verify_clent", 4),
        ("access_by_lua_block", 5),
        ("map_like_thing", 6),
    ]
    assert effective_settings(config).servers[0].tls.ssl_reject_handshake.value


def test_if_arguments_lose_their_parentheses() -> None:
    config = read_config("-", text="server { if ( $ssl_client_verify != SUCCESS ) { return 403; } }")
    condition = config.directives[0].block[0].block[0]  # type: ignore[index]
    assert condition.args == ("$ssl_client_verify", "!=", "SUCCESS")


def test_a_directive_name_quoted_on_a_later_line_is_an_argument_not_a_missing_semicolon() -> None:
    config = read_config("-", text='server {\n    return 200\n        "listen";\n    server_name a\n    b;\n}\n')
    server = config.directives[0].block[0]  # type: ignore[index]
    assert [d.args for d in server.block or ()] == [("200", "listen"), ("a", "b")]


def test_a_huge_config_within_the_limit_reads(write_tree: WriteTree) -> None:
    servers = "".join(f"server {{ listen {8000 + i}; }}\n" for i in range(2000))
    root = write_tree({"nginx.conf": _full(servers)})
    assert len(effective_settings(read_config(root / "nginx.conf")).servers) == 2000


def test_importing_the_package_does_not_import_crossplane() -> None:
    # Start-up time: crossplane (and its lua extension) loads only when a configuration is read.
    probe = "import sys, mtls_doctor.nginx; print('crossplane' in sys.modules)"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "False"
