"""`check --nginx`: pick the server block to diagnose against, and turn its settings into the diagnosis's Inputs.

The twin is then configured exactly as that block configures OpenSSL: files resolved as nginx resolves them,
ssl_verify_client, ssl_verify_depth, ssl_crl, the security level of ssl_ciphers, the highest protocol of
ssl_protocols, the OpenSSL generation of `nginx -V`. When nginx would not even start with the block, the verdict
is that, in nginx's own words.
"""

from __future__ import annotations

from collections.abc import Callable

from mtls_doctor.errors import InputError
from mtls_doctor.facts.lint import CrlSet, TrustFile
from mtls_doctor.facts.model import ErrorPageRule
from mtls_doctor.facts.unknown import Unknown
from mtls_doctor.inputs import Inputs
from mtls_doctor.linting import LintReport, ServerLint
from mtls_doctor.nginx import Context, Setting, TlsProtocol
from mtls_doctor.nginx.paths import ConfigPath
from mtls_doctor.openssl.generations import OpenSSLGeneration
from mtls_doctor.record import replace

OBSERVED_NGINX = (1, 22)
"""The nginx line the observations in sample_pki/MANIFEST.toml were made with."""


class BlockChoiceError(InputError):
    """No single server block could be chosen; the message lists the candidates."""


def choose_block(
    report: LintReport,
    *,
    name: str | None,
    port: int | None,
    ask: Callable[[list[ServerLint]], ServerLint] | None,
) -> ServerLint:
    """The server block to diagnose against.

    ``--server NAME`` picks the block nginx would route NAME to (on ``--listen PORT`` when given); ``--listen`` alone
    picks among the blocks on that port. Otherwise the client-verifying blocks are the candidates: one is taken;
    several are offered to ``ask`` (a terminal prompt) or listed in the error.
    """
    servers = list(report.servers)
    model = report.model
    if name is not None:
        ports = [port] if port is not None else sorted({p for s in servers for p in s.server.ports})
        routed = list(dict.fromkeys(b for b in (model.route(name, p) for p in ports) if b is not None))
        # Without --listen, every port routes the name somewhere (an unknown name goes to the port's default
        # server); the blocks that list the name are the ones meant, the default servers only when none does.
        named = [b for b in routed if any(n.matches(name) for n in b.server_names)]
        blocks = named or routed
        matches = [s for s in servers if s.server in blocks]
        if len(matches) == 1:
            return matches[0]
        candidates = matches or servers
        problem = (
            f"server name {name!r} matches no server block"
            if not matches
            else f"{name!r} is served by several server blocks (one per port)"
            if named
            else f"no server block is named {name!r}, and each port would serve it from its default server"
        )
    else:
        pool = [s for s in servers if port is None or port in s.server.ports]
        verifying = [s for s in pool if s.facts.verifies]
        candidates = verifying or pool
        if len(candidates) == 1:
            return candidates[0]
        problem = (
            f"no server block listens on port {port}"
            if not candidates
            else "several server blocks verify client certificates"
            if verifying
            else "no server block verifies client certificates"
        )
    if ask is not None and candidates:
        return ask(candidates)
    # The list the error promises is never empty: with nobody on the port, the blocks that do exist (those that
    # verify clients, or all when none does), with their ports.
    listed = candidates or [s for s in servers if s.facts.verifies] or servers
    listing = "; ".join(f"{s.server} (ports {', '.join(map(str, sorted(s.server.ports))) or '-'})" for s in listed)
    raise BlockChoiceError(report.config.source, f"{problem}: pick one with --server NAME or --listen PORT ({listing})")


def block_inputs(
    report: LintReport,
    block: ServerLint,
    base: Inputs,
    *,
    generation: OpenSSLGeneration | None,
    version: tuple[int, int, int],
) -> Inputs:
    """``base`` (the client's files, the clock) with the server side taken from ``block`` of ``report``.

    A CA or CRL file nginx could not load is left out of the inputs: the verdict is then nginx's refusal to start,
    carried in ``startup_error``, which may come from another block of the configuration (nginx starts all or none).
    """
    tls = block.server.tls
    facts = block.facts
    return replace(
        base,
        ca=_usable(tls.ssl_client_certificate, facts.client_ca, block.reasons.get("client_ca")),
        trusted=_usable(tls.ssl_trusted_certificate, facts.trusted_ca, block.reasons.get("trusted_ca")),
        crls=tuple(p for p in (_usable(tls.ssl_crl, facts.crl, block.reasons.get("crl")),) if p),
        verify_client=tls.ssl_verify_client.value,
        depth=tls.ssl_verify_depth.value,
        seclevel=tls.security_level.level,
        max_tls="TLSv1.3" if TlsProtocol.TLSV1_3 in tls.ssl_protocols.value else "TLSv1.2",
        openssl=generation or OpenSSLGeneration.V3,
        startup_error=startup_error(report, block),
        nginx_version=version,
        ocsp=tls.ssl_ocsp.value,
        ocsp_responder=tls.ssl_ocsp_responder.value,
        stream=block.server.context is Context.STREAM,
        error_pages=tuple(
            ErrorPageRule(codes=p.codes, response=p.response, uri=p.uri, origin=p.directive.origin)
            for p in block.server.error_pages
        ),
    )


def startup_error(report: LintReport, block: ServerLint) -> str | None:
    """The one emerg line nginx stops at, if any block of the configuration makes it refuse to start.

    nginx parses the whole configuration before it merges any server block (ngx_conf_parse, then
    ngx_http_merge_servers), and stops at the first error: an unknown directive anywhere comes first, then the
    first block in configuration order whose CA or CRL settings fail.
    """
    failing = [s for s in report.servers if s.facts.startup_error is not None]
    parse = [s for s in failing if s.facts.uses_ssl_directive and s.facts.nginx.ssl_directive_removed]
    if not failing:
        return None
    first = (parse or failing)[0]
    message = first.facts.startup_error
    # A parse error names its file:line already; a merge error is told apart by its block.
    return message if first is block or parse else f"{message} (in {first.server})"


def _usable(
    setting: Setting[ConfigPath | None], facts: TrustFile | CrlSet | Unknown | None, why: str | None
) -> str | None:
    """The file to load for the twin; None when unset, or when nginx itself could not load it (startup error)."""
    path = setting.value
    if path is None:
        return None
    if isinstance(facts, Unknown):
        raise InputError(str(setting.origin), why or f"{path.raw}: cannot be read")
    if isinstance(facts, TrustFile | CrlSet) and facts.problem is not None:
        return None
    if path.path is None:
        raise InputError(str(setting.origin), f"{path.raw}: a relative path with no known prefix (give --prefix)")
    return str(path.path)


def assumptions(block: ServerLint, generation: OpenSSLGeneration | None, ssl_library: str | None) -> tuple[str, ...]:
    """What the verdict assumes beyond what was observed (nginx 1.22 with OpenSSL 3.0)."""
    notes = []
    nginx = block.facts.nginx
    if nginx.assumed:
        notes.append("nginx 1.22.1 (Debian 12), as no --nginx-version or --nginx-v was given")
    elif tuple(int(x) for x in nginx.version.split(".")[:2]) != OBSERVED_NGINX:
        notes.append(f"nginx {nginx.version}: behaviour taken from nginx's documentation (observed: 1.22.1)")
    if generation is not None and not generation.observed:
        notes.append(f"OpenSSL {generation.value}: behaviour taken from OpenSSL's documentation (observed: 3.0)")
    elif generation is None and ssl_library:
        notes.append(f"{ssl_library}: not OpenSSL; OpenSSL 3.x behaviour assumed (not observed)")
    elif generation is None:
        notes.append("the TLS library nginx runs with is unknown: OpenSSL 3.x assumed (give --nginx-v)")
    return tuple(notes)
