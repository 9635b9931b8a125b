"""The same attempt as ``openssl s_client`` and ``curl`` commands, for runbooks: runnable as written (shell-quoted;
one certificate with ``-cert``, the rest of the chain with ``-cert_chain``; curl takes the whole --cert file)."""

from __future__ import annotations

from mtls_doctor.inputs import Inputs
from mtls_doctor.probe.handshake import Request
from mtls_doctor.untrusted import shell_word


def _hostport(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


BUNDLE = "client-bundle.pem"
"""Where the commands put the client's certificate file and --chain together, in the current directory (curl sends
only its --cert file)."""


def _bundle(inputs: Inputs) -> str:
    """The command that writes the client's whole chain to BUNDLE, when there is a separate --chain."""
    if not (inputs.cert and inputs.chain):
        return ""
    return f"cat {shell_word(inputs.cert)} {shell_word(inputs.chain)} > {BUNDLE} && "


def s_client(req: Request, inputs: Inputs) -> str:
    """``openssl s_client``: the handshake, the CA names (``Acceptable client certificate CA names``), one request.
    ``-cert`` reads only the first certificate of its file: the rest of the chain goes in ``-cert_chain``."""
    argv = ["openssl", "s_client", "-connect", _hostport(req.host, req.port)]
    prefix = ""
    if req.sni:
        argv += ["-servername", req.sni]
    if inputs.cert:
        argv += ["-cert", inputs.cert, "-key", inputs.key or inputs.cert]
        if inputs.chain:
            prefix = _bundle(inputs)
            argv += ["-cert_chain", BUNDLE]
        elif len(req.chain) > 1:
            argv += ["-cert_chain", inputs.cert]  # the leaf again among them is harmless: it is no issuer
    if req.server_ca:
        argv += ["-CAfile", req.server_ca]
    if req.max_tls == "TLSv1.2":
        argv.append("-tls1_2")
    if req.min_tls == "TLSv1.3":
        argv.append("-tls1_3")
    argv += ["-ign_eof"]
    request = f"GET {req.path} HTTP/1.1\\r\\nHost: {req.host_header}\\r\\nConnection: close\\r\\n\\r\\n"
    return f"{prefix}printf {shell_word(request)} | {' '.join(shell_word(a) for a in argv)}"


def curl(req: Request, inputs: Inputs) -> str:
    """``curl``: the same request, showing the status line and the headers (the Date header)."""
    host = req.sni or req.host
    url_host = f"[{host}]" if ":" in host else host
    argv = ["curl", "-sS", "-D", "-", "-o", "/dev/null"]
    if host != req.host:
        argv += ["--resolve", f"{host}:{req.port}:{req.host}"]
    prefix = ""
    if inputs.cert:
        cert = BUNDLE if inputs.chain else inputs.cert
        prefix = _bundle(inputs)
        argv += ["--cert", cert, "--key", inputs.key or inputs.cert]
    argv += ["--cacert", req.server_ca] if req.server_ca else []
    if req.max_tls == "TLSv1.2":
        argv += ["--tls-max", "1.2"]
    if req.min_tls == "TLSv1.3":
        argv.append("--tlsv1.3")
    if req.host_header != host:
        argv += ["-H", f"Host: {req.host_header}"]
    argv.append(f"https://{url_host}:{req.port}{req.path}")
    return prefix + " ".join(shell_word(a) for a in argv)
