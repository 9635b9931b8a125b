"""What a TLS alert from a server means, by NUMBER (its text changed across OpenSSL generations: ``sslv3 alert``,
``ssl/tls alert``, ``tls alert``), and its likely causes, ranked, from the servers that send it: nginx finishes
the handshake and answers HTTP 400 instead, Apache httpd, HAProxy, Envoy and OpenSSL's own servers reject with an
alert (knowledge/other-servers.md, probe-and-wizard.md §B3).

The Apache httpd and HAProxy causes are what a real Apache 2.4.71 (mod_ssl, ``SSLVerifyClient require``) and HAProxy
2.6.12 (``verify required``) on OpenSSL 3.0 sent, over TLS 1.2 and 1.3 alike (tests/test_probe_other_servers.py,
tests/data/other_servers.toml): both send the alert OpenSSL maps the verify error to, and Apache two of its own
(46 for an expired CRL, 80 for its depth limit). Envoy and Go servers are read from their sources, not run here.
"""

from __future__ import annotations

from typing import Final

from mtls_doctor.openssl.alerts import ALERTS, VERIFY_ERROR_ALERT

CAUSES: Final[dict[int, tuple[str, ...]]] = {
    40: (
        "TLS 1.2: the server requires a client certificate and none was sent (TLS 1.2 has no certificate_required; "
        "Apache httpd, HAProxy, s_server send 40)",
        "no cipher suite, signature algorithm or group in common",
    ),
    42: (
        "Apache httpd, HAProxy (OpenSSL): the client certificate or a CA of its chain is not yet valid (9) at the "
        "server's clock (or that clock is behind), a CRL is not yet valid (11), or a signature of the chain does "
        "not verify",
        "Go servers: any failure but an unknown CA and expiry (a purpose without clientAuth, key usage)",
        "older Go servers: no certificate sent over TLS 1.2",
    ),
    43: ("the client certificate's purpose does not allow client authentication (26: EKU or keyUsage)",),
    44: ("the client certificate or a CA of its chain is revoked (23: a CRL of the server lists it)",),
    45: (
        "the client certificate or a CA of its chain has expired (10) at the server's clock",
        "HAProxy: the server's CRL has expired (12; Apache httpd sends 46 for it)",
        "the server's clock is ahead; Go servers send 45 also for a certificate not yet valid",
    ),
    46: (
        "Apache httpd: the server's CRL has expired (12: Apache remaps 45 to 46 on purpose)",
        "Envoy: the client certificate's SAN does not match the listener's match_typed_subject_alt_names",
        "OpenSSL servers: a verify error without a more specific alert",
    ),
    48: (
        "the issuing CA of the client certificate is not in the server's trust store (20/21)",
        "the client does not send the intermediate CA its certificate needs",
        "Apache httpd, HAProxy: no CRL for a CA of the chain while CRL checking is on (3)",
    ),
    49: ("the server's access control refused the client after verifying it",),
    51: ("a signature of the client's chain does not verify, or the CertificateVerify does not (wrong key)",),
    70: ("no TLS version in common (the server speaks only versions this client refuses)",),
    71: ("the server's security level refuses the client's key or the negotiated parameters",),
    80: (
        "Apache httpd: SSLVerifyDepth is below the chain length (Apache counts the root: intermediates + 1; the "
        "default 1 refuses leaf, intermediate, root; its log: AH02040 Certificate Chain too long)",
        "an error inside the server (its log says which)",
    ),
    112: ("the server knows no virtual host for the SNI name sent (--sni)",),
    116: (
        "TLS 1.3: the server requires a client certificate and the client's Certificate was empty: none configured, "
        "its key type is not among the server's signature algorithms, or the client withheld it (Go, Java, "
        "browsers send nothing when no advertised CA name issued its chain)",
    ),
}

NOT_NGINX: Final = frozenset({42, 43, 44, 45, 46, 48, 51, 116})
"""Alerts that are a verdict on the client's certificate, which nginx never sends: its verify callback always
returns 1, it finishes the handshake and answers 400 (ngx_ssl_verify_callback; knowledge/nginx-behaviour.md)."""

NOT_NGINX_NOTE: Final = (
    "nginx never sends this alert for a certificate it refuses (it answers HTTP 400): the server is another one "
    "(Apache httpd, HAProxy, Envoy, a Go server) or a proxy in front of nginx; with no HTTP answer there is no "
    "Server header to name it, so read that server's own log"
)


def sent_for(alert: int, verify_errors: frozenset[int]) -> bool:
    """Whether an OpenSSL server that aborts at a verify error (Apache httpd, HAProxy) sends ``alert`` for one of
    ``verify_errors``: the errors nginx's twin met on the same chain (it goes on past each, the alerting server stops
    at the first), so the server rejected the same certificate for the same reason (observed with Apache 2.4 and
    HAProxy 2.6: tests/data/other_servers.toml). Unlisted errors give 46, as OpenSSL sends it."""
    return any(VERIFY_ERROR_ALERT.get(code, 46) == alert for code in verify_errors)


def alert_name(number: int) -> str:
    """The RFC name of alert ``number``."""
    return ALERTS.get(number, "unassigned")


def meaning(number: int) -> str:
    """One line: the alert, then its likely causes, most likely first."""
    causes = CAUSES.get(number, ("the server's log says why; this alert is not a client-certificate verdict",))
    ranked = "; ".join(f"({i}) {cause}" for i, cause in enumerate(causes, 1))
    note = f". {NOT_NGINX_NOTE}" if number in NOT_NGINX else ""
    return f"TLS alert {number} {alert_name(number)}: likely causes, most likely first: {ranked}{note}"
