"""What differs between the OpenSSL the twin runs (the one bundled with cryptography, 4.x) and the one nginx links.

OpenSSL 3.x differences were OBSERVED: the same scenario served by nginx 1.22.1 on OpenSSL 3.0.19 and run through
the twin (sample_pki/MANIFEST.toml; everything not listed here was identical). The 1.1.1 and 1.0.2 differences are
DOCUMENTED (OpenSSL's headers and manual pages), not observed here: a verdict relying on them says so.
"""

from __future__ import annotations

import enum
import re

from mtls_doctor.openssl.verify_codes import verify_name, verify_text
from mtls_doctor.vocabulary import VerifyError

_SELF_SIGNED_LEAF = 18
_NO_CRL = 3
_INVALID_CA_3X = 79
_INVALID_CA_1X = 24


class OpenSSLGeneration(enum.Enum):
    """The OpenSSL line nginx is linked with."""

    V1_0 = "1.0"
    """OpenSSL 1.0.2 (nginx built before ~2018): verify depth counts the leaf (documented)."""
    V1_1 = "1.1"
    """OpenSSL 1.1.x: numbers "invalid CA certificate" 24, older texts (documented)."""
    V3 = "3"
    """OpenSSL 3.x (Debian 12, Ubuntu 22.04/24.04, RHEL 9): observed."""
    V4 = "4"
    """OpenSSL 4.x: the twin's own generation, nothing to adjust."""

    @property
    def observed(self) -> bool:
        """The twin's results for this generation were compared with a real nginx."""
        return self in (OpenSSLGeneration.V3, OpenSSLGeneration.V4)


# OpenSSL 1.1.1's texts where 3.0 changed them (crypto/x509/x509_txt.c of each release).
_TEXTS_1X = {
    18: "self signed certificate",
    19: "self signed certificate in certificate chain",
    24: "invalid CA certificate",
    26: "unsupported certificate purpose",
}


def generation_of(ssl_library: str | None) -> OpenSSLGeneration | None:
    """The generation named in nginx -V's "running with OpenSSL x.y.z" (or "built with"), if any."""
    if not ssl_library:
        return None
    match = re.search(r"OpenSSL (\d+)\.(\d+)", ssl_library)
    if not match:
        return None
    major, minor = int(match.group(1)), int(match.group(2))
    if major >= 4:
        return OpenSSLGeneration.V4
    if major == 3:
        return OpenSSLGeneration.V3
    return OpenSSLGeneration.V1_1 if minor >= 1 else OpenSSLGeneration.V1_0


def twin_depth(depth: int, generation: OpenSSLGeneration) -> int:
    """The depth to give the twin so it admits what nginx's OpenSSL admits.

    OpenSSL 1.1.0+ counts neither the leaf nor the trust anchor: depth N admits N intermediates. OpenSSL 1.0.2
    counted every level from the leaf ("Setting the maximum depth to 2 allows the levels 0, 1, and 2",
    SSL_CTX_set_verify(3) of 1.0.2), so depth N admitted N-1 intermediates: the origin of "ssl_verify_depth 2 for an
    intermediate CA".
    """
    return max(0, depth - 1) if generation is OpenSSLGeneration.V1_0 else depth


def adjust_errors(
    errors: tuple[VerifyError, ...],
    *,
    generation: OpenSSLGeneration,
    crl_check: bool,
    leaf_subject: str | None,
    pinned_without_own_crl: bool = False,
) -> tuple[VerifyError, ...]:
    """The errors nginx's OpenSSL would raise, given those the twin's OpenSSL raised.

    Self-signed leaf with ssl_crl: OpenSSL 3.0 goes on to check_revocation for the lone certificate, finds no CRL
    issued by it and raises 3 after 18 (nginx logs 3); OpenSSL 4.0 stops at 18. Observed: scenario
    self-signed-client-with-crl. The same for a self-signed leaf the server trusts (pinned) and no CRL of its own
    (``pinned_without_own_crl``): OpenSSL 3.0 raises 3, last; OpenSSL 4.0 raises nothing. Observed: scenario
    self-signed-client-pinned-with-crl. OpenSSL 1.x numbers X509_V_ERR_INVALID_CA 24 (79 since 3.0) and words some
    errors differently (documented).
    """
    if generation is not OpenSSLGeneration.V4 and crl_check and leaf_subject is not None:
        last = errors[-1] if errors else None
        untrusted = last is not None and last.code == _SELF_SIGNED_LEAF and last.depth == 0
        if untrusted or (pinned_without_own_crl and not any(e.code == _NO_CRL and e.depth == 0 for e in errors)):
            extra = VerifyError(
                code=_NO_CRL, name=verify_name(_NO_CRL), text=verify_text(_NO_CRL), depth=0, subject=leaf_subject
            )
            errors = (*errors, extra)
    if generation in (OpenSSLGeneration.V1_0, OpenSSLGeneration.V1_1):
        errors = tuple(_as_1x(e) for e in errors)
    return errors


def _as_1x(error: VerifyError) -> VerifyError:
    code = _INVALID_CA_1X if error.code == _INVALID_CA_3X else error.code
    if code == error.code and code not in _TEXTS_1X:
        return error
    name = "X509_V_ERR_INVALID_CA" if code == _INVALID_CA_1X else error.name
    return VerifyError(
        code=code, name=name, text=_TEXTS_1X.get(code, error.text), depth=error.depth, subject=error.subject
    )
