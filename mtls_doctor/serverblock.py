"""The pipeline of `check --nginx`: read the configuration, lint it, pick the server block to diagnose against,
and diagnose the client against that block's settings.

The block reaches the diagnosis as the one server model's source (facts/block.py): no flattening into flag values,
each file read once (the lint's Loader is the diagnosis's), every setting's origin its directive's file:line. The
twin is then configured exactly as that block configures OpenSSL: files resolved as nginx resolves them,
ssl_verify_client, ssl_verify_depth, ssl_crl, the security level of ssl_ciphers, the highest protocol of
ssl_protocols, the OpenSSL generation of `nginx -V`. When nginx would not even start with the configuration, the
verdict is that, in nginx's own words.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mtls_doctor.diagnosis import Report, diagnose
from mtls_doctor.engine.catalogue import Catalogue
from mtls_doctor.errors import InputError
from mtls_doctor.facts.block import FileAccess
from mtls_doctor.facts.loading import Loader
from mtls_doctor.inputs import Inputs
from mtls_doctor.linting import LintReport, ServerLint, lint_model
from mtls_doctor.nginx import effective_settings, read_config
from mtls_doctor.nginx.build import DEFAULT_BUILD
from mtls_doctor.openssl.generations import OpenSSLGeneration, generation_of
from mtls_doctor.pki.passwords import Passwords
from mtls_doctor.record import replace

if TYPE_CHECKING:
    from mtls_doctor.probe.handshake import Observation

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


def check_nginx(
    inputs: Inputs,
    source: str,
    *,
    now: datetime,
    passwords: Passwords,
    catalogue: Catalogue,
    text: bytes | None = None,
    prefix: Path | None = None,
    nginx: str | None = None,
    read_files: bool = False,
    allow_outside: bool = False,
    server_name: str | None = None,
    port: int | None = None,
    ask: Callable[[list[ServerLint]], ServerLint] | None = None,
    observation: Observation | None = None,
) -> Report:
    """Diagnose ``inputs``' client against the server block of configuration ``source`` that nginx would serve it
    from. ConfigError/InputError (exit 2) for a configuration or block that cannot be used.

    ``nginx``: a version or pasted ``nginx -V`` output (None: Debian 12's 1.22.1 is assumed).
    """
    config = read_config(source, text=text, prefix=prefix, allow_outside_prefix=allow_outside)
    model = effective_settings(config, nginx=nginx if nginx is not None else DEFAULT_BUILD)
    # nginx reads absolute paths anywhere: a config read from disk is judged with its files wherever they are
    files = FileAccess(
        read_files=config.on_disk or read_files,
        allow_outside=allow_outside or not config.pasted,
        loader=Loader(passwords=passwords),
    )
    at = inputs.at or now
    linted = lint_model(model, files, catalogue, version_assumed=nginx is None, now=at)
    block = choose_block(linted, name=server_name, port=port, ask=ask)
    settings = replace(block.settings, startup_error=startup_error(linted, block))
    for field, why in settings.reasons.items():
        if field not in ("verify_result_checked", "certificate_forwarded"):
            raise InputError(str(settings.origins.get(field, block.server.origin)), why)
    generation = generation_of(model.nginx.ssl_library)
    return diagnose(
        replace(inputs, server=settings, nginx_version=model.nginx.version),
        now=now,
        passwords=passwords,
        catalogue=catalogue,
        block=block,
        assumptions=assumptions(block, generation, model.nginx.ssl_library),
        loader=files.loader,
        observation=observation,
    )


def startup_error(report: LintReport, block: ServerLint) -> str | None:
    """The one emerg line nginx stops at, if any block of the configuration makes it refuse to start.

    nginx parses the whole configuration before it merges any server block (ngx_conf_parse, then
    ngx_http_merge_servers), and stops at the first error: an unknown directive anywhere comes first, then the
    first block in configuration order whose CA or CRL settings fail.
    """
    failing = [s for s in report.servers if s.config_error is not None]
    parse = [s for s in failing if s.facts.uses_ssl_directive and s.facts.nginx.ssl_directive_removed]
    if not failing:
        return None
    first = (parse or failing)[0]
    message = first.config_error
    # A parse error names its file:line already; a merge error is told apart by its block.
    return message if first is block or parse else f"{message} (in {first.server})"


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
