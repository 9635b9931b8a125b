"""An nginx server block as the server's settings: the same ServerSettings the flags give, each setting's origin the
directive's file:line (a default names the server block it applies to), files as nginx resolves them.

What nginx loads depends on the block (ngx_http_ssl_merge_srv_conf): ``ssl_client_certificate`` when it verifies
clients (or has an SSL context and a verify mode), ``ssl_trusted_certificate`` and ``ssl_crl`` for every SSL
context. A file that cannot be read here (a pasted configuration, a variable) is UNKNOWN, with the reason.
"""

from __future__ import annotations

import os
from typing import Any

from mtls_doctor.facts.loading import Loader
from mtls_doctor.inputs import FileRef, ServerSettings
from mtls_doctor.nginx import ConfigPath, Context, LocationModifier, PathKind, ServerBlock, Setting, TlsProtocol
from mtls_doctor.nginx.tree import Directive
from mtls_doctor.openssl.generations import OpenSSLGeneration
from mtls_doctor.vocabulary import UNKNOWN, ErrorPageRule, Origin, ServerSource, Unknown, VerifyClient


class FileAccess:
    """Whether the files a configuration names can be read here, and the one Loader that reads them.

    ``read_files``: the configuration's files are on this machine (a config read from disk, or ``--read-files``);
    ``allow_outside``: read files outside the configuration's root too (nginx reads absolute paths anywhere: a
    config read from disk is judged with its files wherever they are; the root holds for pasted text).
    ``missing_unknown``: a file that does not exist here is UNKNOWN (listed in ``missing``, judged once for the whole
    configuration) instead of being left to the loader, whose refusal is one finding per file.
    """

    def __init__(
        self, *, read_files: bool, allow_outside: bool, loader: Loader | None = None, missing_unknown: bool = False
    ) -> None:
        self.read_files = read_files
        self.allow_outside = allow_outside
        self.loader = loader or Loader()
        self.missing_unknown = missing_unknown
        self.missing: dict[str, tuple[ConfigPath, str]] = {}
        """Files that cannot be opened here, by path: the first directive naming each, and nginx's words."""
        self.not_read: dict[str, str] = {}
        """Why files were not read at all, by kind ("pasted", "outside"), with one path as the example."""
        self._opened: dict[str, str | None] = {}

    def why_not(self, path: ConfigPath) -> str | None:
        """Why ``path`` is not read here; None when it is."""
        if not self.read_files:
            self.not_read.setdefault("pasted", path.raw)
            return (
                f"{path.raw}: the configuration's files are not read (a pasted or nginx -T config; "
                "use --read-files if they are on this machine)"
            )
        if path.kind is not PathKind.FILE or path.path is None:
            return f"{path.raw}: a {path.kind.value} value, not a file that can be read here"
        if path.inside_root is False and not self.allow_outside:
            self.not_read.setdefault("outside", str(path.path))
            return f"{path.path}: outside the configuration's root (use --allow-outside to read it)"
        if self.missing_unknown:
            problem = self.cannot_open(path)
            if problem is not None:
                return f"{path.path}: {problem}, so what it holds is not known here"
        return None

    def cannot_open(self, path: ConfigPath) -> str | None:
        """nginx's words when ``path`` cannot be opened here (``open() ... failed (2: No such file or directory)``,
        recorded in ``missing``); None when it can (or is not a file). One system call per distinct path."""
        if path.kind is not PathKind.FILE or path.path is None:
            return None
        name = str(path.path)
        if name not in self._opened:
            problem = None
            try:
                os.stat(name)
                if not os.access(name, os.R_OK):
                    problem = f'open() "{name}" failed (13: {os.strerror(13)})'
            except OSError as e:
                problem = f'open() "{name}" failed ({e.errno}: {e.strerror})'
            self._opened[name] = problem
            if problem is not None:
                self.missing[name] = (path, problem)
        return self._opened[name]


def block_settings(
    server: ServerBlock,
    files: FileAccess,
    *,
    nginx_version: tuple[int, int, int],
    generation: OpenSSLGeneration | None,
    verify_result_checked: bool | Unknown,
    certificate_forwarded: Directive | Unknown | None = None,
    startup_error: str | None = None,
) -> ServerSettings:
    """The settings nginx applies to client certificates in ``server``."""
    tls = server.tls
    mode = tls.ssl_verify_client.value
    context = bool(tls.ssl_certificate.value) or tls.ssl_reject_handshake.value
    verifies = server.verifies_clients
    loads_ca = verifies or (context and mode is not VerifyClient.OFF)
    loads_others = verifies or context
    reasons: dict[str, str] = {}

    def ref(setting: Setting[ConfigPath | None], directive: str, field: str, loads: bool) -> FileRef | Unknown | None:
        path = setting.value
        if path is None or not loads:
            return None
        why = files.why_not(path)
        if why is not None or path.path is None:
            reasons[field] = why or f"{path.raw}: cannot be read here"
            return UNKNOWN
        return FileRef(path=str(path.path), origin=_origin(setting, server, directive))

    crl = ref(tls.ssl_crl, "ssl_crl", "crl_files", loads_others)
    protocols = tls.ssl_protocols.value
    named: dict[str, tuple[Setting[Any], str]] = {
        "verify_client": (tls.ssl_verify_client, "ssl_verify_client"),
        "verify_depth": (tls.ssl_verify_depth, "ssl_verify_depth"),
        "ocsp": (tls.ssl_ocsp, "ssl_ocsp"),
        "ocsp_responder": (tls.ssl_ocsp_responder, "ssl_ocsp_responder"),
        "max_tls": (tls.ssl_protocols, "ssl_protocols"),
        "ca_file": (tls.ssl_client_certificate, "ssl_client_certificate"),
        "trusted_file": (tls.ssl_trusted_certificate, "ssl_trusted_certificate"),
        "crl_files": (tls.ssl_crl, "ssl_crl"),
    }
    origins = {field: _origin(setting, server, directive) for field, (setting, directive) in named.items()}
    origins["seclevel"] = tls.security_level.origin or _default(server, "@SECLEVEL in ssl_ciphers")
    if isinstance(certificate_forwarded, Directive):
        origins["certificate_forwarded"] = certificate_forwarded.origin
    return ServerSettings(
        source=ServerSource.NGINX,
        verify_client=mode,
        verify_depth=tls.ssl_verify_depth.value,
        seclevel=tls.security_level.level,
        max_tls="TLSv1.3" if TlsProtocol.TLSV1_3 in protocols else "TLSv1.2",
        openssl=generation or OpenSSLGeneration.V3,
        nginx_version=nginx_version,
        ca_file=ref(tls.ssl_client_certificate, "ssl_client_certificate", "ca_file", loads_ca),
        trusted_file=ref(tls.ssl_trusted_certificate, "ssl_trusted_certificate", "trusted_file", loads_others),
        crl_files=UNKNOWN if isinstance(crl, Unknown) else tuple(r for r in (crl,) if r is not None),
        ocsp=tls.ssl_ocsp.value,
        ocsp_responder=tls.ssl_ocsp_responder.value,
        stream=server.context is Context.STREAM,
        error_pages=tuple(
            ErrorPageRule(
                codes=p.codes,
                response=p.response,
                uri=p.uri,
                origin=p.directive.origin,
                named_return=_returns(server, p.uri),
            )
            for p in server.error_pages
        ),
        ssl_context=loads_others,
        serves_tls=server.is_tls,
        startup_error=startup_error,
        answered=False,
        verify_result_checked=verify_result_checked,
        certificate_forwarded=certificate_forwarded
        if isinstance(certificate_forwarded, Unknown)
        else certificate_forwarded is not None,
        origins=origins,
        reasons=reasons,
    )


def _returns(server: ServerBlock, uri: str) -> int | None:
    """The status of the ``return CODE ...`` directly in the block of the named location ``uri`` (``@name``); None
    when ``uri`` names no such location or its block answers otherwise (a proxy_pass, a file, a URL)."""
    if not uri.startswith("@"):
        return None
    for location in server.locations:
        if location.modifier is LocationModifier.NAMED and location.uri.lstrip("@") == uri[1:]:
            for d in location.directive.block or ():
                if d.name == "return" and d.args and d.args[0].isdigit():
                    return int(d.args[0])
            return None
    return None


def _origin(setting: Setting[Any], server: ServerBlock, directive: str) -> Origin:
    """The directive's file:line, or for nginx's default the server block it applies to."""
    return setting.origin or _default(server, directive)


def _default(server: ServerBlock, directive: str) -> Origin:
    block = server.origin
    return Origin(source=block.source, line=block.line, note=f"nginx's default: no {directive} in this server block")
